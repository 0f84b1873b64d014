"""A submission with infinite loops in three layers, graded with assignment.toml's limits.

    python benchmarks/hung_grading.py

The solution with `while True: pass` at the top of Conv2d's, MaxPool2d's and both
BatchNorms' forward. Prints the wall time against the grading budget, how many cases
timed out at their full limit, at the shortened one, and were not reached, and the
score: the other parts must keep their points.
"""
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from autograder import grade                      # noqa: E402
from autograder.assignment import load            # noqa: E402
from test_budget import hanging_solution          # noqa: E402


def kind(output):
    if "shortened" in output:
        return "timed out at the shortened limit"
    if output.startswith("time limit"):
        return "timed out at the full limit"
    if "budget" in output:
        return "cut by the budget"
    return "passed" if output == "passed" or output.startswith("test accuracy") else output[:60]


def main():
    assignment = load()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        document = grade.grade(hanging_solution(Path(tmp)), assignment=assignment)
        seconds = time.monotonic() - started
    print(f"graded in {seconds:.0f} s; budget {assignment.limits.budget_seconds:.0f} s; "
          f"score {document['score']:.2f}/{assignment.total_points:g}")
    for what, count in Counter(kind(t["output"]) for t in document["tests"]).most_common():
        print(f"  {count:4d}  {what}")


if __name__ == "__main__":
    main()
