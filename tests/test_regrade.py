"""Versioned grades: a hidden case edited between two runs regrades the class, under each
student's recorded seed, and changes.csv lists exactly the parts whose scores moved.

The runs use a copy of the grader (so that editing its cases changes nothing here) and
the real command, as an instructor would run it mid-term.
"""
import csv
import json
import shutil
import subprocess
import sys

import pytest

from autograder import REPO
from test_grade_all import JOBS

PARTS = '''
[[part]]
id = "relu"
name = "ReLU"
points = 2

[[part]]
id = "leakyrelu"
name = "LeakyReLU"
points = 2
'''
ONE_CASE = '''[defaults]
program = "layer"
module = "activations"
cls = "LeakyReLU"

[[case]]
name = "default slope 0.01"
x = [4, 5]
'''


@pytest.fixture
def term(tmp_path):
    """A copy of the grader whose LeakyReLU part has one case, and a class of three."""
    checkout = tmp_path / "checkout"
    for folder in ("autograder", "solution", "release"):
        shutil.copytree(REPO / folder, checkout / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "assignment").mkdir()
    toml = (REPO / "assignment" / "assignment.toml").read_text()
    (checkout / "assignment" / "assignment.toml").write_text(toml[:toml.index("[[part]]")] + PARTS)
    (checkout / "autograder" / "cases" / "leakyrelu.toml").write_text(ONE_CASE)
    submissions = tmp_path / "submissions"
    for student, source in (("ada", "solution"), ("bo", "solution"), ("cy", "release")):
        shutil.copytree(REPO / source / "numpynn", submissions / student / "numpynn",
                        ignore=shutil.ignore_patterns("__pycache__"))
    # bo's LeakyReLU ignores its slope: right for the default 0.01 only.
    activations = submissions / "bo" / "numpynn" / "activations.py"
    activations.write_text(activations.read_text().replace(
        "out = np.where(x > 0, x, x * self.negative_slope)", "out = np.where(x > 0, x, x * 0.01)"))
    return checkout, submissions, tmp_path / "grades"


def grade_all(checkout, submissions, out):
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(submissions),
                           "--out", str(out), "--jobs", str(JOBS)], cwd=checkout,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def extra(out, student):
    return json.loads((out / student / "results.json").read_text())["extra_data"]


def test_a_case_edited_mid_term_regrades_exactly_who_it_changes(term):
    checkout, submissions, out = term
    grade_all(checkout, submissions, out)
    first = {s: extra(out, s) for s in ("ada", "bo", "cy")}
    assert len({e["seed"] for e in first.values()}) == 1            # one seed for the batch
    assert list(csv.reader((out / "changes.csv").open())) == [
        ["student", "part", "old_score", "new_score", "old_version", "new_version"]]

    assert "skipped 3 (up to date)" in grade_all(checkout, submissions, out)

    # The instructor restores the part's other cases (other slopes, float32, ties).
    shutil.copy(REPO / "autograder" / "cases" / "leakyrelu.toml",
                checkout / "autograder" / "cases" / "leakyrelu.toml")
    summary = grade_all(checkout, submissions, out)
    assert "graded 3, skipped 0" in summary
    second = {s: extra(out, s) for s in ("ada", "bo", "cy")}
    for student in first:
        assert second[student]["seed"] == first[student]["seed"]          # the recorded seed
        assert second[student]["grader_version"] != first[student]["grader_version"]
    rows = list(csv.DictReader((out / "changes.csv").open()))
    assert [(r["student"], r["part"], r["old_score"]) for r in rows] == [("bo", "leakyrelu", "2")]
    assert float(rows[0]["new_score"]) < 2
    assert (rows[0]["old_version"], rows[0]["new_version"]) == (
        first["bo"]["grader_version"], second["bo"]["grader_version"])
    assert "regrade: 1 student changed (0 up, 1 down; 1 part, -" in summary
