"""The checks that need a Python of their own: importing the release, running the public tests.

Each runs in a child process started by ``autograder.processes`` (the one module that
starts processes), with ``PYTHONPATH`` putting the package under test first so that it
shadows any installed ``numpynn``. Outcomes come back as JSON (``pytest_outcomes``),
never by reading pytest's human output.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import REPO, processes
from .errors import ReleaseError

TEST_TIMEOUT = 600    # seconds for one run of the public tests
IMPORT_TIMEOUT = 120  # seconds to import the release

IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = sorted(m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + "."))
for name in names:
    importlib.import_module(name)
print(json.dumps({"file": package.__file__, "modules": names}))
"""


def child_env(*pythonpath: Path) -> dict[str, str]:
    """This process's environment with ``PYTHONPATH`` set to exactly ``pythonpath``.

    No bytecode is written (the release folder must hold nothing but the release), and
    pytest plugins installed on this machine are not loaded: students will not have them.
    """
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"}}
    env.update(PYTHONPATH=os.pathsep.join(str(path) for path in pythonpath),
               PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", MPLBACKEND="Agg")
    # The checks run side by side, and the tests' small matrices gain nothing from BLAS
    # threads: one thread each costs a third less CPU.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def check_import(package_root: Path, package: str, label: str) -> str:
    """Import ``package`` and every module in it from ``package_root``, in a fresh Python.

    Returns a summary; raises ``ReleaseError`` with the child's last error line.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="release-import-") as cwd:
        try:
            done = processes.run_python(["-c", IMPORT_EVERY_MODULE, package], cwd=cwd,
                                      env=child_env(package_root), timeout=IMPORT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ReleaseError(f"import {package} from {label} took longer than {IMPORT_TIMEOUT} s") from None
    if done.returncode != 0:
        raise ReleaseError(f"import {package} from {label} fails: {_last_line(done.stderr)}")
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    if not _is_inside(imported["file"], package_root):
        raise ReleaseError(f"import {package} found {imported['file']}, not the copy in {label}")
    return (f"{len(imported['modules']) + 1} modules of {package} import from {label} "
            f"({time.perf_counter() - start:.1f} s)")


# The public tests of the release can only run once its files are stripped, which waits
# for nbgrader's import; starting Python, numpy and pytest takes a third of their run. So
# their child starts at once, imports those, and waits for its gate (``Gate``) to open.
WAIT_THEN_PYTEST = """
import os, sys, time
import numpy, pytest  # the slow part of starting, done while the release is being built
gate, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while not os.path.exists(gate):
    if time.monotonic() > deadline:
        sys.exit(f"the release was not built within {sys.argv[2]} s")
    time.sleep(0.005)
with open(gate, encoding="utf-8") as f:
    if f.read() != "go":
        sys.exit(0)  # the build failed: there is nothing to test
sys.exit(pytest.main(sys.argv[3:]))
"""
GATE_TIMEOUT = 120    # seconds the waiting child gives the build


class Gate:
    """A file that tells a waiting child to go (the files are ready) or to stop.

    ``with Gate() as gate:`` ... ``gate.open()`` or ``gate.open("stop")``. Leave the block
    only once the child has finished: leaving removes the file.
    """

    def __enter__(self) -> "Gate":
        self._folder = tempfile.TemporaryDirectory(prefix="release-gate-")
        self.path = Path(self._folder.name) / "gate"
        self.opened_at: float | None = None
        return self

    def open(self, word: str = "go") -> None:
        if self.opened_at is None:
            self.opened_at = time.perf_counter()
            temp = self.path.with_suffix(".tmp")
            temp.write_text(word, encoding="utf-8")
            temp.replace(self.path)  # whole, never half-written

    def __exit__(self, *exc) -> None:
        self.open("stop")
        self._folder.cleanup()


@dataclass
class TestRun:
    """What one pytest run of the public tests did, read from the outcomes JSON."""

    label: str                 # where the package came from: "release/" or "solution/numpynn"
    seconds: float
    exitstatus: int
    package_file: str | None   # where the tests imported the package from
    tests: dict[str, list[dict]] = field(default_factory=dict)  # nodeid -> phase records
    collect_errors: list[dict] = field(default_factory=list)
    stderr: str = ""

    def failures(self, nodeid: str) -> list[dict]:
        return [r for r in self.tests[nodeid] if r["outcome"] == "failed"]

    def passed(self, nodeid: str) -> bool:
        return all(r["outcome"] == "passed" for r in self.tests[nodeid])


def run_public_tests(tests_dir: Path, ini: Path, package_root: Path, package: str, label: str,
                     *, explain_asserts: bool = True, gate: Gate | None = None) -> TestRun:
    """Run pytest on ``tests_dir`` with ``package`` imported from ``package_root``.

    ``ini`` is the release's pyproject.toml: its pytest settings, and its folder is
    pytest's root, so nothing of the surrounding repository (conftest, settings) leaks in.
    ``explain_asserts=False`` skips pytest's assertion rewriting (0.1 s of every run) where
    no failure message is read: on the untouched release every test must stop at a stub.
    With a ``gate``, the child starts now and runs pytest once the gate opens.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="release-tests-") as scratch:
        report = Path(scratch) / "outcomes.json"
        # --tb=no: the outcomes file has what the check needs, and formatting a traceback
        # for each of the 100+ stubbed tests would double the run's time.
        args = ["-q", "--tb=no", "-p", "no:cacheprovider",
                "-p", "autograder.release.pytest_outcomes",
                "--outcomes-json", str(report), "--outcomes-package", package,
                *([] if explain_asserts else ["--assert=plain"]),
                "-c", str(ini), "--rootdir", str(ini.parent), str(tests_dir)]
        args = (["-c", WAIT_THEN_PYTEST, str(gate.path), str(GATE_TIMEOUT), *args] if gate
                else ["-m", "pytest", *args])
        try:
            done = processes.run_python(args, cwd=ini.parent, timeout=TEST_TIMEOUT,
                                      env=child_env(package_root, REPO))
        except subprocess.TimeoutExpired:
            raise ReleaseError(f"the public tests on {label} did not finish within {TEST_TIMEOUT} s") from None
        if not report.is_file():
            raise ReleaseError(f"pytest on {label} stopped before reporting: "
                               f"{_last_line(done.stderr) or _last_line(done.stdout)}")
        data = json.loads(report.read_text(encoding="utf-8"))
    began = gate.opened_at if gate is not None and gate.opened_at is not None else start
    run = TestRun(label, time.perf_counter() - began, data["exitstatus"], data["package_file"],
                  stderr=done.stderr)
    for record in data["records"]:
        if record["when"] == "collect":
            run.collect_errors.append(record)
        else:
            run.tests.setdefault(record["nodeid"], []).append(record)
    return run


