"""Grading a whole class: every student graded, the CSV, resuming, interruptions.

A class of real submissions is graded by the real grader (real workers, sandboxed when
bubblewrap works), without the MNIST part and with a 3-second case limit so that the
submission that hangs costs seconds, not minutes.
"""
import csv
import dataclasses
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import REPO, grade, grade_all, processes, sandbox
from autograder.assignment import load
from autograder.specs import load_cases

FULL = load()
QUICK = dataclasses.replace(
    FULL, parts=tuple(p for p in FULL.parts if p.id != "mnist"),
    limits=dataclasses.replace(FULL.limits, case_seconds=3))
STUDENTS = ["alice", "bob", "carol", "dave", "erin"]
# Two at a time only where the workers are kept apart (grade-all refuses it elsewhere).
JOBS = 2 if processes.kept_apart()[0] else 1
HANG = "        import time\n        time.sleep(10 ** 6)\n"


def copy_package(source, dest):
    shutil.copytree(source / "numpynn", dest / "numpynn", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def hang_in_linear_forward(folder):
    path = folder / "numpynn" / "linear.py"
    marker = "    def forward(self, x):\n"
    text = path.read_text()
    assert marker in text, "Linear.forward's signature changed; update this test"
    path.write_text(text.replace(marker, marker + HANG, 1))
    return folder


def zip_folder(folder, archive, prefix):
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted((folder / "numpynn").rglob("*.py")):
            z.write(path, f"{prefix}/numpynn/{path.name}")
    return archive


def make_class(root):
    """alice: the solution; bob: the untouched release; carol.zip: the solution, one folder
    down; dave.zip: not a zip; erin: the solution, hanging in Linear.forward. Plus a hidden
    file and a stray note, which are not students."""
    root.mkdir()
    copy_package(REPO / "solution", root / "alice")
    copy_package(REPO / "release", root / "bob")
    scratch = copy_package(REPO / "solution", root.parent / "carol-src")
    zip_folder(scratch, root / "carol.zip", "hw3")
    (root / "dave.zip").write_bytes(b"PK\x03\x04 certainly not a zip")
    hang_in_linear_forward(copy_package(REPO / "solution", root / "erin"))
    (root / ".DS_Store").write_bytes(b"\0\0")
    (root / "notes.txt").write_text("late: dave")
    return root


def part_scores(document, assignment):
    number = {str(p.number): p.id for p in assignment.parts}
    totals = {p.id: 0.0 for p in assignment.parts}
    for test in document["tests"]:
        totals[number[test["number"].split(".")[0]]] += test["score"]
    return totals


def read(out, student):
    return json.loads((out / student / "results.json").read_text())


def mtimes(out):
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}


