"""How long does the similarity report take for a class? Times a synthetic class.

    python benchmarks/similarity_report.py                 # 45 students, 3 runs
    python benchmarks/similarity_report.py --students 60 --against-copies 20

The class is built from the three independent implementations this project holds (the
solution, tests/submissions/loops and tests/submissions/einsum), each student a copy of
one of them disguised with its own seed (tests/disguise.py: locals renamed, functions
reordered, re-laid out), every fifth one a zip. --against gets that many more disguised
packages, as a past term. It prints the time of each step (reading and taking the
release out, fingerprinting, comparing, writing the report) per run, and the number of
comparisons. It asserts nothing: it is a measurement, not a test.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder import REPO
from autograder.assignment import load
from autograder.similarity.command import similarity

sys.path.insert(0, str(REPO / "tests"))
from disguise import disguise  # noqa: E402

SOURCES = [REPO / "solution" / "numpynn", REPO / "tests" / "submissions" / "loops" / "numpynn",
           REPO / "tests" / "submissions" / "einsum" / "numpynn"]


def make(folder: Path, count: int, files, seed0: int, zipped_every=5):
    folder.mkdir(parents=True)
    for i in range(count):
        source = SOURCES[i % len(SOURCES)]
        package = folder / f"student{i:02d}" / "numpynn"
        package.mkdir(parents=True)
        for name in files:
            (package / name).write_text(disguise((source / name).read_text(), seed0 + i))
        if zipped_every and i % zipped_every == 0:
            with zipfile.ZipFile(folder / f"student{i:02d}.zip", "w") as archive:
                for path in package.iterdir():
                    archive.write(path, Path("numpynn") / path.name)
            shutil.rmtree(package.parent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=45)
    parser.add_argument("--against-copies", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    assignment = load()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        make(root / "class", args.students, assignment.student_files, 0)
        make(root / "past", args.against_copies, assignment.student_files, 1000, zipped_every=0)
        print(f"built {args.students} students and {args.against_copies} past packages in "
              f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}")
        pairs = args.students * (args.students - 1) // 2
        print(f"{pairs} class pairs + {args.students * args.against_copies} against pairs per run")
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            summary = similarity(root / "class", root / f"out{run}", assignment=assignment,
                                 against=[root / "past"])
            total = time.perf_counter() - started
            steps = "  ".join(f"{k} {v:5.2f} s" for k, v in summary.seconds.items())
            print(f"run {run}: total {total:5.2f} s   {steps}")


if __name__ == "__main__":
    main()
