"""The public tests students get: they pass on the solution, and their self-check table is right.

They run as students run them, ``python -m pytest public_tests`` in a folder that holds
``numpynn/`` and ``public_tests/``. (That the untouched release fails every public test
only by NotImplementedError is checked by the release command itself.)
"""
import re
import shutil
import sys
import textwrap

import pytest

from autograder import REPO
from autograder.processes import run_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PUBLIC_TESTS = REPO / "assignment" / "public_tests"
HEADER = "self-check: the hidden tests decide your grade"


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def assignment_parts():
    return load_toml(REPO / "assignment" / "assignment.toml")["part"]


def run_student_command(folder):
    """``python -m pytest public_tests`` in ``folder``, as a student types it."""
    return run_python(["-m", "pytest", "public_tests", "-p", "no:cacheprovider"],
                      cwd=folder, timeout=300)


def self_check_table(stdout):
    """The table's rows after its header line: part name -> (points, status)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if HEADER in line)
    assert lines[start].startswith("=") and lines[start + 2].split() == ["Part", "Points", "Public",
                                                                         "tests"]
    rows = {}
    for line in lines[start + 3:]:
        match = re.match(r"(.+?)\s+(\d+)(?:\s{3}(.*))?$", line)
        assert match, f"not a row of the table: {line!r}"
        name, points, status = match.groups()
        if name == "Total":
            return rows, int(points)
        rows[name] = (int(points), status)
    raise AssertionError("the table has no Total row")


def test_parts_toml_is_a_copy_of_assignment_toml():
    assert load_toml(PUBLIC_TESTS / "parts.toml")["part"] == assignment_parts()


def test_test_files_match_the_parts():
    ids = {part["id"] for part in assignment_parts()}
    files = {path.stem.removeprefix("test_") for path in PUBLIC_TESTS.glob("test_*.py")}
    assert files <= ids, f"public test files of no part: {sorted(files - ids)}"
    scored = {part["id"] for part in assignment_parts() if part["points"] > 0}
    assert scored <= files, f"scored parts without public tests: {sorted(scored - files)}"


def test_public_tests_pass_on_the_solution(tmp_path):
    shutil.copytree(REPO / "solution" / "numpynn", tmp_path / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PUBLIC_TESTS, tmp_path / "public_tests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    done = run_student_command(tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b\d{2,} passed in ", done.stdout)

    rows, total = self_check_table(done.stdout)
    parts = assignment_parts()
    assert total == sum(part["points"] for part in parts)
    assert list(rows) == [part["name"] for part in parts]
    for part in parts:
        points, status = rows[part["name"]]
        assert points == part["points"]
        if (PUBLIC_TESTS / f"test_{part['id']}.py").exists():
            match = re.fullmatch(r"(\d+)/(\d+) passed", status)
            assert match and match[1] == match[2] and int(match[1]) >= 3, (part["id"], status)
        else:
            assert status.startswith("no public tests"), (part["id"], status)


def test_self_check_table_tells_passed_failed_unfinished_and_broken(tmp_path):
    # A synthetic assignment with the real conftest: one part of each kind.
    tests = tmp_path / "public_tests"
    tests.mkdir()
    shutil.copy(PUBLIC_TESTS / "conftest.py", tests)
    (tests / "parts.toml").write_text(textwrap.dedent("""
        [[part]]
        id = "done"
        name = "Finished part"
        points = 3
        [[part]]
        id = "mixed"
        name = "Mixed"
        points = 2
        [[part]]
        id = "todo"
        name = "Not started"
        points = 1
        [[part]]
        id = "broken"
        name = "Broken"
        points = 4
        [[part]]
        id = "extra"
        name = "Extra"
        points = 0
    """))
    (tests / "test_done.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    (tests / "test_mixed.py").write_text(textwrap.dedent("""
        def test_ok():
            pass

        def test_unfinished():
            raise NotImplementedError()

        def test_wrong():
            assert 1 == 2
    """))
    (tests / "test_todo.py").write_text("def test_a():\n    raise NotImplementedError()\n")
    (tests / "test_broken.py").write_text("def test_a():\n    pass\n")

    done = run_student_command(tmp_path)
    assert done.returncode == 1
    rows, total = self_check_table(done.stdout)
    assert total == 10
    assert rows == {
        "Finished part": (3, "2/2 passed"),
        "Mixed": (2, "1/3 passed, 2 FAILED (1 of them not implemented yet)"),
        "Not started": (1, "0/1 passed, 1 not implemented yet"),
        "Broken": (4, "1/1 passed"),
        "Extra": (0, "no public tests, feedback only"),
    }

    # A test file that cannot be imported costs only its own part: the others still run.
    (tests / "test_broken.py").write_text("import a_module_that_does_not_exist\n")
    rows, _ = self_check_table(run_student_command(tmp_path).stdout)
    assert rows["Broken"] == (4, "ERROR: the tests could not be imported (see the errors above)")
    assert rows["Finished part"] == (3, "2/2 passed")


BROKEN_FILES = [
    # (file, edit of the solution, the error line, the parts that cannot run)
    ("conv.py", ("        n, _, h, w = x.shape\n", "        n, _, h, w = x.shape\n          oops = 1\n"),
     "ERROR numpynn/conv.py, line {line}: IndentationError: unexpected indent", {"Conv2d", "MNIST training"}),
    ("activations.py", ("class ReLU(Module):", "undefined_name()\n\n\nclass ReLU(Module):"),
     "ERROR numpynn/activations.py, line {line}: NameError: name 'undefined_name' is not defined",
     {"ReLU", "LeakyReLU", "Sigmoid", "Tanh", "MNIST training"}),
]


@pytest.mark.parametrize("name, edit, error, lost", BROKEN_FILES, ids=[b[0] for b in BROKEN_FILES])
def test_a_broken_file_costs_only_its_own_parts_and_is_shown_once(tmp_path, name, edit, error, lost):
    shutil.copytree(REPO / "solution" / "numpynn", tmp_path / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PUBLIC_TESTS, tmp_path / "public_tests", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "numpynn" / name
    source = path.read_text()
    assert edit[0] in source
    broken = source.replace(edit[0], edit[1], 1)
    path.write_text(broken)
    line = next(i for i, text in enumerate(broken.splitlines(), 1)
                if text not in source.splitlines() and text.strip())
    done = run_student_command(tmp_path)
    assert done.returncode == 1
    assert done.stdout.count(error.format(line=line)) == 1, done.stdout[-3000:]
    assert done.stdout.count(error.split(": ", 1)[1].split(":")[0]) == 1   # the traceback is not repeated
    rows, _ = self_check_table(done.stdout)
    for part in assignment_parts():
        points, status = rows[part["name"]]
        if part["name"] in lost:
            assert status == f"ERROR: cannot run until numpynn/{name} imports (see above)", (part, status)
        elif (PUBLIC_TESTS / f"test_{part['id']}.py").exists():
            match = re.fullmatch(r"(\d+)/(\d+) passed", status)
            assert match and match[1] == match[2], (part["id"], status)


# Bugs that the handout's "How a layer works" and its formulas promise the public tests
# catch, each with a message that names the cause, not only a wrong number.
PROMISES = [
    ("ReLU changes x in place", "activations.py",
     ("out = np.maximum(x, 0)", "x[x < 0] = 0\n        out = x"), "test_relu.py",
     "forward changed its input x in place"),
    ("Conv2d assigns weight.grad", "conv.py",
     ("self.weight.grad += (g @", "self.weight.grad = (g @"), "test_conv2d.py",
     "after two backward calls weight.grad is not twice the first one"),
    ("BatchNorm assigns weight.grad", "batchnorm.py",
     ("self.weight.grad += sum_g_x_hat", "self.weight.grad = sum_g_x_hat"), "test_batchnorm1d.py",
     "backward must ADD into it (self.weight.grad += ...)"),
    ("BatchNorm2d assigns bias.grad", "batchnorm.py",
     ("self.bias.grad += sum_g", "self.bias.grad = sum_g"), "test_batchnorm2d.py",
     "after two backward calls bias.grad is not twice the first one"),
    ("SGD weight decay after the momentum", "optim.py",
     ("            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad\n"
      "            if self.momentum:\n                v *= self.momentum\n                v += g\n"
      "                g = v\n",
      "            g = p.grad\n            if self.momentum:\n                v *= self.momentum\n"
      "                v += g\n                g = v + self.weight_decay * p.data\n"),
     "test_sgd.py", "that is the 'decay after momentum' form, which the handout calls wrong"),
    ("im2col rows in the wrong order", "conv.py",
     ("windows.transpose(0, 1, 4, 5, 2, 3)", "windows.transpose(0, 4, 5, 1, 2, 3)"), "test_conv2d.py",
     "check the order of the axes before the reshape"),
    ("col2im ignores the stride", "conv.py",
     ("x[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += blocks[:, :, i, j]",
      "x[:, :, i:i + ho, j:j + wo] += blocks[:, :, i, j]"), "test_conv2d.py",
     "the sum of every column entry that im2col took from that pixel"),
]


@pytest.mark.parametrize("name, file, edit, tests, cause", PROMISES, ids=[p[0] for p in PROMISES])
def test_a_promised_check_fails_and_names_the_cause(tmp_path, name, file, edit, tests, cause):
    shutil.copytree(REPO / "solution" / "numpynn", tmp_path / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PUBLIC_TESTS, tmp_path / "public_tests", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "numpynn" / file
    source = path.read_text()
    assert edit[0] in source, f"{name}: the solution changed, update the planted bug"
    path.write_text(source.replace(edit[0], edit[1], 1))
    done = run_python(["-m", "pytest", f"public_tests/{tests}", "-p", "no:cacheprovider", "--tb=line"],
                      cwd=tmp_path, timeout=300)
    assert done.returncode == 1, f"{name} passed every test of {tests}"
    assert cause in done.stdout, f"{name}: no failure says {cause!r}:\n{done.stdout[-3000:]}"
