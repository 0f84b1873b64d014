"""The kinds of hidden case: one module each, found by name, and nothing else knows them.

The toy kind is added the way autograder/programs/README.md says, in a copy of the
grader: one new file and one TOML case, then graded end to end by the real command.
"""
import ast
import json
import re
import shutil
import subprocess
import sys

import pytest

from autograder import REPO, programs
from autograder.assignment import load
from autograder.specs import load_cases

PROGRAMS = REPO / "autograder" / "programs"
KINDS = sorted({case.program for case in load_cases(load())})

TOY = '''"""``program = "sign"``: only the signs of a layer's forward output are judged."""
from .base import Program, build, draw_array, find_class, plain


class Sign(Program):
    def draw(self, case, rng, grading):
        return {"x": draw_array(case.spec, rng, case.spec["x"], "float64")}

    def run(self, case, package, inputs, channel):
        layer = build(find_class(package, case["spec"]), case["spec"], "float64")
        return {"out": plain(layer.forward(inputs["x"]), "forward")}

    def judge(self, case, got, expected, inputs, grading):
        import numpy as np

        same = np.array_equal(np.sign(got["out"]), np.sign(expected["out"]))
        return (1.0, "passed") if same else (0.0, "the signs of the output are wrong")


PROGRAM = Sign()
'''
TOY_CASE = '''
[[case]]
name = "signs of the output"
program = "sign"
module = "activations"
cls = "LeakyReLU"
x = [4, 5]
'''


def test_every_kind_in_the_cases_has_its_module():
    assert KINDS == ["dropout", "layer", "loss", "mnist", "optim", "speed"]
    for name in KINDS:
        assert (PROGRAMS / f"{name}.py").is_file()
        assert isinstance(programs.kind(name), programs.Program)


def test_an_unknown_kind_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"^no kind of case 'lyer': autograder/programs/lyer.py is missing$"):
        programs.kind("lyer")
    for bad in ("base", "../grade", "", None):
        with pytest.raises(ValueError):
            programs.kind(bad)


def test_no_module_outside_programs_branches_on_a_kind():
    kinds = "|".join(KINDS)
    branch = re.compile(rf"""(==|!=|\bin\b|\bcase\b)\s*[\(\[{{]?\s*["']({kinds})["']""")
    offenders = []
    for path in sorted((REPO / "autograder").rglob("*.py")):
        if PROGRAMS in path.parents:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if branch.search(line) or re.search(r"program[\"'\]]*\s*(==|!=|\bin\b)", line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_worker_side_imports_only_the_standard_library_and_numpy():
    allowed = set(sys.stdlib_module_names) | {"numpy", "frames", "programs"}
    for path in [REPO / "autograder" / "worker.py", REPO / "autograder" / "frames.py",
                 *sorted(PROGRAMS.glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


@pytest.fixture
def checkout_with_a_toy_kind(tmp_path):
    """A copy of the grader with one new kind (one file) and one case of it (the toy part)."""
    for folder in ("autograder", "solution", "release"):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (tmp_path / "assignment").mkdir()
    toml = (REPO / "assignment" / "assignment.toml").read_text()
    head = toml[:toml.index("[[part]]")]           # the assignment, its limits and recipe
    (tmp_path / "assignment" / "assignment.toml").write_text(
        head + '[[part]]\nid = "relu"\nname = "ReLU"\npoints = 2\n\n'
               '[[part]]\nid = "toy"\nname = "Signs (toy)"\npoints = 3\n')
    (tmp_path / "autograder" / "programs" / "sign.py").write_text(TOY)
    (tmp_path / "autograder" / "cases" / "toy.toml").write_text(TOY_CASE)
    return tmp_path


def grade_in(checkout, submission, out):
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submission),
                           "--results", str(out), "--quiet"], cwd=checkout,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


def test_a_new_kind_is_one_file_and_one_case_and_grades_end_to_end(checkout_with_a_toy_kind, tmp_path):
    checkout = checkout_with_a_toy_kind
    solution = grade_in(checkout, checkout / "solution", tmp_path / "solution.json")
    (toy,) = [t for t in solution["tests"] if t["name"].startswith("Signs (toy)")]
    assert (toy["score"], toy["max_score"], toy["output"]) == (3, 3, "passed")

    release = grade_in(checkout, checkout / "release", tmp_path / "release.json")
    (toy,) = [t for t in release["tests"] if t["name"].startswith("Signs (toy)")]
    assert toy["score"] == 0
    assert toy["output"] == "NotImplementedError: LeakyReLU.forward is not written yet"
