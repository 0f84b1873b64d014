"""`python -m autograder release` on a small synthetic assignment built in tmp_path.

The synthetic solution is a two-file package with solution regions at several
indent levels, a given file without markers, a binary data file, a notebook and one
public test module. Expected outputs are written out by hand, from nbgrader's rules.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import REPO
from autograder.release import build, leaks, regions
from autograder.release.command import release
from autograder.release.errors import ReleaseError
from autograder.release.sources import Sources
from autograder.release.staging import check_target
from autograder.release.strip import strip_notebook, strip_python

LAYERS = '''\
"""Toy layers: x is (N,) everywhere."""
import numpy as np


def double(x):
    """(N,) -> (N,)"""
    ### BEGIN SOLUTION
    return 2 * np.asarray(x)
    ### END SOLUTION


class Scale:
    def __init__(self, factor):
        self.factor = factor

    def forward(self, x):
        def scaled(v):
            ### BEGIN SOLUTION
            return v * self.factor
            ### END SOLUTION
        return scaled(np.asarray(x))
'''

GIVEN = '''\
"""Given code: no markers, released as it is."""


def given(x):
    return x
'''

PUBLIC_TEST = '''\
import numpy as np

from numpynn import Scale, double


def test_double():
    assert np.array_equal(double([1, 2]), [2, 4])


def test_scale():
    assert np.array_equal(Scale(3).forward([1]), [3])
'''

DATA = bytes(range(256)) * 4  # stands in for the embedded .npz: NULs, newlines, non-UTF-8


def notebook(cells, minor=5):
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3",
                                                                   "display_name": "Python 3"}},
                       "nbformat": 4, "nbformat_minor": minor}, indent=1)


def code_cell(source, **metadata):
    return {"cell_type": "code", "execution_count": 7, "metadata": metadata,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "printed\n"}],
            "source": source}


LAB = notebook([
    {"cell_type": "markdown", "metadata": {}, "source": "# Lab\nTrain the toy layer."},
    code_cell("from numpynn import double\n"
              "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION\n"
              "print(triple(2))", execution={"iopub.execute_input": "2026-01-01T10:00:00Z"}),
    code_cell("assert triple(1) == 3\n### BEGIN HIDDEN TESTS\nassert triple(5) == 15\n### END HIDDEN TESTS",
              nbgrader={"grade": True, "grade_id": "triple", "locked": True, "points": 1,
                        "schema_version": 3, "solution": False, "task": False}),
])


def make_assignment(root: Path, files=None) -> Sources:
    """A synthetic assignment under ``root``; ``files`` adds or overrides (relative path -> text or bytes)."""
    contents = {
        "solution/numpynn/__init__.py": "from .layers import Scale, double\n",
        "solution/numpynn/layers.py": LAYERS,
        "solution/numpynn/given.py": GIVEN,
        "solution/numpynn/digits.npz": DATA,
        "solution/numpynn/__pycache__/layers.cpython-311.pyc": b"\x00cache",
        "solution/numpynn/.DS_Store": b"finder",
        "solution/tools/make_data.py": "print('instructor only')\n",
        "assignment/notebooks/lab.ipynb": LAB,
        "assignment/public_tests/test_layers.py": PUBLIC_TEST,
        "assignment/HANDOUT.md": "# Toy handout\n\nWrite `double` and `Scale.forward`.\n",
        "assignment/release_pyproject.toml": (REPO / "assignment" / "release_pyproject.toml").read_text(),
    }
    contents.update(files or {})
    for rel, content in contents.items():
        if content is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return Sources(package="numpynn", package_dir=root / "solution" / "numpynn",
                   student_files=("layers.py",), notebooks_dir=root / "assignment" / "notebooks",
                   public_tests_dir=root / "assignment" / "public_tests",
                   handout=root / "assignment" / "HANDOUT.md",
                   pyproject=root / "assignment" / "release_pyproject.toml")


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- stripping .py files with nbgrader's ClearSolutions --------------------------------------
def test_regions_at_every_indent_level_become_indented_stubs():
    source = textwrap.dedent('''\
        ### BEGIN SOLUTION
        LIMIT = 3
        ### END SOLUTION


        class Layer:
            def forward(self, x):
                ### BEGIN SOLUTION
                y = x + 1
                ### END SOLUTION
                return y

            def backward(self, g):
                def inner(v):
                    ### BEGIN SOLUTION
                    return v * 2
                    ### END SOLUTION
                return inner(g)
        ''')
    expected = textwrap.dedent('''\
        # YOUR CODE HERE
        raise NotImplementedError()


        class Layer:
            def forward(self, x):
                # YOUR CODE HERE
                raise NotImplementedError()
                return y

            def backward(self, g):
                def inner(v):
                    # YOUR CODE HERE
                    raise NotImplementedError()
                return inner(g)
        ''')
    assert strip_python(source, "layer.py") == expected


def test_a_file_without_markers_is_unchanged():
    assert strip_python(GIVEN, "given.py") == GIVEN


def test_windows_line_endings_become_lf():
    assert strip_python(GIVEN.replace("\n", "\r\n"), "given.py") == GIVEN


def test_an_unclosed_marker_names_the_file_and_line():
    source = "def f():\n    x = 1\n    ### BEGIN SOLUTION\n    return x\n"
    with pytest.raises(ReleaseError) as error:
        strip_python(source, "solution/numpynn/conv.py")
    message = str(error.value)
    assert message.startswith("solution/numpynn/conv.py:3: 'BEGIN SOLUTION' is never closed")
    assert "\n" not in message


def test_a_nested_marker_names_the_file_and_line():
    source = ("def f():\n    ### BEGIN SOLUTION\n    a = 1\n    ### BEGIN SOLUTION\n"
              "    b = 2\n    ### END SOLUTION\n")
    with pytest.raises(ReleaseError) as error:
        strip_python(source, "pooling.py")
    assert str(error.value).startswith("pooling.py:4: nested 'BEGIN SOLUTION' inside the region opened at line 2")


def test_a_stripped_file_that_is_not_python_is_refused():
    # The marker sits at column 0, so the stub does too: outside the `if` it belongs to.
    source = "if flag:\n### BEGIN SOLUTION\n    x = 1\n### END SOLUTION\n"
    # Line 2 of the result is the stub's comment; line 3, its `raise`, is what Python rejects.
    with pytest.raises(ReleaseError, match=r"^losses\.py: .*line 3 of the released file is not valid Python "
                                           r"\(expected an indented block"):
        strip_python(source, "losses.py")


# -- notebooks -------------------------------------------------------------------------------
def test_notebooks_lose_solutions_hidden_tests_outputs_and_timings():
    stripped = json.loads(strip_notebook(LAB, "lab.ipynb"))
    markdown, solution, graded = stripped["cells"]
    assert "".join(markdown["source"]) == "# Lab\nTrain the toy layer."
    assert "".join(solution["source"]) == ("from numpynn import double\ndef triple(x):\n"
                                           "    # YOUR CODE HERE\n    raise NotImplementedError()\n"
                                           "print(triple(2))")
    assert "".join(graded["source"]) == "assert triple(1) == 3"
    assert solution["outputs"] == [] and solution["execution_count"] is None
    assert "execution" not in solution["metadata"]
    assert graded["metadata"]["editable"] is False  # nbgrader's LockCells on a grade cell
    assert [cell["id"] for cell in stripped["cells"]] == ["cell-0", "cell-1", "cell-2"]


def test_notebook_stripping_is_deterministic():
    assert strip_notebook(LAB, "lab.ipynb") == strip_notebook(LAB, "lab.ipynb")


def test_an_unclosed_marker_in_a_notebook_names_the_cell_and_line():
    bad = notebook([code_cell("x = 1"), code_cell("y = 2\n### BEGIN SOLUTION\ny = 3")])
    with pytest.raises(ReleaseError, match=r"^lab\.ipynb cell 1, line 2: 'BEGIN SOLUTION' is never closed"):
        strip_notebook(bad, "lab.ipynb")


# -- the build steps -------------------------------------------------------------------------
def test_build_writes_exactly_the_release(tmp_path):
    sources = make_assignment(tmp_path / "src")
    out = tmp_path / "out"
    written = build.build_release(sources, out)
    files = tree(out)
    assert sorted(files) == ["HANDOUT.md", "notebooks/lab.ipynb", "numpynn/__init__.py",
                             "numpynn/digits.npz", "numpynn/given.py", "numpynn/layers.py",
                             "public_tests/test_layers.py", "pyproject.toml"]
    assert sorted(rel for paths in written.values() for rel in paths) == sorted(files)
    assert files["numpynn/digits.npz"] == DATA
    assert files["numpynn/given.py"] == GIVEN.encode()
    assert files["public_tests/test_layers.py"] == PUBLIC_TEST.encode()
    layers = files["numpynn/layers.py"].decode()
    assert "return 2 * np.asarray(x)" not in layers and "return v * self.factor" not in layers
    assert ("        def scaled(v):\n            # YOUR CODE HERE\n            raise NotImplementedError()\n"
            "        return scaled(np.asarray(x))\n") in layers


def test_public_tests_with_a_solution_region_are_refused(tmp_path):
    marked = PUBLIC_TEST + "\n\ndef helper():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n"
    sources = make_assignment(tmp_path / "src", {"assignment/public_tests/test_layers.py": marked})
    with pytest.raises(ReleaseError, match=r"test_layers\.py: public tests are released as they are"):
        build.write_public_tests(sources, tmp_path / "out")


# -- the leak check --------------------------------------------------------------------------
@pytest.mark.parametrize("line", [
    "", ")", "]),", '"""',                        # no letter or digit
    "pass", "else:", "return x", "y = x", "continue",  # at most SHORT significant characters
    "# YOUR CODE HERE", "raise NotImplementedError()",  # nbgrader's stub
    "N, C, H, W = x.shape",                       # also outside the regions (see `public` below)
])
def test_trivial_lines(line):
    assert leaks.is_trivial(line, public={"N, C, H, W = x.shape"})


