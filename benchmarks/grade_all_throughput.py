"""How much faster does grade-all go with more jobs? Times a class of identical submissions.

    python benchmarks/grade_all_throughput.py                  # 20 copies of the solution, jobs 1 and 2
    python benchmarks/grade_all_throughput.py --copies 6 --without-mnist
    python benchmarks/grade_all_throughput.py --jobs 1 2 4 --no-sandbox

Each copy of the solution is graded exactly as graders run it (MNIST included unless
--without-mnist), once per --jobs value, each run into a fresh output folder. It prints
the wall time of every run, its ratio to the first, the CPU time spent in this process
(assembling and judging, under one GIL), and the load average before and after,
because the numbers mean little on a busy machine. It asserts nothing: it is a
measurement, not a test.
"""
import argparse
import dataclasses
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from autograder import REPO, grade_all
from autograder.assignment import load


def make_class(root: Path, copies: int) -> Path:
    submissions = root / "submissions"
    for i in range(copies):
        shutil.copytree(REPO / "solution" / "numpynn", submissions / f"student{i:02d}" / "numpynn",
                        ignore=shutil.ignore_patterns("__pycache__"))
    return submissions


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--without-mnist", action="store_true",
                        help="leave the ~13 s MNIST training out of every grading")
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()

    assignment = load()
    if args.without_mnist:
        assignment = dataclasses.replace(
            assignment, parts=tuple(p for p in assignment.parts if p.id != "mnist"))
    print(f"{args.copies} copies of the solution, MNIST {'excluded' if args.without_mnist else 'included'}, "
          f"{'unsandboxed' if args.no_sandbox else 'sandboxed'}, {os.cpu_count()} CPUs")
    print(f"load average before: {load_average()}")
    timings = []
    with tempfile.TemporaryDirectory(prefix="grade-all-bench-") as tmp:
        submissions = make_class(Path(tmp), args.copies)
        for jobs in args.jobs:
            out = Path(tmp) / f"grades-jobs{jobs}"
            start = time.perf_counter()
            parent = cpu_seconds()
            summary = grade_all.grade_all(submissions, out, jobs=jobs, assignment=assignment,
                                          sandboxed=not args.no_sandbox)
            seconds = time.perf_counter() - start
            parent = cpu_seconds() - parent
            timings.append((jobs, seconds))
            # CPU in this process (assembling, judging, under one GIL): the part threads
            # cannot overlap. Workers' CPU is not counted: sandboxed ones are never our
            # direct children, so getrusage cannot see them.
            print(f"--jobs {jobs}: {seconds:7.1f} s ({seconds / args.copies:.2f} s per student); "
                  f"grader process CPU {parent:.1f} s; "
                  f"mean score {summary.mean:.2f}/{summary.total_points:g}; "
                  f"load average now: {load_average()}", flush=True)
    first_jobs, first = timings[0]
    for jobs, seconds in timings[1:]:
        print(f"--jobs {jobs} takes {seconds / first:.2f}x the time of --jobs {first_jobs}")


if __name__ == "__main__":
    main()
