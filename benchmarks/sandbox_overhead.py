"""What the sandbox adds to a worker's start: ``python -I -S -c "import numpy"``, started
N times inside bubblewrap and N times directly, interleaved in the same run.

    python benchmarks/sandbox_overhead.py [--runs 20]

Prints the mean and median wall-clock start-to-exit time of each, and the difference
(target: at most 15 ms more in the sandbox).
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder import sandbox  # noqa: E402


def time_once(launch: sandbox.Launch) -> float:
    """Seconds from Popen to exit; fails loudly if the start did not work."""
    began = time.perf_counter()
    done = subprocess.run(launch.argv, env=launch.env, preexec_fn=launch.preexec,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0 or done.stdout != "2.0\n":
        raise SystemExit(f"the {'sandboxed' if launch.sandboxed else 'direct'} start failed "
                         f"(exit {done.returncode}): {done.stderr.strip()[-300:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="starts of each kind (default 20)")
    args = parser.parse_args()
    reason = sandbox.unavailable_reason()
    if reason:
        raise SystemExit(f"cannot benchmark the sandbox here: {reason}")
    launches = {"sandboxed": sandbox.probe_launch(sandbox=True),
                "direct": sandbox.probe_launch(sandbox=False)}
    for launch in launches.values():   # warm the page cache before timing
        time_once(launch)
    times = {name: [] for name in launches}
    for _ in range(args.runs):
        for name, launch in launches.items():
            times[name].append(time_once(launch) * 1000)
    print(f"python -I -S -c 'import numpy', {args.runs} starts each, interleaved (ms)")
    for name, ms in times.items():
        print(f"  {name:>9}: mean {statistics.mean(ms):6.1f}  median {statistics.median(ms):6.1f}"
              f"  min {min(ms):6.1f}  max {max(ms):6.1f}")
    extra_mean = statistics.mean(times["sandboxed"]) - statistics.mean(times["direct"])
    extra_median = statistics.median(times["sandboxed"]) - statistics.median(times["direct"])
    print(f"  sandbox overhead: mean {extra_mean:+.1f} ms, median {extra_median:+.1f} ms "
          f"(target <= 15 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