@pytest.mark.parametrize("line", [
    "return dx2",                                 # SHORT + 1 significant characters
    "out = np.maximum(x, 0)",
    "# the gradient flows only where x > 0",      # comments can be hints
    "N, C, H, W = grad.shape",                    # close to a public line is not equal to it
])
def test_lines_that_count_as_leaks(line):
    assert not leaks.is_trivial(line, public={"N, C, H, W = x.shape"})


def test_short_is_measured_without_whitespace():
    assert leaks.SHORT == 8
    assert leaks.is_trivial("r e t u r n  xy", set())   # 8 significant characters
    assert not leaks.is_trivial("return xyz", set())    # 9


def test_the_leak_check_names_the_released_file_and_line(tmp_path):
    sources = make_assignment(tmp_path / "src")
    out = tmp_path / "release"
    build.build_release(sources, out)
    with open(out / "HANDOUT.md", "a") as f:
        f.write("Hint:\n\n    return v * self.factor\n")
    split = regions.split_text(LAYERS, "solution/numpynn/layers.py")
    found, looked_for = leaks.find_leaks(split.secret, {line.text for line in split.public}, out)
    assert looked_for == 2  # "return 2 * np.asarray(x)" and "return v * self.factor"
    assert found == ["release/HANDOUT.md:6: line from the solution region at "
                     "solution/numpynn/layers.py:19 is in the release: return v * self.factor"]


