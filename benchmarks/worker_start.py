"""What each way of keeping a worker apart costs at its start: a real grading worker
(``processes.Worker`` on the solution) from Popen to "ready" and back to stopped, in
bubblewrap and in the jail, each with and without its memory cgroup, interleaved in one
run. Also the jail's one-time tree, built once per grader process.

    python benchmarks/worker_start.py [--runs 10]      (the jail needs root)

Prints the median and min of each, in ms, and each median's ratio to bubblewrap's
without a cgroup.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograder import REPO, cgroup, jail, processes, sandbox  # noqa: E402
from autograder.assignment import load  # noqa: E402

LIMITS = load().limits
CREATE = cgroup.WorkerGroup.create


def start_and_stop(sandboxed: bool, with_cgroup: bool) -> float:
    cgroup.WorkerGroup.create = CREATE if with_cgroup else classmethod(lambda cls, mb: None)
    began = time.perf_counter()
    worker = processes.Worker(REPO / "solution", "numpynn", LIMITS, processes.Output(1 << 16),
                              sandboxed=sandboxed)
    try:
        worker.ready()
    finally:
        worker.finish(seconds=0)
    return (time.perf_counter() - began) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="starts of each kind (default 10)")
    args = parser.parse_args()
    kinds = []
    if processes.sandbox_available()[0]:
        kinds += [("bubblewrap", True, False), ("bubblewrap + cgroup", True, True)]
    if sandbox.jail_problem() is None:
        began = time.perf_counter()
        jail.tree(sandbox._runtime())
        print(f"the jail's tree, built once per grader process: "
              f"{(time.perf_counter() - began) * 1000:.0f} ms")
        kinds += [("jail", False, False), ("jail + cgroup", False, True)]
    if not cgroup.available():
        kinds = [k for k in kinds if not k[2]]
        print("no memory cgroup can be made here: those rows are left out")
    if not kinds:
        raise SystemExit("neither bubblewrap nor the jail works here")
    for _, sandboxed, with_cgroup in kinds:       # warm the page cache before timing
        start_and_stop(sandboxed, with_cgroup)
    times = {name: [] for name, _, _ in kinds}
    for _ in range(args.runs):
        for name, sandboxed, with_cgroup in kinds:
            times[name].append(start_and_stop(sandboxed, with_cgroup))
    base = statistics.median(times[kinds[0][0]])
    print(f"a worker started, ready (numpy and the solution imported) and stopped, "
          f"{args.runs} times each, interleaved (ms)")
    for name, ms in times.items():
        print(f"  {name:>20}: median {statistics.median(ms):6.1f}  min {min(ms):6.1f}  "
              f"{statistics.median(ms) / base:5.2f}x {kinds[0][0]}'s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
