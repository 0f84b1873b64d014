"""Without bubblewrap, students stay apart: a class graded two at a time, with a thief.

A root grader without bubblewrap jails each worker (``autograder/jail.py``). The thief's
submission is the release (every layer a stub) with an attack in ``activations.py``:
while a classmate is being graded beside it, it looks for their cell, tries to read
their code and the solution wherever a grader keeps it, and tries to kill every process
it can name. It must score 0, see nothing, kill nothing; the victim keeps full marks.
Run by any other user, the grader refuses to grade two at a time without bubblewrap.
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import REPO, grade_all, sandbox
from autograder.assignment import load

FULL = load()
QUICK = dataclasses.replace(FULL, parts=tuple(p for p in FULL.parts if p.id != "mnist"))

needs_jail = pytest.mark.skipif(
    sandbox.jail_problem() is not None,
    reason=f"only a root grader jails its workers ({sandbox.jail_problem()})")

THIEF = r'''

import glob as _glob
import os as _os
import time as _time


def _steal():
    own = _os.path.abspath(__file__).split("/")[2]          # /cells/<uid>/root/numpynn/...
    others, read, killed = set(), [], 0
    deadline = _time.monotonic() + 20
    while not others and _time.monotonic() < deadline:     # wait for a classmate's cell
        others = set(_os.listdir("/cells")) - {own}
        _time.sleep(0.05)
    targets = ["__REPO__/solution/numpynn/activations.py", *_glob.glob("/tmp/*/numpynn/*.py"),
               *_glob.glob("/tmp/*/*/numpynn/*.py"),
               *[f"/cells/{c}/root/numpynn/{name}.py" for c in others
                 for name in ("activations", "linear", "conv")]]
    for path in targets:
        try:
            with open(path) as f:
                read.append((path, f.read()))
        except OSError:
            pass
    for pid in set(range(2, 1 << 16)) - {_os.getpid()}:
        try:
            _os.kill(pid, 9)
            killed += 1
        except OSError:
            pass
    return others, read, killed


_others, _read, _killed = _steal()
print(f"THIEF saw {len(_others)} other cell(s), read {len(_read)} file(s), killed {_killed}",
      flush=True)
for _path, _code in _read:
    if "class ReLU" in _code and "NotImplementedError" not in _code.split("class ReLU")[1][:400]:
        _scope = {"__name__": __name__, "__package__": __package__}
        exec(compile(_code, _path, "exec"), _scope)
        ReLU = _scope["ReLU"]
'''


def package(source: Path, dest: Path) -> Path:
    shutil.copytree(source / "numpynn", dest / "numpynn", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@needs_jail
def test_a_thief_graded_beside_a_classmate_without_bubblewrap_gets_nothing(tmp_path):
    submissions = tmp_path / "submissions"
    package(REPO / "solution", submissions / "victim")
    thief = package(REPO / "release", submissions / "thief")
    activations = thief / "numpynn" / "activations.py"
    activations.write_text(activations.read_text() + THIEF.replace("__REPO__", str(REPO)))

    summary = grade_all.grade_all(submissions, tmp_path / "out", jobs=2, sandboxed=False,
                                  assignment=QUICK, progress=False)
    assert summary.failed == []
    victim = json.loads((tmp_path / "out" / "victim" / "results.json").read_text())
    stolen = json.loads((tmp_path / "out" / "thief" / "results.json").read_text())
    assert victim["extra_data"]["user"].startswith("uid ")
    assert victim["score"] == pytest.approx(QUICK.total_points)
    assert [t["name"] for t in victim["tests"] if t["status"] == "failed"] == []
    assert stolen["score"] == 0
    # It ran beside its classmate (else the test proves nothing), and got nothing from it.
    line = next(l for l in stolen["output"].splitlines() if l.startswith("THIEF"))
    assert line.startswith("THIEF saw 1 other cell(s), read 0 file(s), killed "), line
    assert line.endswith(" killed 0"), line


# Thirty children spinning in sessions of their own, while the thief's worker waits.
HOG = r'''

import os as _os
import time as _time


def _hog():
    for _ in range(30):
        try:
            pid = _os.fork()
        except OSError:
            return                     # no cgroup here: not even one child
        if pid == 0:
            _os.setsid()
            while True:
                pass
    _time.sleep(25)                    # while the classmate trains


_hog()
'''
MNIST_ONLY = dataclasses.replace(FULL, parts=(FULL.part("mnist"),))


@pytest.mark.parametrize("sandboxed", [
    pytest.param(True, id="bubblewrap", marks=pytest.mark.skipif(
        sandbox.unavailable_reason() is not None, reason=str(sandbox.unavailable_reason()))),
    pytest.param(False, id="jail", marks=needs_jail)])
def test_a_thiefs_spinning_children_cost_a_classmate_nothing(tmp_path, sandboxed):
    submissions = tmp_path / "submissions"
    package(REPO / "solution", submissions / "victim")
    thief = package(REPO / "release", submissions / "thief")
    activations = thief / "numpynn" / "activations.py"     # imported with the package
    activations.write_text(activations.read_text() + HOG)

    summary = grade_all.grade_all(submissions, tmp_path / "out", jobs=2, sandboxed=sandboxed,
                                  assignment=MNIST_ONLY, progress=False)
    assert summary.failed == []
    victim = json.loads((tmp_path / "out" / "victim" / "results.json").read_text())
    assert victim["score"] == pytest.approx(MNIST_ONLY.total_points), victim["tests"][0]["output"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root, to run the grader as another user (setpriv)")
def test_a_grader_that_cannot_keep_workers_apart_refuses_two_at_a_time():
    nobody = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    reachable = subprocess.run(nobody + [sys.executable, "-c", "import autograder, numpy"],
                               cwd=REPO, capture_output=True, text=True)
    if reachable.returncode != 0:
        pytest.skip(f"the user nobody cannot run this checkout's Python: {reachable.stderr[-200:]}")
    folder = Path(tempfile.mkdtemp(prefix="numpynn-as-nobody-"))    # open to nobody
    try:
        package(REPO / "solution", folder / "submissions" / "alice")
        subprocess.run(["chmod", "-R", "a+rwX", str(folder)], check=True)
        done = subprocess.run(nobody + [sys.executable, "-m", "autograder", "grade-all",
                                        str(folder / "submissions"), "--out", str(folder / "out"),
                                        "--no-sandbox", "--jobs", "2"],
                              cwd=REPO, capture_output=True, text=True, timeout=120,
                              env={"PATH": os.environ["PATH"], "HOME": str(folder)})
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        "grade-all: refusing --jobs 2: without bubblewrap (--no-sandbox) and without a jail "
        "(only root can jail a worker), every student's worker runs as your own user, able "
        "to read and kill the others'. Grade with --jobs 1, install bubblewrap, or run the "
        "grader as root")