def test_the_leak_check_reads_notebook_cells(tmp_path):
    (tmp_path / "lab.ipynb").write_text(notebook([code_cell("x = 1\nreturn 3 * x_value")]))
    secret = [regions.SourceLine("lab-solution.ipynb cell 1", 4, "return 3 * x_value")]
    found, _ = leaks.find_leaks(secret, set(), tmp_path, "release")
    assert found == ["release/lab.ipynb cell 0:2: line from the solution region at "
                     "lab-solution.ipynb cell 1:4 is in the release: return 3 * x_value"]


def test_regions_split_what_students_get_from_what_they_do_not():
    split = regions.split_text(LAYERS, "layers.py")
    assert split.regions == 2
    assert [(line.lineno, line.text) for line in split.secret] == [
        (8, "return 2 * np.asarray(x)"), (19, "return v * self.factor")]
    assert "return scaled(np.asarray(x))" in {line.text for line in split.public}


def test_a_stray_end_marker_is_an_error():
    with pytest.raises(ReleaseError, match=r"^x\.py:2: 'END SOLUTION' without an opening 'BEGIN SOLUTION'"):
        regions.split_text("a = 1\n### END SOLUTION\n", "x.py")


def test_a_notebook_solution_cell_without_region_is_all_secret():
    nb = notebook([code_cell("def f():\n    return 42", nbgrader={"solution": True, "grade": False,
                                                               "grade_id": "f", "locked": False,
                                                               "schema_version": 3, "task": False})])
    split = regions.split_notebook(nb, "lab.ipynb")
    assert [line.text for line in split.secret] == ["def f():", "return 42"]


