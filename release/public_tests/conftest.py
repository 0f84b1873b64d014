"""Public tests: shared fixtures and the self-check table printed at the end of the run.

Run them from the folder that holds both ``numpynn/`` and ``public_tests/``::

    python -m pytest public_tests              # everything, then the self-check table
    python -m pytest public_tests/test_conv2d.py -x    # one part, stop at the first failure

Tests map to parts by file name: ``test_<id>.py`` tests the part ``<id>`` of
``parts.toml``. The public tests check shapes, dtypes, the API, error messages and
gradients. They do not decide the grade: hidden tests compare your layers with a
reference implementation on many more cases.
"""
import ast
import importlib
import sys
import traceback
import types
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser is the package tomli
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

HERE = Path(__file__).resolve().parent
PARTS_FILE = HERE / "parts.toml"

PACKAGE = HERE.parent / "numpynn"

# Test the numpynn beside public_tests/, the one you are writing, however pytest was
# started (plain `pytest` does not look in the current folder; an installed copy might).
if (PACKAGE / "__init__.py").is_file():
    sys.path.insert(0, str(HERE.parent))

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


# -- a file that does not import costs only its own parts -------------------------------
# numpynn/__init__.py imports every file, so one typo would stop every test file. Instead,
# as the grader does, each file of the package is imported on its own: the tests of the
# parts that need a broken file cannot run, the others run as usual, and the error is
# shown once, with its file and line, at the end, just above the self-check table.
BROKEN = {}  # "conv.py" -> "numpynn/conv.py, line 12: IndentationError: unexpected indent"


def _where(error):
    """The package file and line an import error comes from, and a one-line description."""
    if isinstance(error, SyntaxError) and error.filename:
        path, line, text = error.filename, error.lineno, f"{type(error).__name__}: {error.msg}"
    else:
        inside = [frame for frame in traceback.extract_tb(error.__traceback__)
                  if Path(frame.filename).resolve().parent == PACKAGE.resolve()]
        frame = inside[-1] if inside else None
        path = frame.filename if frame else "__init__.py"
        line = frame.lineno if frame else "?"
        text = f"{type(error).__name__}: {error}".splitlines()[0]
    name = Path(path).name
    return name, f"numpynn/{name}, line {line}: {text}"


