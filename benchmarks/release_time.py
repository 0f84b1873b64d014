"""Wall and CPU time of ``python -m autograder release``, from a fresh Python each time.

    python benchmarks/release_time.py [--runs 5]

Writes each release into a temporary folder (``--out``), so the committed release/ is
untouched, and prints every run's wall-clock seconds (start to exit, Python's startup
included, as a user waits for it), the CPU seconds of the command and all its children,
the median and the best, and the load average before and after. The goal is at most 2 s
of wall time on a quiet machine. It asserts nothing: it is a measurement, not a test.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_average():
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def one_release(out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the children) of one release into ``out``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autograder", "release", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"the release failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"load average before: {load_average()}")
    walls, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="release-time-") as scratch:
        for run in range(args.runs):
            wall, cpu = one_release(Path(scratch) / f"release-{run}")
            walls.append(wall)
            cpus.append(cpu)
            print(f"run {run + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"median: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU; "
          f"best: {min(walls):.2f} s wall")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