def test_the_delimiters_are_nbgraders():
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions
    assert regions.SOLUTION == (ClearSolutions.begin_solution_delimeter.default_value,
                                ClearSolutions.end_solution_delimeter.default_value)
    assert regions.HIDDEN_TESTS == (ClearHiddenTests.begin_test_delimeter.default_value,
                                    ClearHiddenTests.end_test_delimeter.default_value)
    assert regions.MARK_SCHEME == (ClearMarkScheme.begin_mark_scheme_delimeter.default_value,
                                   ClearMarkScheme.end_mark_scheme_delimeter.default_value)


# -- the whole command ---------------------------------------------------------------------
def test_release_succeeds_replaces_the_old_release_and_is_reproducible(tmp_path, capsys):
    sources = make_assignment(tmp_path / "src")
    out = tmp_path / "release"
    (out / "numpynn").mkdir(parents=True)
    (out / "pyproject.toml").write_text("old release\n")
    (out / "stale.txt").write_text("from an old release\n")

    assert release(sources, out) == 0
    first = tree(out)
    assert "stale.txt" not in first and b"old release" not in first["pyproject.toml"]
    printed = capsys.readouterr().out
    assert "2 of 2 public tests stop at NotImplementedError on the untouched release" in printed
    assert "2 public tests pass on the solution" in printed

    assert release(sources, out) == 0
    assert tree(out) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release", "src"]  # no staging left


def leaky_release(tmp_path, files, capsys):
    """Run a release expected to fail; return its error output and check nothing changed."""
    sources = make_assignment(tmp_path / "src", files)
    out = tmp_path / "release"
    out.mkdir()
    assert release(sources, out) == 1
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release", "src"]
    return capsys.readouterr().err


def test_a_build_that_fails_stops_the_waiting_test_run_at_once(tmp_path, capsys):
    """The release's public tests start before the build and wait at a gate
    (checks.Gate): a build that fails must release them at once, not after GATE_TIMEOUT."""
    import time
    from autograder.release import checks

    unclosed = "### BEGIN SOLUTION\nFACTOR = 2\n" + LAYERS
    started = time.monotonic()
    err = leaky_release(tmp_path, {"solution/numpynn/layers.py": unclosed}, capsys)
    assert "layers.py" in err
    assert time.monotonic() - started < checks.GATE_TIMEOUT / 4


def test_release_fails_on_a_leak_and_leaves_the_old_release(tmp_path, capsys):
    err = leaky_release(tmp_path, {"assignment/HANDOUT.md": "# Handout\n\n    return 2 * np.asarray(x)\n"},
                        capsys)
    assert "release/HANDOUT.md:3: line from the solution region at" in err
    assert "layers.py:8 is in the release: return 2 * np.asarray(x)" in err


