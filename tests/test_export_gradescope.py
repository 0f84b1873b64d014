"""The Gradescope bundle, run the way Gradescope runs it, in a local folder.

`python -m autograder export gradescope` writes the zip; it is unzipped into
``<tmp>/autograder/source``, ``setup.sh`` runs once with AUTOGRADER_ROOT pointing there
in its ``--check`` mode (it installs nothing on the machine: without python3-venv or
bubblewrap the tests skip; it creates a plain venv in <tmp> and pip-installs the
requirements from PyPI into it, so this needs the network), then ``run_autograder`` grades submissions put in ``<tmp>/autograder/submission``.
Nothing of this test's Python environment is visible to the bundle's. ``<tmp>`` is open
to other users, as ``/`` is on Gradescope. When bubblewrap fails (a fake ``bwrap`` on PATH
fails as Docker makes it fail), a root grader jails its worker (``autograder/jail.py``).
"""
import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder import REPO, export, grade, sandbox
from autograder.assignment import load
from autograder.specs import load_cases

ASSIGNMENT = load()
CASES = load_cases(ASSIGNMENT)
APT_PYTHON = Path("/usr/bin/python3")


def clean_env(**extra):
    """The caller's environment without anything that points Python at this checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k not in {"VIRTUAL_ENV", "PIP_USER"}}
    return {**env, **extra}


def export_zip(out):
    return subprocess.run([sys.executable, "-m", "autograder", "export", "gradescope", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, env=clean_env(PYTHONPATH=str(REPO)))


def unzip_like_gradescope(archive, source):
    """Extract with the modes stored in the zip (Python's zipfile alone drops them)."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            z.extract(info, source)
            (source / info.filename).chmod((info.external_attr >> 16) & 0o777)


def runtime_present():
    if not APT_PYTHON.exists() or shutil.which("bwrap") is None:
        return False
    probe = subprocess.run([str(APT_PYTHON), "-c", "import ensurepip, venv"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def root():
    """``<tmp>/autograder`` after the export, the unzip and ``setup.sh --check``: Gradescope's
    image, built without installing anything on this machine (the venv lives in <tmp>)."""
    if not runtime_present():
        pytest.skip("the bundle needs /usr/bin/python3 with venv, and bubblewrap, installed "
                    "(setup.sh would apt-get them; a test never does: .ci/run installs them)")
    tmp = Path(tempfile.mkdtemp(prefix="numpynn-gradescope-"))   # not pytest's: closed to others
    tmp.chmod(0o755)
    archive = tmp / "autograder.zip"
    done = export_zip(archive)
    assert done.returncode == 0, done.stderr
    root = tmp / "autograder"
    unzip_like_gradescope(archive, root / "source")
    # Gradescope copies run_autograder to the root and runs both scripts as root.
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    setup = subprocess.run([str(root / "source" / "setup.sh"), "--check"], cwd=root / "source",
                           capture_output=True, text=True, timeout=900,
                           env=clean_env(AUTOGRADER_ROOT=str(root), PIP_CACHE_DIR=str(tmp / "pip-cache")))
    assert setup.returncode == 0, setup.stdout + setup.stderr
    yield root
    shutil.rmtree(tmp)


def test_setup_check_installs_nothing_and_names_what_is_missing(tmp_path):
    """Without bubblewrap on PATH, ``setup.sh --check`` stops with exit 3 and one line,
    and never calls apt-get (a stand-in on PATH records any call)."""
    source = tmp_path / "autograder" / "source"
    source.mkdir(parents=True)
    shutil.copy2(REPO / "autograder" / "gradescope" / "setup.sh", source / "setup.sh")
    tools = tmp_path / "bin"          # PATH: paste and a recording apt-get, no bwrap
    tools.mkdir()
    (tools / "paste").symlink_to(shutil.which("paste"))
    (tools / "apt-get").write_text(f"#!/bin/sh\necho called >> {tmp_path / 'apt-get-calls'}\n")
    (tools / "apt-get").chmod(0o755)
    done = subprocess.run([shutil.which("bash"), str(source / "setup.sh"), "--check"], cwd=source, capture_output=True,
                          text=True, timeout=60, env={"PATH": str(tools), "AUTOGRADER_ROOT": str(tmp_path / "autograder")})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "not installed:" in done.stderr and "bubblewrap" in done.stderr.splitlines()[-1]
    assert not (tmp_path / "apt-get-calls").exists()
    assert not (tmp_path / "autograder" / "venv").exists()


# bubblewrap as Docker's default seccomp profile and capabilities leave it.
FAILING_BWRAP = """#!/bin/sh
echo "bwrap: Creating new namespace failed: Operation not permitted" >&2
exit 1
"""


def run_autograder(root, submission, *, bwrap_fails=False, chroot_fails=False):
    """Put ``submission`` (a folder) where Gradescope puts it and grade it; with
    ``bwrap_fails``, a bwrap that fails comes first on PATH; with ``chroot_fails``, the
    grader runs without CAP_SYS_CHROOT."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.copytree(submission, root / "submission", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "results" / "results.json").unlink(missing_ok=True)
    env = clean_env(AUTOGRADER_ROOT=str(root))
    if bwrap_fails:
        fake = root.parent / "failing-bwrap"
        fake.mkdir(exist_ok=True)
        (fake / "bwrap").write_text(FAILING_BWRAP)
        (fake / "bwrap").chmod(0o755)
        env["PATH"] = f"{fake}{os.pathsep}{env.get('PATH', os.defpath)}"
    command = [str(root / "run_autograder")]
    if chroot_fails:
        command = [shutil.which("setpriv"), "--bounding-set=-sys_chroot", "--", *command]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    document = json.loads((root / "results" / "results.json").read_text())
    return done, document


def check_gradescope_format(document):
    """Gradescope's results.json with the contract's promises: every test, scores in bounds."""
    assert isinstance(document["score"], (int, float)) and isinstance(document["output"], str)
    assert [t["number"] for t in document["tests"]] == [c.number for c in CASES]
    for test, case in zip(document["tests"], CASES):
        assert test["name"] == case.title
        assert test["max_score"] == pytest.approx(case.max_score)
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
        assert test["status"] in {"passed", "failed"}
        assert test["visibility"] in {"hidden", "after_due_date", "after_published", "visible"}
        assert test["output"] and "\n" not in test["output"]
    assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]), abs=1e-3)
    for entry in document.get("leaderboard", []):
        assert set(entry) >= {"name", "value"} and isinstance(entry["value"], (int, float))


def submission_with_numpynn(tmp_path, package):
    folder = tmp_path / "upload"
    shutil.copytree(package, folder / "numpynn", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def checkout_with_a_current_release(tmp_path):
    """A checkout whose release holds the solution's given files as they are now."""
    for folder in ("solution", "release"):
        shutil.copytree(REPO / "solution" / "numpynn", tmp_path / folder / "numpynn",
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def export_args(out):
    return argparse.Namespace(target="gradescope", out=out)


# -- the bundle itself -------------------------------------------------------------------
def test_the_bundle_is_reproducible_and_laid_out_like_the_repository(tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    for out in (first, second):
        done = export_zip(out)
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as z:
        infos = z.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "requirements.txt", "fallback_results.json",
            "autograder/__init__.py", "autograder/worker.py", "autograder/frames.py",
            "autograder/programs/layer.py", "autograder/mnist_test.npz",
            "assignment/assignment.toml", "release/numpynn/__init__.py",
            "release/numpynn/mnist_subset.npz", "autograder/mnist_test.npz",
            "solution/numpynn/conv.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert modes["autograder/grade.py"] == 0o644
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_a_missing_release_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export, "REPO", tmp_path)       # a checkout without release/
    out = tmp_path / "autograder.zip"
    code = export.main(export_args(out))
    error = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert error.count("\n") == 1 and "release/numpynn/ is missing" in error


def test_an_outdated_release_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export, "REPO", checkout_with_a_current_release(tmp_path))
    given = tmp_path / "solution" / "numpynn" / "models.py"   # edited after the release was made
    given.write_text(given.read_text() + "\n# a late fix\n")
    out = tmp_path / "autograder.zip"
    code = export.main(export_args(out))
    error = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert error.count("\n") == 1 and "release/numpynn/ is older" in error and "(outdated: models.py)" in error


# -- the bundle on a Gradescope-like root ----------------------------------------------
def test_setup_makes_a_plain_venv_with_only_the_requirements(root):
    venv = root / "venv"
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import json, sys, numpy; print(json.dumps([sys.prefix, numpy.__file__, sys.path]))"],
        capture_output=True, text=True, env=clean_env(), cwd=root)
    assert probe.returncode == 0, probe.stderr
    prefix, numpy_file, path = json.loads(probe.stdout)
    assert Path(prefix) == venv and Path(numpy_file).is_relative_to(venv)
    packages = [p for p in path if p.endswith(("site-packages", "dist-packages"))]
    assert packages and all(Path(p).is_relative_to(venv) for p in packages), path
    for absent in ("pytest", "nbgrader", "matplotlib", "autograder"):
        missing = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {absent}"],
                                 capture_output=True, env=clean_env(), cwd=root)
        assert missing.returncode != 0, f"{absent} is importable in the bundle's venv"


def test_the_solution_gets_full_marks(root, tmp_path):
    done, document = run_autograder(root, submission_with_numpynn(tmp_path, REPO / "solution" / "numpynn"))
    assert done.returncode == 0, done.stdout + done.stderr
    check_gradescope_format(document)
    failed = [(t["name"], t["output"]) for t in document["tests"] if t["status"] == "failed"]
    assert failed == []
    assert document["score"] == pytest.approx(ASSIGNMENT.total_points)
    (entry,) = document["leaderboard"]
    assert entry["name"] == "MNIST test accuracy" and entry["value"] >= ASSIGNMENT.mnist.tiers[0][0]
    assert len(document["extra_data"]["mnist_loss"]) == ASSIGNMENT.mnist.epochs
    assert "Linear" in done.stdout       # the table, for the instructor's log


def test_the_untouched_release_gets_zero_and_is_sandboxed_as_at_home(root, tmp_path):
    done, document = run_autograder(root, submission_with_numpynn(tmp_path, REPO / "release" / "numpynn"))
    assert done.returncode == 0, done.stdout + done.stderr
    check_gradescope_format(document)
    assert document["score"] == 0
    assert all(t["output"].startswith("NotImplementedError") for t in document["tests"]), document["tests"]
    # The bundle's venv must not cost the sandbox: it runs wherever the grader here does.
    at_home = grade.grade(REPO / "release", assignment=ASSIGNMENT)
    assert document["extra_data"]["sandboxed"] == at_home["extra_data"]["sandboxed"]


def test_a_syntax_error_costs_its_parts_and_the_results_stay_complete(root, tmp_path):
    folder = submission_with_numpynn(tmp_path, REPO / "solution" / "numpynn")
    linear = folder / "numpynn" / "linear.py"
    linear.write_text(linear.read_text() + "\ndef broken(:\n")
    done, document = run_autograder(root, folder)
    assert done.returncode == 0, done.stdout + done.stderr
    check_gradescope_format(document)
    by_part = {c.part: [] for c in CASES}
    for case, test in zip(CASES, document["tests"]):
        by_part[case.part].append(test)
    assert all(t["score"] == 0 and "SyntaxError" in t["output"] for t in by_part["linear"])
    assert all(t["score"] == 0 for t in by_part["mnist"])       # the model needs Linear
    assert all(t["status"] == "passed" for t in by_part["conv2d"])
    assert 0 < document["score"] < ASSIGNMENT.total_points


def test_without_its_python_the_bundle_still_leaves_complete_results(root, tmp_path):
    bare = tmp_path / "autograder"                  # the bundle, but setup.sh never ran
    shutil.copytree(root / "source", bare / "source")
    shutil.copy2(root / "run_autograder", bare / "run_autograder")
    done, document = run_autograder(bare, submission_with_numpynn(tmp_path, REPO / "solution" / "numpynn"))
    assert done.returncode != 0
    check_gradescope_format(document)
    assert document["score"] == 0
    assert all("did not finish" in t["output"] for t in document["tests"])


def test_without_the_bundle_the_script_still_writes_a_results_file(tmp_path):
    bare = tmp_path / "autograder"
    bare.mkdir()
    shutil.copy2(export.TEMPLATES / "run_autograder", bare / "run_autograder")
    (bare / "submission").mkdir()
    done = subprocess.run([str(bare / "run_autograder")], cwd=bare, capture_output=True, text=True,
                          env=clean_env(AUTOGRADER_ROOT=str(bare)))
    assert done.returncode != 0
    document = json.loads((bare / "results" / "results.json").read_text())
    assert document["score"] == 0 and "please tell your instructor" in document["output"]


# -- without bubblewrap, as on Gradescope: the worker is jailed -------------------------------
needs_root = pytest.mark.skipif(
    sandbox.jail_problem() is not None,
    reason=f"Gradescope's grader runs as root, which jails the worker ({sandbox.jail_problem()})")
SECRETS = ("solution", "autograder/mnist_test.npz", "autograder/cases")

# Appended to the release's activations.py: read the grader's hidden files when imported,
# print what it got into the feedback, and pass ReLU with the stolen solution's code.
ATTACK = r'''

import os as _os
import sys as _sys

_AUTOGRADER = "__SOURCE__/autograder"     # where the bundle is: Gradescope's layout is public
_TARGETS = {"digits": _os.path.join(_AUTOGRADER, "mnist_test.npz"),
            "cases": _os.path.join(_AUTOGRADER, "cases", "relu.toml"),
            "solution": _os.path.join(_os.path.dirname(_AUTOGRADER), "solution", "numpynn",
                                      "activations.py")}


def _steal(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as error:
        return type(error).__name__


_STOLEN = {name: _steal(path) for name, path in _TARGETS.items()}
print("STOLEN", sorted((name, got if isinstance(got, str) else f"{len(got)} bytes")
                       for name, got in _STOLEN.items()), flush=True)

if isinstance(_STOLEN["solution"], bytes):
    _solution = {"__name__": __name__, "__package__": __package__}
    exec(compile(_STOLEN["solution"], "stolen.py", "exec"), _solution)
    ReLU = _solution["ReLU"]
else:
    class ReLU(Module):
        def forward(self, x):
            raise NotImplementedError("the solution could not be read")
'''


def test_setup_hides_the_secrets_from_other_users(root):
    source = root / "source"
    for secret in SECRETS:
        for path in [source / secret, *(source / secret).rglob("*")]:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is open to others"
    # What the worker needs stays readable by others.
    for needed in (source / "autograder" / "worker.py", root / "venv" / "bin" / "python",
                   source / "release" / "numpynn" / "module.py"):
        assert needed.stat().st_mode & stat.S_IROTH, f"{needed} is closed to others"


def relu_tests(document):
    return [t for case, t in zip(CASES, document["tests"]) if case.part == "relu"]


@needs_root
def test_without_bubblewrap_the_solution_gets_full_marks_in_the_jail(root, tmp_path):
    solution = submission_with_numpynn(tmp_path, REPO / "solution" / "numpynn")
    done, document = run_autograder(root, solution, bwrap_fails=True)
    assert done.returncode == 0, done.stdout + done.stderr
    check_gradescope_format(document)
    assert document["output"].startswith(
        "Graded WITHOUT bubblewrap (bubblewrap cannot run here: bwrap: Creating new namespace failed: "
        "Operation not permitted), in a chroot jail as a user of its own (uid ")
    assert document["extra_data"]["sandboxed"] is False
    assert document["extra_data"]["user"].startswith("uid ")
    failed = [(t["name"], t["output"]) for t in document["tests"] if t["status"] == "failed"]
    assert failed == []
    assert document["score"] == pytest.approx(ASSIGNMENT.total_points)


@needs_root
def test_without_bubblewrap_an_attack_on_the_hidden_files_reads_nothing(root, tmp_path):
    folder = submission_with_numpynn(tmp_path, REPO / "release" / "numpynn")
    activations = folder / "numpynn" / "activations.py"
    activations.write_text(activations.read_text() + ATTACK.replace("__SOURCE__", str(root / "source")))

    done, document = run_autograder(root, folder, bwrap_fails=True)
    assert done.returncode == 0, done.stdout + done.stderr
    check_gradescope_format(document)
    assert document["extra_data"]["user"].startswith("uid ")
    assert ("STOLEN [('cases', 'FileNotFoundError'), ('digits', 'FileNotFoundError'), "
            "('solution', 'FileNotFoundError')]") in document["output"]
    assert all(t["output"].startswith("NotImplementedError: the solution could not be read")
               for t in relu_tests(document)), relu_tests(document)
    assert document["score"] == 0

    # The control: when root cannot chroot, the worker runs as root, and the same attack
    # reads everything and passes ReLU with the stolen code.
    done, document = run_autograder(root, folder, bwrap_fails=True, chroot_fails=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert document["extra_data"]["user"] == "root"
    assert "), as root (it cannot be jailed: root here lacks CAP_SYS_CHROOT" in document["output"]
    assert "STOLEN [('cases', '" in document["output"] and "PermissionError" not in document["output"]
    assert [t["status"] for t in relu_tests(document)] == ["passed"] * len(relu_tests(document))