def _exports():
    """{file stem: names} from ``from .stem import A, B`` lines of numpynn/__init__.py."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    return {node.module: [alias.name for alias in node.names] for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}


def _import_file_by_file():
    """Import numpynn; if that fails, every file alone into a stand-in package (BROKEN)."""
    try:
        importlib.import_module("numpynn")
        return
    except Exception as error:  # noqa: BLE001 - whatever a student file raises
        BROKEN.setdefault(*_where(error))
    for name in [m for m in sys.modules if m == "numpynn" or m.startswith("numpynn.")]:
        del sys.modules[name]
    package = types.ModuleType("numpynn")
    package.__path__, package.__file__ = [str(PACKAGE)], str(PACKAGE / "__init__.py")
    sys.modules["numpynn"] = package
    exports = _exports()
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "__init__.py":
            continue
        try:
            module = importlib.import_module(f"numpynn.{path.stem}")
        except Exception as error:  # noqa: BLE001
            BROKEN.setdefault(*_where(error))
            continue
        for name in exports.get(path.stem, ()):
            setattr(package, name, getattr(module, name))


def _needs(path, exports):
    """The package files a test file (or a package file) imports, directly or not."""
    owner = {name: stem for stem, names in exports.items() for name in names}
    seen, todo = set(), [Path(path)]
    while todo:
        try:
            tree = ast.parse(todo.pop().read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue  # a broken file: what it would import does not matter
        for node in ast.walk(tree):
            stems = []
            if isinstance(node, ast.ImportFrom) and node.module == "numpynn":
                stems = [owner.get(alias.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("numpynn."):
                stems = [node.module.split(".")[1]]
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                stems = [node.module] if node.module else [a.name for a in node.names]
            for stem in stems:
                if f"{stem}.py" not in seen and (PACKAGE / f"{stem}.py").is_file():
                    seen.add(f"{stem}.py")
                    todo.append(PACKAGE / f"{stem}.py")
    return seen


if (PACKAGE / "__init__.py").is_file():
    _import_file_by_file()


def pytest_configure(config):
    # A test file that cannot import stops only its own part, not the whole run.
    config.option.continue_on_collection_errors = True


def broken_files_of(test_file):
    """The broken package files that ``test_file`` needs (empty if it can run)."""
    if not BROKEN or not Path(test_file).is_file():
        return []
    try:
        return sorted(set(BROKEN) & _needs(test_file, _exports()))
    except (OSError, SyntaxError, ValueError):
        return []


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A test file that fails to import because of a broken package file: one line that
    names that file, instead of the same traceback again (shown once, at the end)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and isinstance(collector, pytest.Module):
        broken = broken_files_of(collector.path)
        if broken:
            report.longrepr = (f"cannot run: it needs {', '.join('numpynn/' + b for b in broken)}, "
                               f"which does not import (its error is shown at the end)")


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture
def rng():
    """A fresh, seeded random generator for each test."""
    return np.random.default_rng(0)


@pytest.fixture
def check_dtype():
    """``check_dtype(module, x, dtype)``: forward and backward keep ``dtype`` everywhere.

    Casts ``module`` with ``.to(dtype)`` as the graders do, runs it on ``x`` cast to
    ``dtype``, and checks the output, the input gradient and every parameter gradient;
    then that the other float dtype is refused with a TypeError (``check_input`` does it).
    """
    def check(module, x, dtype):
        module.to(dtype)
        y = module(np.asarray(x, dtype=dtype))
        assert isinstance(y, np.ndarray) and y.dtype == dtype, \
            f"forward returned {getattr(y, 'dtype', type(y).__name__)} for {np.dtype(dtype)} input"
        grad_x = module.backward(np.ones_like(y))
        assert grad_x.dtype == dtype and grad_x.shape == np.shape(x), \
            f"backward returned {grad_x.dtype} {grad_x.shape}, expected {np.dtype(dtype)} {np.shape(x)}"
        for name, p in module.named_parameters():
            assert p.grad.dtype == dtype, f"{name}.grad became {p.grad.dtype}"
        if module.state_dict():  # a layer with parameters refuses another dtype (given code)
            other = np.float64 if np.dtype(dtype) == np.float32 else np.float32
            with pytest.raises(TypeError, match=r"model\.to\(np\."):
                module(np.asarray(x, dtype=other))
    return check


@pytest.fixture
def check_inputs_unchanged():
    """``check_inputs_unchanged(module, x)``: forward leaves ``x`` as it was, and backward
    leaves both ``x`` and the gradient it is given (the handout's "never change an input
    array in place"; the graders call your code a second time on the same arrays)."""
    def check(module, x):
        x = np.array(x)
        before = x.copy()
        y = module(x)
        assert np.array_equal(x, before), (
            f"{module!r}: forward changed its input x in place (something like x[x < 0] = 0 or "
            f"x -= mean on the x you were given): the caller still needs it; compute a new array "
            f"instead (np.maximum(x, 0), x - mean)")
        grad = np.random.default_rng(1).standard_normal(np.shape(y)).astype(np.asarray(y).dtype)
        grad_before = grad.copy()
        module.backward(grad)
        assert np.array_equal(grad, grad_before), (
            f"{module!r}: backward changed the gradient it was given (grad_out) in place: "
            f"the caller still needs it; compute a new array (grad_out * mask, not grad_out *= mask)")
        assert np.array_equal(x, before), (
            f"{module!r}: backward changed the forward's input x in place (through what forward "
            f"saved): save a copy, or never write into x")
    return check


@pytest.fixture
def check_accumulates():
    """``check_accumulates(module, x)``: a second ``backward`` doubles every ``.grad``
    (the handout's "backward ADDS into .grad")."""
    def check(module, x):
        y = module(np.asarray(x))
        grad = np.random.default_rng(2).standard_normal(np.shape(y)).astype(np.asarray(y).dtype)
        module.zero_grad()
        module.backward(grad)
        once = {name: p.grad.copy() for name, p in module.named_parameters()}
        assert once, f"{module!r} has no parameters to check"
        module.backward(grad)
        for name, p in module.named_parameters():
            assert np.allclose(p.grad, 2 * once[name], rtol=1e-6, atol=1e-12), (
                f"{module!r}: after two backward calls {name}.grad is not twice the first one: "
                f"backward must ADD into it (self.{name}.grad += ...), not assign it "
                f"(self.{name}.grad = ... or [...] =)")
    return check


# -- the self-check table ---------------------------------------------------------------
def load_parts():
    """The parts in order, each a dict with ``id``, ``name`` and ``points``."""
    with open(PARTS_FILE, "rb") as f:
        return tomllib.load(f)["part"]


def part_of(nodeid):
    """``"public_tests/test_conv2d.py::test_shapes[2]"`` -> ``"conv2d"`` (None if not a test file)."""
    filename = nodeid.split("::")[0].rsplit("/", 1)[-1]
    if filename.startswith("test_") and filename.endswith(".py"):
        return filename[len("test_"):-len(".py")]
    return None


def tally(stats):
    """Per part: test ids that passed, failed, failed by NotImplementedError, and broken files."""
    results = {}
    for outcome in OUTCOMES:
        for report in stats.get(outcome, []):
            part = part_of(getattr(report, "nodeid", "") or "")
            if part is None:
                continue
            counts = results.setdefault(part, {"passed": set(), "failed": set(),
                                               "not_implemented": set(), "broken": False})
            if "::" not in report.nodeid:    # the file itself failed to import
                counts["broken"] = broken_files_of(HERE / report.nodeid.rsplit("/", 1)[-1]) or True
            elif report.failed:
                counts["failed"].add(report.nodeid)
                if "NotImplementedError" in report.longreprtext:
                    counts["not_implemented"].add(report.nodeid)
            elif report.passed and report.when == "call":
                counts["passed"].add(report.nodeid)
    for counts in results.values():
        counts["passed"] -= counts["failed"]  # a test that passed its call but failed teardown
    return results


def describe(counts):
    """One part's result in a few words, and the colour to print it in."""
    if counts is None:
        return "not run", {}
    if counts["broken"] is True:
        return "ERROR: the tests could not be imported (see the errors above)", {"red": True}
    if counts["broken"]:
        files = ", ".join(f"numpynn/{name}" for name in counts["broken"])
        return f"ERROR: cannot run until {files} imports (see above)", {"red": True}
    passed, failed = len(counts["passed"]), len(counts["failed"])
    total = passed + failed
    if total == 0:
        return "not run", {}
    if failed == 0:
        return f"{passed}/{total} passed", {"green": True}
    missing = len(counts["not_implemented"])
    if missing == failed:
        return f"{passed}/{total} passed, {missing} not implemented yet", {"yellow": True}
    also = f" ({missing} of them not implemented yet)" if missing else ""
    return f"{passed}/{total} passed, {failed} FAILED{also}", {"red": True}


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """Print the table last, after pytest's own summaries of the failures."""
    yield
    for name, message in BROKEN.items():
        terminalreporter.write_sep("=", f"numpynn/{name} does not import", red=True, bold=True)
        terminalreporter.write_line(f"ERROR {message}", red=True)
        terminalreporter.write_line(f"Fix it first: the tests that need {name} cannot run until "
                                    f"it imports; the other parts' tests ran as usual.")
    if tomllib is None:
        terminalreporter.write_line("self-check: the table of parts needs Python 3.11 or newer, "
                                    "or `pip install tomli`", yellow=True)
        return
    try:
        parts = load_parts()
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        terminalreporter.write_line(f"self-check: cannot read {PARTS_FILE.name}: {error}", red=True)
        return
    results = tally(terminalreporter.stats)
    write = terminalreporter.write_line
    width = max(len(part["name"]) for part in parts + [{"name": "Part"}])
    terminalreporter.write_sep("=", "self-check: the hidden tests decide your grade", bold=True)
    write("Passing every public test is a good sign, not a guarantee of the points.")
    write(f"{'Part':<{width}} {'Points':>6}   Public tests")
    for part in parts:
        if not PARTS_FILE.with_name(f"test_{part['id']}.py").exists():
            status, colour = "no public tests" + (", feedback only" if not part["points"] else ""), {}
        else:
            status, colour = describe(results.get(part["id"]))
        write(f"{part['name']:<{width}} {part['points']:>6}   {status}", **colour)
    write(f"{'Total':<{width}} {sum(p['points'] for p in parts):>6}")
    package = sys.modules.get("numpynn")
    if package is not None:
        write(f"(tested the numpynn in {Path(package.__file__).parent})")