def test_release_fails_when_a_public_test_fails_on_the_release_other_than_by_stub(tmp_path, capsys):
    test = PUBLIC_TEST + "\n\ndef test_factor_is_kept():\n    assert Scale(2).factor == 3\n"
    err = leaky_release(tmp_path, {"assignment/public_tests/test_layers.py": test}, capsys)
    assert ("public_tests/test_layers.py::test_factor_is_kept fails on the untouched release with "
            "AssertionError") in err
    assert "not with NotImplementedError" in err
    assert "public_tests/test_layers.py::test_factor_is_kept does not pass on the solution" in err


def test_release_fails_when_a_public_test_cannot_be_imported(tmp_path, capsys):
    test = "from numpynn import Missing\n\n\ndef test_missing():\n    assert Missing\n"
    err = leaky_release(tmp_path, {"assignment/public_tests/test_missing.py": test}, capsys)
    assert "public_tests/test_missing.py cannot be collected with " in err
    assert "release/: ImportError" in err


def test_release_fails_when_a_public_test_fails_on_the_solution(tmp_path, capsys):
    test = ("import pytest\nfrom numpynn import double\n\n\ndef test_unfinished():\n"
            "    with pytest.raises(NotImplementedError):\n        double([1])\n")
    err = leaky_release(tmp_path, {"assignment/public_tests/test_unfinished.py": test}, capsys)
    assert "public_tests/test_unfinished.py::test_unfinished does not pass on the solution: failed" in err


def test_release_fails_when_the_release_does_not_import(tmp_path, capsys):
    module_level = "### BEGIN SOLUTION\nFACTOR = 2\n### END SOLUTION\n" + LAYERS
    err = leaky_release(tmp_path, {"solution/numpynn/layers.py": module_level}, capsys)
    assert "release/ fails: NotImplementedError" in err


def test_a_student_file_without_a_region_is_refused(tmp_path, capsys):
    err = leaky_release(tmp_path, {"solution/numpynn/layers.py": GIVEN}, capsys)
    assert "layers.py: a student file with no solution region" in err


def test_missing_inputs_are_refused_unless_drafting(tmp_path, capsys):
    sources = make_assignment(tmp_path / "src", {"assignment/HANDOUT.md": None})
    out = tmp_path / "release"
    assert release(sources, out) == 1
    assert "HANDOUT.md (the handout)" in capsys.readouterr().err
    assert not out.exists()
    assert release(sources, out, allow_missing=True) == 0
    assert "HANDOUT.md" not in tree(out)


def test_the_target_must_look_like_a_release(tmp_path):
    sources = make_assignment(tmp_path / "src")
    inputs = [sources.package_dir, sources.public_tests_dir]
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work\n")
    with pytest.raises(ReleaseError, match="does not look like a release"):
        check_target(home, "numpynn", inputs)
    with pytest.raises(ReleaseError, match="overlaps the input"):
        check_target(tmp_path / "src", "numpynn", inputs)
    with pytest.raises(ReleaseError, match="overlaps the input"):
        check_target(sources.package_dir / "release", "numpynn", inputs)
    check_target(tmp_path / "new", "numpynn", inputs)


def test_the_light_nbgrader_import_gives_nbgraders_own_classes():
    """The release imports only the preprocessors it runs (see strip.nbgrader_preprocessors);
    they must be nbgrader's classes, and a later ordinary import must see the same ones."""
    code = textwrap.dedent("""
        import sys
        from autograder.release import strip
        light = strip.nbgrader_preprocessors()
        assert "nbgrader" not in sys.modules and "sqlalchemy" not in sys.modules
        from nbgrader import preprocessors
        for name in strip.PREPROCESSORS.values():
            assert getattr(light, name) is getattr(preprocessors, name), name
        print("same classes")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip() == "same classes", done.stderr[-2000:]
