"""Grading end to end: the solution, the release, a corpus of bugs and of attacks.

Every submission here is graded by the real grader: real worker processes (sandboxed
when bubblewrap works), inputs drawn afresh and the committed release.
"""
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import REPO, cgroup, grade, results
from autograder.assignment import load
from autograder.specs import load_cases

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).parent / "corpus"
ASSIGNMENT = load()
WITHOUT_MNIST = dataclasses.replace(ASSIGNMENT, parts=tuple(
    p for p in ASSIGNMENT.parts if p.id != "mnist"))
ALL_TESTS = len(load_cases(ASSIGNMENT))


def corpus(name):
    entries = tomllib.loads((CORPUS / name).read_text())["submission"]
    return [pytest.param(e, id=e["name"]) for e in entries]


def scores_by_part(document, assignment):
    by_number = {str(p.number): p.id for p in assignment.parts}
    totals = {p.id: 0.0 for p in assignment.parts}
    for test in document["tests"]:
        totals[by_number[test["number"].split(".")[0]]] += test["score"]
    return totals


def check_format(document, assignment=ASSIGNMENT):
    """The contract's results.json: every test present, scores within bounds."""
    assert set(document) >= {"score", "execution_time", "output", "tests", "leaderboard"}
    assert len(document["tests"]) == len(load_cases(assignment))
    for test in document["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
        assert test["output"] and "\n" not in test["output"]
    assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]), abs=1e-3)
    json.dumps(document)