def release_test_problems(run: TestRun, package_root: Path) -> tuple[list[str], list[str]]:
    """Problems and warnings of the public tests on the untouched release.

    Every failure must be a NotImplementedError from a stub: an ImportError,
    NameError or AttributeError means the release itself is broken. A test that
    passes on the untouched release is only a warning: it does not test student code.
    """
    problems = _common_problems(run, package_root)
    warnings = []
    for nodeid in sorted(run.tests):
        for record in run.failures(nodeid):
            if not record.get("not_implemented"):
                problems.append(f"{nodeid} fails on the untouched release with "
                                f"{record.get('message') or record.get('exception')} during {record['when']}, "
                                f"not with NotImplementedError")
        if run.passed(nodeid):
            warnings.append(f"{nodeid} passes on the untouched release: it tests no student code")
        elif any(r["outcome"] == "skipped" for r in run.tests[nodeid]):
            warnings.append(f"{nodeid} is skipped on the untouched release")
    return problems, warnings


def solution_test_problems(run: TestRun, package_root: Path) -> list[str]:
    """Problems of the public tests on the solution: every test must pass."""
    problems = _common_problems(run, package_root)
    for nodeid in sorted(run.tests):
        if not run.passed(nodeid):
            bad = next((r for r in run.tests[nodeid] if r["outcome"] != "passed"))
            detail = bad.get("message") or bad["outcome"]
            problems.append(f"{nodeid} does not pass on the solution: {bad['outcome']} during "
                            f"{bad['when']}: {detail}")
    return problems


def _common_problems(run: TestRun, package_root: Path) -> list[str]:
    """Problems any run can have: uncollectable modules, no tests, the wrong package."""
    problems = [f"{r['nodeid']} cannot be collected with {run.label}: {r['message']}"
                for r in run.collect_errors]
    if not run.tests and not problems:
        problems.append(f"pytest found no public tests to run with {run.label} "
                        f"(exit status {run.exitstatus}: {_last_line(run.stderr)})")
    elif run.tests and not _is_inside(run.package_file, package_root):
        problems.append(f"the public tests imported their package from {run.package_file}, "
                        f"not from {run.label}")
    return problems


def _is_inside(path: str | None, folder: Path) -> bool:
    return path is not None and Path(path).resolve().is_relative_to(folder.resolve())


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
