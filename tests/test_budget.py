"""A grading fits the platform's clock: hung layers cost seconds, and the budget holds.

The limits are scaled down (2 s a case, 0.5 s after a time-out, a 25 s budget) so that
the test runs in well under a minute; assignment.toml's own are 20 s, 2 s and 8 minutes.
"""
import dataclasses
import shutil
import time

from autograder import REPO, grade
from autograder.assignment import load

HANG = "        while True:\n            pass\n"
LOOPING = ("conv.py", "pooling.py", "batchnorm.py")   # Conv2d, MaxPool2d, both BatchNorms


def hanging_solution(folder):
    """The solution with an infinite loop at the top of three layers' forward."""
    shutil.copytree(REPO / "solution" / "numpynn", folder / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for file in LOOPING:
        path = folder / "numpynn" / file
        text = path.read_text()
        marker = "    def forward(self, x):\n"
        assert marker in text
        path.write_text(text.replace(marker, marker + HANG, 1))
    return folder


def test_three_hung_layers_are_graded_within_the_budget(tmp_path):
    full = load()
    limits = dataclasses.replace(full.limits, case_seconds=2, retry_seconds=0.5, budget_seconds=25)
    assignment = dataclasses.replace(full, limits=limits)
    started = time.monotonic()
    document = grade.grade(hanging_solution(tmp_path), assignment=assignment, seed=5)
    seconds = time.monotonic() - started
    assert seconds < limits.budget_seconds + 15, seconds      # killing the last worker, writing

    tests = document["tests"]
    assert len(tests) == len(grade.load_cases(assignment))
    assert all(t["output"] and "\n" not in t["output"] for t in tests)
    by_part = {}
    for test in tests:
        by_part.setdefault(test["name"].split(":")[0], []).append(test)
    assert all(t["status"] == "passed" for t in by_part["Linear"])     # before the hung ones
    conv = by_part["Conv2d"]
    assert conv[0]["output"] == "time limit (2 s) exceeded while running this case"
    assert all("shortened since an earlier case of this part timed out" in t["output"]
               for t in conv[1:]), conv
    assert all(t["score"] == 0 for t in conv)
    # The cases the budget left no time for say so, each in one line, and score 0.
    late = [t for t in tests if "time budget (25 s) ran out" in t["output"]]
    assert late and all(t["score"] == 0 for t in late)
    assert any(t["output"] == "not run: the grading's time budget (25 s) ran out before this case"
               for t in late)