def solution_with(tmp_path, file, old, new):
    folder = tmp_path / "submission"
    shutil.copytree(REPO / "solution" / "numpynn", folder / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "numpynn" / file
    text = path.read_text()
    assert old in text, f"the corpus edit no longer matches {file}: {old!r}"
    path.write_text(text.replace(old, new, 1))
    return folder


def release_with(tmp_path, file, code, mid=False):
    folder = tmp_path / "submission"
    shutil.copytree(REPO / "release" / "numpynn", folder / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "numpynn" / file
    text = path.read_text()
    if mid:   # run the attack inside Linear.forward, in the middle of a case
        marker = "    def forward(self, x):\n"
        body = "".join(f"        {line}\n" for line in code.strip().splitlines())
        text = text.replace(marker, marker + body, 1)
    else:
        text += "\n" + code.strip() + "\n"
    path.write_text(text)
    return folder


def test_solution_gets_full_marks_and_a_leaderboard_entry():
    document = grade.grade(REPO / "solution", assignment=ASSIGNMENT)
    check_format(document)
    failed = [(t["name"], t["output"]) for t in document["tests"] if t["status"] == "failed"]
    assert failed == []
    assert document["score"] == pytest.approx(ASSIGNMENT.total_points)
    (entry,) = document["leaderboard"]
    assert entry["name"] == "MNIST test accuracy" and entry["value"] >= ASSIGNMENT.mnist.tiers[0][0]


def test_untouched_release_gets_zero_with_a_reason_on_every_test():
    document = grade.grade(REPO / "release", assignment=ASSIGNMENT)
    check_format(document)
    assert document["score"] == 0
    for test in document["tests"]:
        assert test["output"].startswith("NotImplementedError: ") and "not written yet" in test["output"], test


@pytest.mark.parametrize("bug", corpus("bugs.toml"))
def test_a_bug_loses_points_exactly_in_the_parts_it_breaks(tmp_path, bug):
    old, new = bug["replace"]
    document = grade.grade(solution_with(tmp_path, bug["file"], old, new), assignment=WITHOUT_MNIST)
    check_format(document, WITHOUT_MNIST)
    totals = scores_by_part(document, WITHOUT_MNIST)
    for part in WITHOUT_MNIST.parts:
        if part.id in bug["loses"]:
            assert totals[part.id] < part.points, f"{part.id} should lose points"
        else:
            assert totals[part.id] == pytest.approx(part.points), (
                f"{part.id} should keep full marks",
                [t["output"] for t in document["tests"] if t["status"] == "failed"])
    for test in document["tests"]:
        if test["status"] == "failed":
            assert len(test["output"]) < 400


@pytest.mark.parametrize("attack", corpus("attacks.toml"))
def test_an_attack_gains_nothing(tmp_path, attack):
    folder = release_with(tmp_path, attack["file"], attack["code"], attack.get("mid", False))
    document = grade.grade(folder, assignment=WITHOUT_MNIST)
    check_format(document, WITHOUT_MNIST)
    assert document["score"] == 0, [t for t in document["tests"] if t["score"]]


# Run first in Linear.forward by each entry of corpus/replies.toml: the worker's channel,
# and a way to write raw frames on it.
REPLY_PRELUDE = """
import gc, json, os, struct
CHANNEL = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
def raw(head, tail=b""):
    os.write(CHANNEL.replies, struct.pack(">I", len(head)) + head + tail)
"""
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def strings(value):
    """Every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def check_safe(document):
    """Strict JSON, small, and nothing in it that a terminal or a page would act on."""
    text = json.dumps(document, allow_nan=False)
    assert len(text.encode("utf-8")) < 2 << 20
    for string in strings(document):
        assert not CONTROL.search(string), repr(string)


@pytest.mark.parametrize("reply", corpus("replies.toml"))
def test_a_hostile_reply_costs_only_its_cases(tmp_path, reply):
    code = "".join(f"        {line}\n" for line in (REPLY_PRELUDE + reply["code"]).strip().splitlines())
    folder = solution_with(tmp_path, "linear.py", "    def forward(self, x):\n",
                           "    def forward(self, x):\n" + code)
    document = grade.grade(folder, assignment=WITHOUT_MNIST)
    check_format(document, WITHOUT_MNIST)
    check_safe(document)
    totals = scores_by_part(document, WITHOUT_MNIST)
    assert {part for part, score in totals.items() if score < WITHOUT_MNIST.part(part).points - 1e-9} == {"linear"}
    linear = [t["output"] for t in document["tests"] if t["name"].startswith("Linear")]
    reasons = reply["reason"] if isinstance(reply["reason"], list) else [reply["reason"]]
    assert linear and all(any(r in line for r in reasons) for line in linear), linear


def test_the_terminal_and_the_files_get_no_control_character(tmp_path):
    escapes = next(e for e in corpus("replies.toml") if "printed" in e.id).values[0]["code"]
    code = escapes.replace('raw(b"[]")', 'raise ValueError("\\ud800 \\x1b]0;pwned\\x07\\x1b[2K")')
    body = "".join(f"        {line}\n" for line in code.strip().splitlines())
    folder = solution_with(tmp_path, "linear.py", "    def forward(self, x):\n",
                           "    def forward(self, x):\n" + body)
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--results",
                           str(out), "--html"], capture_output=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr
    assert b"pwned" in done.stdout                      # the message is shown, made inert
    for stream in (done.stdout, done.stderr, out.read_bytes(), (tmp_path / "feedback.html").read_bytes()):
        text = stream.decode("utf-8")                   # strict: no lone surrogate either
        assert not CONTROL.search(text.replace("\n", "").replace("\t", "")), repr(
            CONTROL.search(text.replace("\n", "")))


MEMORY_TREE = """
import os, time
if os.fork() == 0:            # 300 MB in a child, 900 MB in the worker: each within 1024 MB
    _held = np.ones(300 << 17)
    time.sleep(5)
    os._exit(0)
time.sleep(0.5)
_held = np.ones(900 << 17)
"""


def test_processes_that_together_pass_memory_mb_cost_their_cases(tmp_path):
    body = "".join(f"        {line}\n" for line in MEMORY_TREE.strip().splitlines())
    folder = solution_with(tmp_path, "linear.py", "    def forward(self, x):\n",
                           "    def forward(self, x):\n" + body)
    only_linear = dataclasses.replace(ASSIGNMENT, parts=(ASSIGNMENT.part("linear"),))
    document = grade.grade(folder, assignment=only_linear)
    check_format(document, only_linear)
    if not document["extra_data"]["sandboxed"] and os.geteuid() != 0:
        # Unsandboxed as the grader's own user: no limit can single the worker's processes out.
        assert document["extra_data"]["memory_limit"].endswith("no process limit for the grader's own user)")
        return
    with_cgroup = cgroup.available()
    expected = ("memory limit exceeded: your code's processes used over 1024 MB together"
                if with_cgroup else "BlockingIOError")        # no cgroup: no second process
    assert all(t["output"].startswith(expected) for t in document["tests"]), document["tests"]
    assert document["score"] == 0
    assert ("(no cgroup here)" not in document["extra_data"]["memory_limit"]) == with_cgroup


# What a hostile student may patch, from their own module, in the worker that imports it.
TAMPERS = {
    "none": "",
    # The one line that forged the old worker-side check (its largest in-place change).
    "the old in-place check returns 0": "programs.base.changed = lambda given: _np.array(0.0)",
    "the worker's comparisons always agree": (
        "programs.compare.check_array = lambda *args: None\n"
        "programs.compare.judge_arrays = lambda *args, **kwargs: (1.0, 'passed')"),
}
TAMPER = """
import numpy as _np
try:
    import programs.base, programs.compare     # the worker's own modules
except ImportError:
    pass                                       # not in the worker
else:
    {code}
    print("tampered")
"""


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_layer_that_changes_its_input_in_place_loses_its_cases_whatever_it_patches(tmp_path, tamper):
    folder = solution_with(tmp_path, "activations.py",
                           "out = np.where(x > 0, x, x * self.negative_slope)",
                           "x[x <= 0] *= self.negative_slope\n        out = x")
    if TAMPERS[tamper]:
        code = TAMPER.format(code=TAMPERS[tamper].replace("\n", "\n    "))
        with open(folder / "numpynn" / "activations.py", "a") as f:
            f.write(code)
    leakyrelu = dataclasses.replace(ASSIGNMENT, parts=tuple(
        p for p in ASSIGNMENT.parts if p.id == "leakyrelu"))
    document = grade.grade(folder, assignment=leakyrelu)
    assert ("tampered" in document["output"]) == bool(TAMPERS[tamper])
    assert document["score"] == 0
    for test in document["tests"]:
        assert test["output"] == ("your code changed an input array in place (a second call on "
                                  "the same array gave a different result; copy before modifying)")


def test_folder_names_inside_a_submission_reach_no_message_raw(tmp_path):
    # Two numpynn/ folders, one under a name made of escapes: the refusal quotes both.
    for parent in ("\x1b]0;PWNED\x07\x1b[2J\u202eevil", "b"):
        shutil.copytree(REPO / "release" / "numpynn", tmp_path / "sub" / parent / "numpynn")
    document = grade.grade(tmp_path / "sub", assignment=WITHOUT_MNIST)
    check_format(document, WITHOUT_MNIST)
    check_safe(document)
    assert "found 2 numpynn/ folders" in document["tests"][0]["output"], document["tests"][0]


def test_a_loop_implementation_gets_full_marks_on_every_layer():
    document = grade.grade(Path(__file__).parent / "submissions" / "loops", assignment=WITHOUT_MNIST)
    failed = [(t["name"], t["output"]) for t in document["tests"] if t["status"] == "failed"
              and t["max_score"] > 0]
    assert failed == []


def test_a_zip_one_folder_down_is_found(tmp_path):
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (REPO / "release" / "numpynn").rglob("*.py"):
            z.write(path, f"my-homework/numpynn/{path.name}")
    document = grade.grade(archive, assignment=WITHOUT_MNIST)
    assert all(t["output"].startswith("NotImplementedError") for t in document["tests"])


@pytest.mark.parametrize("content, reason", [
    (b"PK\x03\x04 this is not really a zip", "not a folder or a readable .zip"),
    (b"", "not a folder or a readable .zip"),
])
def test_a_corrupt_zip_still_gets_a_complete_results_file(tmp_path, content, reason):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(content)
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(archive),
                           "--results", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    check_format(document)
    assert document["score"] == 0
    assert all(reason in t["output"] for t in document["tests"])


def test_no_package_in_the_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    document = grade.grade(tmp_path, assignment=WITHOUT_MNIST)
    assert document["score"] == 0
    assert "no numpynn/ folder found" in document["tests"][0]["output"]


def test_the_command_line_writes_results_and_a_table(tmp_path):
    out = tmp_path / "out" / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(REPO / "release"),
                           "--results", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "Linear" in done.stdout and "0.00/100.00" in done.stdout
    check_format(json.loads(out.read_text()))


def test_the_table_has_one_row_per_part():
    document = grade.grade(REPO / "release", assignment=WITHOUT_MNIST)
    text = results.table(document, WITHOUT_MNIST.parts)
    for part in WITHOUT_MNIST.parts:
        assert part.name in text


LOOP_OVER_OUTPUTS = """out = np.empty((n, self.out_channels, ho, wo), dtype=x.dtype)
        for b in range(n):
            for o in range(self.out_channels):
                for r in range(ho):
                    for q in range(wo):
                        window = xp[b, :, r * self.stride[0]:r * self.stride[0] + kh,
                                    q * self.stride[1]:q * self.stride[1] + kw]
                        out[b, o, r, q] = np.sum(window * self.weight.data[o])"""


def test_a_pixel_loop_convolution_is_told_to_vectorise_not_timed_out(tmp_path):
    # Correct, but one Python-level dot product per output element, as students write it.
    folder = solution_with(tmp_path, "conv.py",
                           "out = self.weight.data.reshape(self.out_channels, -1) @ cols",
                           LOOP_OVER_OUTPUTS)
    started = time.monotonic()
    document = grade.grade(folder, assignment=ASSIGNMENT)
    (mnist,) = [t for t in document["tests"] if t["name"].startswith("MNIST")]
    assert mnist["score"] == 0
    assert "too slow to train" in mnist["output"] and "vectorise" in mnist["output"], mnist
    assert "Conv2d" in mnist["output"] and "time limit" not in mnist["output"]
    assert time.monotonic() - started < ASSIGNMENT.limits.mnist_seconds / 4
    conv = [t for t in document["tests"] if t["name"].startswith("Conv2d:")]
    assert all(t["status"] == "passed" for t in conv), conv   # correct, only slow


def graded_parts(document):
    # The speed feedback (0 points) reports a measured time, which varies by nature.
    return [t for t in document["tests"] if not t["name"].startswith("Conv2d speed")]


def test_the_same_seed_gives_the_same_tests_scores_and_messages(tmp_path):
    folder = solution_with(tmp_path, "batchnorm.py", "self.momentum * var * (m / (m - 1))",
                           "self.momentum * var")
    runs = [grade.grade(folder, assignment=WITHOUT_MNIST, seed=12345) for _ in range(3)]
    assert [r["extra_data"]["seed"] for r in runs] == [12345] * 3
    assert "(seed 12345)" in runs[0]["output"].splitlines()[0]
    for document in runs[1:]:
        assert graded_parts(document) == graded_parts(runs[0])
        assert document["score"] == runs[0]["score"]


def test_every_plain_grading_draws_fresh_hidden_inputs(tmp_path):
    # A wrong running variance: the message quotes values drawn from the seed.
    folder = solution_with(tmp_path, "batchnorm.py", "self.momentum * var * (m / (m - 1))",
                           "self.momentum * var")
    first, second = (grade.grade(folder, assignment=WITHOUT_MNIST) for _ in range(2))
    assert first["extra_data"]["seed"] != second["extra_data"]["seed"]
    assert first["score"] == second["score"]        # the same bug, the same points
    messages = [[t["output"] for t in graded_parts(d) if t["status"] == "failed"] for d in (first, second)]
    assert messages[0] and messages[0] != messages[1]


def test_what_the_student_prints_is_kept_apart_and_truncated(tmp_path):
    folder = release_with(tmp_path, "linear.py",
                          'print("hello from forward")\nprint("x" * 200_000)', mid=True)
    document = grade.grade(folder, assignment=WITHOUT_MNIST)
    assert document["score"] == 0
    assert "hello from forward" in document["output"]
    assert "more bytes of output dropped" in document["output"]
    assert len(document["output"]) < 2 * ASSIGNMENT.limits.output_kb * 1024


OVERSIZED = r'''
import json, resource, sys
from autograder import grade
from autograder.assignment import load
import dataclasses
full = load()
quick = dataclasses.replace(full, parts=tuple(p for p in full.parts if p.id in ("linear", "relu")))
document = grade.grade(sys.argv[1], assignment=quick)
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "results_bytes": len(json.dumps(document, allow_nan=False).encode()),
                  "tests": [t["output"] for t in document["tests"]]}))
'''


# Every program of the worker returns, with whatever it computed, 8 MB less 4 kB of junk
# (just under a reply's limit), or 50,000 empty arrays: replies the parent would keep.
JUNK = """
import numpy as _np
try:
    import programs.layer as _L, programs.loss as _Lo, programs.optim as _O, programs.dropout as _D
except ImportError:
    _L = None
def _padded(run, junk):
    def padded(self, case, package, inputs, channel):
        try:
            out = dict(run(self, case, package, inputs, channel))
        except Exception:
            out = {}
        out.update(junk())
        return out
    return padded
if _L is not None:
    for _module, _name in ((_L, "Layer"), (_Lo, "Loss"), (_O, "Optim"), (_D, "Dropout")):
        _cls = getattr(_module, _name)
        _cls.run = _padded(_cls.run, JUNK)
"""


@pytest.mark.parametrize("junk, reason", [
    ("lambda: {'junk': _np.ones((8 << 20) - 4096, _np.uint8)}", "more than the 2 MB a case may keep"),
    ("lambda: {f'j{k}': _np.zeros(0) for k in range(1000)}", "lists 1000 arrays, more than 256"),
    ("lambda: {f'j{k}': _np.zeros(0) for k in range(50000)}", "a reply header of"),
])
def test_junk_in_every_reply_costs_its_cases_and_the_grader_stays_small(tmp_path, junk, reason):
    folder = release_with(tmp_path, "activations.py", JUNK.replace("JUNK)", f"{junk})"))
    every_layer = OVERSIZED.replace('("linear", "relu")', "(p.id for p in full.parts if p.id != 'mnist')")
    done = subprocess.run([sys.executable, "-c", every_layer, str(folder)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert sum(reason in t for t in report["tests"]) >= 30, report["tests"]
    assert report["rss_mb"] < 600, report["rss_mb"]
    assert report["results_bytes"] < 2 << 20, report["results_bytes"]


def test_oversized_replies_cost_their_case_and_the_grader_stays_small(tmp_path):
    # Every call of every Linear case returns a 25 MB array, and the worker makes each
    # call twice (a second pass on the same arrays): replies of 100 MB and more. The
    # grader's own memory must stay bounded.
    folder = release_with(tmp_path, "linear.py", "Linear.forward = Linear.backward = "
                          "lambda self, x: np.zeros((25 << 20) // 8)")
    done = subprocess.run([sys.executable, "-c", OVERSIZED, str(folder)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    linear = [t for t in report["tests"] if "more than the 8 MB a reply may hold" in t]
    assert len(linear) == 6, report["tests"]
    assert report["rss_mb"] < 600, report["rss_mb"]
    assert report["results_bytes"] < 2 << 20, report["results_bytes"]