def leftovers(*folders):
    return [p for folder in folders for p in folder.rglob("*.tmp")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class, graded once with --jobs 2 and --html; tests copy it before changing it."""
    root = tmp_path_factory.mktemp("batch")
    submissions = make_class(root / "submissions")
    out = root / "grades"
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, html=True, assignment=QUICK,
                                  progress=False)
    return submissions, out, summary


def copy_batch(graded, tmp_path):
    """A private copy of the graded class (mtimes kept), for tests that change it."""
    submissions, out, _ = graded
    shutil.copytree(submissions, tmp_path / "submissions")
    shutil.copytree(out, tmp_path / "grades")
    return tmp_path / "submissions", tmp_path / "grades"


# -- one run ----------------------------------------------------------------------------
def test_every_student_gets_a_complete_results_file(graded):
    _, out, summary = graded
    assert sorted(summary.graded) == STUDENTS and summary.skipped == [] and summary.failed == []
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == STUDENTS
    count = len(load_cases(QUICK))
    for student in STUDENTS:
        document = read(out, student)
        assert len(document["tests"]) == count
        assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]), abs=1e-3)
        assert all(0 <= t["score"] <= t["max_score"] + 1e-9 for t in document["tests"])


def test_each_student_gets_what_their_submission_deserves(graded):
    _, out, _ = graded
    assert read(out, "alice")["score"] == pytest.approx(QUICK.total_points)
    assert read(out, "carol")["score"] == pytest.approx(QUICK.total_points)
    bob = read(out, "bob")
    assert bob["score"] == 0 and all("not written yet" in t["output"] for t in bob["tests"])
    dave = read(out, "dave")
    assert dave["score"] == 0
    assert all("not a folder or a readable .zip" in t["output"] for t in dave["tests"])


def test_a_hanging_submission_loses_only_the_part_that_hangs(graded):
    _, out, _ = graded
    erin = read(out, "erin")
    scores = part_scores(erin, QUICK)
    for part in QUICK.parts:
        assert scores[part.id] == pytest.approx(0 if part.id == "linear" else part.points), part.id
    linear = [t for t in erin["tests"] if t["name"].startswith("Linear")]
    assert linear[0]["output"] == "time limit (3 s) exceeded while running this case", linear
    assert all("shortened since an earlier case of this part timed out" in t["output"]
               for t in linear[1:]), linear


def test_the_csv_has_every_student_and_matches_their_results(graded):
    _, out, _ = graded
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student", "total", *(p.id for p in QUICK.parts)]
    assert [r[0] for r in rows[1:]] == STUDENTS
    for student, total, *parts in rows[1:]:
        document = read(out, student)
        assert float(total) == pytest.approx(document["score"], abs=1e-4)
        expected = part_scores(document, QUICK)
        assert [float(s) for s in parts] == pytest.approx([expected[p.id] for p in QUICK.parts], abs=1e-4)
        assert sum(float(s) for s in parts) == pytest.approx(float(total), abs=1e-3)


def test_html_feedback_is_written_for_every_student(graded):
    _, out, _ = graded
    for student in STUDENTS:
        page = (out / student / "feedback.html").read_text()
        assert f"{read(out, student)['score']:.2f} / {QUICK.total_points:g}" in page


def test_the_summary_reports_counts_and_the_mean(graded):
    _, out, summary = graded
    scores = [read(out, s)["score"] for s in STUDENTS]
    assert summary.mean == pytest.approx(sum(scores) / len(scores))
    assert str(summary).startswith(f"graded 5, skipped 0 (up to date), failed 0; "
                                   f"mean score {sum(scores) / 5:.2f}/{QUICK.total_points:g}")
    assert leftovers(out) == []


# -- resuming ---------------------------------------------------------------------------
def test_a_rerun_skips_everyone_up_to_date(graded, tmp_path):
    submissions, out = copy_batch(graded, tmp_path)
    before = mtimes(out)
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, assignment=QUICK, progress=False)
    assert summary.graded == [] and sorted(summary.skipped) == STUDENTS
    assert mtimes(out) == before
    assert len((out / "grades.csv").read_text().splitlines()) == 1 + len(STUDENTS)


def test_only_the_student_whose_results_were_deleted_is_graded_again(graded, tmp_path):
    submissions, out = copy_batch(graded, tmp_path)
    (out / "bob" / "results.json").unlink()
    before = mtimes(out)
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, assignment=QUICK, progress=False)
    assert summary.graded == ["bob"] and len(summary.skipped) == 4
    assert mtimes(out) == {**before, "bob": mtimes(out)["bob"]}
    assert read(out, "bob")["score"] == 0


def test_a_changed_file_inside_a_folder_means_grading_again(graded, tmp_path):
    submissions, out = copy_batch(graded, tmp_path)
    later = time.time() + 5      # a clock step, not a sleep: newer than any results file
    os.utime(submissions / "bob" / "numpynn" / "flatten.py", (later, later))
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, assignment=QUICK, progress=False)
    assert summary.graded == ["bob"]


def test_force_grades_everyone_again(graded, tmp_path):
    submissions, out = copy_batch(graded, tmp_path)
    for student in ("alice", "erin"):      # keep the run short: the slow ones out
        shutil.rmtree(submissions / student)
    (submissions / "carol.zip").unlink()
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, force=True, assignment=QUICK,
                                  progress=False)
    assert sorted(summary.graded) == ["bob", "dave"] and summary.skipped == []
    # grades.csv covers the submissions that exist now.
    assert [r.split(",")[0] for r in (out / "grades.csv").read_text().splitlines()] == \
        ["student", "bob", "dave"]


# -- a grader failure for one student ---------------------------------------------------
def test_a_grader_failure_is_recorded_for_that_student_and_the_batch_goes_on(tmp_path, monkeypatch):
    submissions = tmp_path / "submissions"
    copy_package(REPO / "release", submissions / "bob")
    copy_package(REPO / "release", submissions / "frank")
    real_grade = grade.grade

    def grade_failing_for_frank(submission, **kwargs):   # a grader bug that only frank hits
        if Path(submission).name == "frank":
            raise OSError("disk quota exceeded\nsecond line")
        return real_grade(submission, **kwargs)

    monkeypatch.setattr(grade, "grade", grade_failing_for_frank)
    out = tmp_path / "grades"
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, assignment=QUICK, progress=False)
    assert summary.graded == ["bob"]
    assert summary.failed == [("frank", "OSError: disk quota exceeded")]
    frank = read(out, "frank")
    assert frank["score"] == 0 and len(frank["tests"]) == len(load_cases(QUICK))
    for test in frank["tests"]:
        assert test["score"] == 0 and "the grader failed" in test["output"]
        assert "\n" not in test["output"]
    assert "frank" in (out / "grades.csv").read_text()

    monkeypatch.setattr(grade, "grade", real_grade)   # fixed: the next run retries frank only
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, assignment=QUICK, progress=False)
    assert summary.graded == ["frank"] and summary.skipped == ["bob"]
    assert read(out, "frank")["tests"][0]["output"].startswith("NotImplementedError")


# -- the command line, killed and interrupted -------------------------------------------
def quick_toml(path, case_seconds=3):
    """assignment.toml without the MNIST part and with a short case limit."""
    text = (REPO / "assignment" / "assignment.toml").read_text()
    text = re.sub(r"(?m)^case_seconds = \d+", f"case_seconds = {case_seconds}", text)
    text = text.replace('[[part]]\nid = "mnist"\nname = "MNIST training"\npoints = 20\n\n', "")
    assert "mnist\"" not in text and f"case_seconds = {case_seconds}" in text
    path.write_text(text)
    return path


def command(submissions, out, *extra, tmp, case_seconds=3):
    toml = quick_toml(tmp / "quick.toml", case_seconds)
    return [sys.executable, "-m", "autograder", "grade-all", str(submissions), "--out", str(out),
            "--assignment", str(toml), *extra]


def environment(tmp):
    """TMPDIR inside the test's folder, so that every worker's command line names it."""
    (tmp / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp / "tmp")}


def processes_naming(text):
    """{pid: command line} of live processes whose command line, or root folder (a jailed
    worker's is its jail), contains ``text`` (zombies excluded)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            root = os.readlink(entry / "root")
        except OSError:
            continue
        if (text in cmdline or text in root) and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def wait_until(condition, seconds, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_a_killed_batch_resumes_with_only_the_rest(tmp_path):
    submissions = tmp_path / "submissions"
    names = ["s1", "s2", "s3", "s4"]
    for name in names:
        copy_package(REPO / "release", submissions / name)
    out = tmp_path / "grades"
    env = environment(tmp_path)
    process = subprocess.Popen(command(submissions, out, "--jobs", "1", tmp=tmp_path), cwd=REPO,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: any(out.glob("*/results.json")), 120), \
            "no student was graded within 2 minutes"
    finally:
        process.kill()          # SIGKILL: no chance to clean up
        process.communicate()
    done_before = mtimes(out)
    assert 1 <= len(done_before) < len(names), done_before
    for student in done_before:
        assert read(out, student)["score"] == 0          # whole files, never half-written
    assert not (out / "grades.csv").exists()
    # Sandboxed workers die with their parent (bwrap --die-with-parent).
    marker = str(tmp_path / "tmp")
    try:
        assert wait_until(lambda: not processes_naming(marker), 30), \
            f"worker processes outlived the killed batch: {processes_naming(marker)}"
    finally:
        for pid in processes_naming(marker):
            os.kill(pid, signal.SIGKILL)

    again = subprocess.run(command(submissions, out, "--jobs", str(JOBS), tmp=tmp_path), cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    rest = len(names) - len(done_before)
    assert f"graded {rest}, skipped {len(done_before)} (up to date), failed 0" in again.stdout
    after = mtimes(out)
    assert {s: after[s] for s in done_before} == done_before
    assert sorted(after) == names
    rows = (out / "grades.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["student", *names]
    assert leftovers(out) == []


@pytest.mark.parametrize("mode, how", [
    ("--no-sandbox", "Ctrl-C"), ("sandboxed", "Ctrl-C"), ("--no-sandbox", "SIGTERM")])
def test_an_interruption_stops_promptly_and_leaves_no_worker_behind(tmp_path, mode, how):
    if mode == "sandboxed" and sandbox.unavailable_reason():
        pytest.skip(f"no sandboxed worker to stop: {sandbox.unavailable_reason()}")
    submissions = tmp_path / "submissions"
    for name in ("hang1", "hang2", "hang3"):
        hang_in_linear_forward(copy_package(REPO / "solution", submissions / name))
    out = tmp_path / "grades"
    # A case limit far longer than the test: only the interruption can end these hangs.
    jobs = 2 if processes.kept_apart(mode == "sandboxed")[0] else 1
    argv = command(submissions, out, "--jobs", str(jobs), tmp=tmp_path, case_seconds=600)
    if mode != "sandboxed":
        argv.append(mode)
    marker = str(tmp_path / "tmp")
    # Its own process group, as a terminal's foreground job: Ctrl-C signals the group.
    process = subprocess.Popen(argv, cwd=REPO, env=environment(tmp_path), start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: len(processes_naming(marker)) >= jobs, 60), \
            "the workers never started"
        started = processes_naming(marker).values()
        assert any(c.startswith(shutil.which("bwrap") or "?") for c in started) == (mode == "sandboxed")
        time.sleep(1)           # well inside the hanging cases
        if how == "Ctrl-C":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.terminate()
        stopped = time.monotonic()
        _, stderr = process.communicate(timeout=30)
        seconds = time.monotonic() - stopped
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr, stderr
        assert seconds < 10, f"took {seconds:.1f} s to stop"
        assert wait_until(lambda: not processes_naming(marker), 5), \
            f"workers left running: {processes_naming(marker)}"
    finally:                    # on failure, do not leave this test's processes behind
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        for pid in processes_naming(marker):
            os.kill(pid, signal.SIGKILL)
    assert list(out.glob("*/results.json")) == []       # a hang never becomes a result
    assert not (out / "grades.csv").exists() and leftovers(out) == []


# -- bad input --------------------------------------------------------------------------
def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_bad_input_gets_one_clear_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    one = tmp_path / "one"
    copy_package(REPO / "release", one / "alice")
    twice = tmp_path / "twice"
    copy_package(REPO / "release", twice / "alice")
    (twice / "alice.zip").write_bytes(b"")
    cases = [
        ((tmp_path / "missing", "--out", tmp_path / "g"), "is not a folder of submissions"),
        ((empty, "--out", tmp_path / "g"), "no submissions (folders or .zip files)"),
        ((twice, "--out", tmp_path / "g"), "two submissions for 'alice'"),
        ((one, "--out", one / "grades"), "is inside the submissions folder"),
        ((one, "--out", tmp_path / "g", "--assignment", tmp_path / "nope.toml"),
         "no assignment definition at"),
    ]
    for args, message in cases:
        done = run_cli(*args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = run_cli(empty, "--out", tmp_path / "g", "--jobs", "0")
    assert done.returncode == 2 and "--jobs" in done.stderr


def test_grades_csv_holds_no_live_formulas_and_outputs_cannot_be_overwritten(tmp_path):
    from autograder import grade_all
    assert grade_all.spreadsheet_safe('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert [grade_all.spreadsheet_safe(c) for c in ("+1", "-1", "@SUM(A1)", "alice")] == [
        "'+1", "'-1", "'@SUM(A1)", "alice"]
    (tmp_path / "grades.csv").mkdir()             # a "student" named like the class's table
    (tmp_path / "alice").mkdir()
    assert list(grade_all.find_submissions(tmp_path)) == ["alice"]
    found = grade_all.find_submissions(tmp_path)
    assert grade_all.stray_files(tmp_path, found) == ["grades.csv"]


def test_names_with_control_characters_or_undecodable_bytes_are_strays_said_safely(tmp_path):
    submissions = tmp_path / "submissions"
    copy_package(REPO / "release", submissions / "alice")
    for name in (b"\x1b]0;pwned\x07bob", b"carol\xff\xfe", "dave\u202e".encode()):
        copy_package(REPO / "release", Path(os.fsdecode(bytes(submissions) + b"/" + name)))
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(submissions),
                           "--out", str(tmp_path / "out"), "--assignment",
                           str(quick_toml(tmp_path / "quick.toml"))],
                          cwd=REPO, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for stream in (done.stdout, done.stderr, (tmp_path / "out" / "grades.csv").read_bytes()):
        text = stream.decode("utf-8").replace("\n", "").replace("\r", "")   # tqdm's own \r
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text), text
    assert b"ignoring 3 file(s)" in done.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "grades.csv").read_text())))
    assert [row["student"] for row in rows] == ["alice"]
