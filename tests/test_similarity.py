"""The similarity report on a synthetic class built here, with real copies and real code.

Three independent correct implementations (the solution, the loop implementation and
the einsum one in tests/submissions), copies of them disguised by ``disguise`` (locals
renamed, functions reordered, re-laid out by ast.unparse), partial copies, the untouched
release and the release disguised, a zip one folder down and a corrupt zip. Each student
has a set of sources; two students copied iff their sets meet. A past term's zipped
submission and a leaked file sit under --against.
"""
import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import REPO
from autograder.__main__ import main
from autograder.assignment import load
from autograder.similarity import fingerprints
from autograder.similarity.written import written
from disguise import disguise

ASSIGNMENT = load()
FILES = ASSIGNMENT.student_files
RELEASE = REPO / "release" / "numpynn"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def code(folder):
    return {name: (folder / name).read_text() for name in FILES}


SOLUTION = code(REPO / "solution" / "numpynn")
LOOPS = code(REPO / "tests" / "submissions" / "loops" / "numpynn")
EINSUM = code(REPO / "tests" / "submissions" / "einsum" / "numpynn")
GIVEN = code(RELEASE)


def disguised(files, seed):
    return {name: disguise(text, seed) for name, text in files.items()}


def alternate(even, odd):
    """Files 0, 2, 4, ... of the assignment from ``even``, the others from ``odd``."""
    return {name: (even if i % 2 == 0 else odd)[name] for i, name in enumerate(FILES)}


# student -> (files, the sources they contain)
CLASS = {
    "sol": (SOLUTION, {"S"}),
    "loops": (LOOPS, {"L"}),
    "einsum": (EINSUM, {"E"}),
    "sol_copy": (disguised(SOLUTION, 1), {"S"}),
    "loops_copy": (disguised(LOOPS, 2), {"L"}),                 # zipped, one folder down
    "einsum_half": (alternate(disguised(EINSUM, 3), GIVEN), {"E"}),  # half copied, half not done
    "mix": (alternate(disguised(SOLUTION, 4), disguised(LOOPS, 5)), {"S", "L"}),
    "untouched": (GIVEN, set()),
    "reformatted": (disguised(GIVEN, 6), set()),
}
RELEASE_ONLY = {"untouched", "reformatted"}
LEAKED = "leaked_layers.py"       # the solution's conv.py and pooling.py, disguised, in one file


def write_package(folder, files):
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def zip_folder(folder, archive):
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            z.write(path, path.relative_to(folder))
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(rows of similarity.csv, report.html, stdout, stderr, the folders)."""
    root = tmp_path_factory.mktemp("similarity")
    submissions = root / "class"
    for student, (files, _) in CLASS.items():
        if student == "loops_copy":
            write_package(root / "staging" / "hw3" / "numpynn", files)
            zip_folder(root / "staging", submissions / "loops_copy.zip")
        elif student == "loops":
            write_package(submissions / student / "hw3" / "numpynn", files)
        else:
            write_package(submissions / student / "numpynn", files)
    (submissions / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    past = root / "past"
    write_package(past / "2023" / "staging" / "ada" / "numpynn", disguised(EINSUM, 7))
    zip_folder(past / "2023" / "staging", past / "2023" / "ada.zip")
    public = root / "public"
    public.mkdir()
    (public / LEAKED).write_text(disguise(SOLUTION["conv.py"] + "\n" + SOLUTION["pooling.py"], 8))
    out = root / "report"
    return dict(root=root, submissions=submissions, past=past, public=public, out=out)


@pytest.fixture(scope="module")
def report(run):
    """The command run as instructors run it, in a process of its own."""
    done = subprocess.run([sys.executable, "-m", "autograder", "similarity", str(run["submissions"]),
                           "--out", str(run["out"]), "--against", str(run["past"]), str(run["public"]),
                           "--show", "100"], capture_output=True, text=True, timeout=300, cwd=REPO)
    rows = list(csv.DictReader((run["out"] / "similarity.csv").open()))
    return dict(run, code=done.returncode, rows=rows, stdout=done.stdout, stderr=done.stderr,
                html=(run["out"] / "report.html").read_text())


def class_rows(rows):
    return {frozenset((r["student_a"], r["student_b"])): float(r["similarity"])
            for r in rows if r["source"] == "class"}


def test_every_copy_pair_ranks_above_every_honest_pair(report):
    scores = class_rows(report["rows"])
    copies, honest = {}, {}
    for pair, score in scores.items():
        a, b = sorted(pair)
        if {a, b} & RELEASE_ONLY:
            continue
        (copies if CLASS[a][1] & CLASS[b][1] else honest)[a, b] = score
    assert len(copies) == 7 and len(honest) == 14
    lowest_copy, highest_honest = min(copies.items(), key=lambda kv: kv[1]), max(honest.items(), key=lambda kv: kv[1])
    print(f"\nlowest copy pair {lowest_copy}, highest honest pair {highest_honest}")
    assert lowest_copy[1] > highest_honest[1], (copies, honest)
    for whole in [("sol", "sol_copy"), ("loops", "loops_copy")]:
        assert copies[whole] >= 0.9, copies          # a fully disguised copy is found whole


def test_the_release_alone_matches_nothing(report):
    scores = class_rows(report["rows"])
    for pair, score in scores.items():
        if pair & RELEASE_ONLY:
            assert score == 0, (pair, score)
    against = [r for r in report["rows"] if r["source"] == "against"]
    assert against and not [r for r in against if r["student_a"] in RELEASE_ONLY]


def test_copydetect_boilerplate_alone_scores_the_untouched_release_at_zero():
    """Without taking the release out statement by statement, copydetect's boilerplate
    filter already leaves nothing of an untouched file; the statement step is for the
    re-laid-out and reordered ones."""
    given = fingerprints.boilerplate(RELEASE)
    for name in FILES:
        assert fingerprints.fingerprint(GIVEN[name], given).token_coverage == 0, name
        assert written(GIVEN[name], GIVEN[name]) == []
        assert written(disguise(GIVEN[name], 9), GIVEN[name]) == [], name


def test_the_disguise_is_real():
    """Few of the lines a student wrote survive it verbatim (those naming only attributes,
    like ``self.t += 1``), no comment survives, and functions come in another order."""
    defs = lambda text: re.findall(r"^\s*def (\w+)", text, re.M)
    for source in (SOLUTION, LOOPS, EINSUM):
        kept = total = 0
        for name in FILES:
            copy = disguise(source[name], 1)
            lines = {line.strip() for line in copy.splitlines()}
            mine = [line.strip() for piece in written(source[name], GIVEN[name])
                    for line in piece.code.splitlines()]
            kept, total = kept + sum(line in lines for line in mine), total + len(mine)
            assert not re.search(r"^\s*#", copy, re.M)
            assert sorted(defs(copy)) == sorted(defs(source[name]))
            if len(defs(source[name])) > 1:
                assert defs(copy) != defs(source[name]), name
        assert kept / total < 0.15, (kept, total)
    # the solution's im2col names its local ``windows``; the copy does not
    assert re.search(r"\bwindows = ", SOLUTION["conv.py"])
    assert not re.search(r"\bwindows\b(?! add up)", disguise(SOLUTION["conv.py"], 1))


def test_against_matches_name_their_file_and_rank_the_copies_first(report):
    against = [r for r in report["rows"] if r["source"] == "against"]
    ada = str(report["past"] / "2023" / "ada.zip")
    leaked = str(report["public"] / LEAKED)
    assert {r["student_b"] for r in against} <= {ada, leaked}
    copied = {("einsum", ada), ("einsum_half", ada), ("sol", leaked), ("sol_copy", leaked),
              ("mix", leaked)}
    score = {(r["student_a"], r["student_b"]): float(r["similarity"]) for r in against}
    assert copied <= set(score), score
    honest = {k: v for k, v in score.items() if k not in copied}
    print(f"\nagainst: copies {sorted(score[k] for k in copied)}, honest {sorted(honest.values())}")
    assert min(score[k] for k in copied) > max(honest.values(), default=0)


def test_the_csv_lists_every_class_pair_highest_first(report):
    rows = report["rows"]
    assert list(rows[0]) == ["student_a", "student_b", "similarity", "share_a", "share_b",
                             "matched_tokens", "source", "identical_failures"]
    students = sorted(CLASS)
    assert len(class_rows(rows)) == len(students) * (len(students) - 1) // 2
    scores = [float(r["similarity"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert {r["identical_failures"] for r in rows} == {""}     # no --grades


def test_a_corrupt_zip_costs_only_that_student_and_is_named(report):
    assert report["code"] == 0
    assert "not compared: broken: the .zip file is corrupt" in report["stderr"]
    assert "broken" not in {r["student_a"] for r in report["rows"]} | {r["student_b"] for r in report["rows"]}
    assert "<b>broken</b>: the .zip file is corrupt" in report["html"]
    assert "loops_copy" in {r["student_a"] for r in report["rows"]} | {r["student_b"] for r in report["rows"]}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_report_renders_the_matched_regions_side_by_side(report, tmp_path):
    assert "http://" not in report["html"] and "https://" not in report["html"]
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          (report["out"] / "report.html").as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<h1>Similarity report</h1>" in dom
    first = dom.index('id="pair-1"')
    section = dom[first:dom.index("</section>", first)]
    assert section.count("<pre>") == 2 and 'class="a"' in section and 'class="b"' in section
    top = report["rows"][0]
    assert f"1. {top['student_a']} and {top['student_b']}: 100%" in section
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1400,1000", (report["out"] / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20000


# -- identical wrong outputs -------------------------------------------------------------
def results(folder, student, seed, failed_outputs):
    path = folder / student / "results.json"
    path.parent.mkdir(parents=True)
    extra = {"failed_outputs": failed_outputs, "grader_version": "x"}
    if seed is not None:
        extra["seed"] = seed
    path.write_text(json.dumps({"score": 50.0, "tests": [], "extra_data": extra}))


D1, D2, D3, D4 = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


def test_identical_wrong_outputs_are_counted_per_pair_under_one_seed(run, tmp_path, capsys):
    grades = tmp_path / "GRADES"
    results(grades, "sol", 11, {"2.3": D1, "4.1": D2, "10.2": D3})
    results(grades, "loops", 11, {"2.3": D1, "4.1": D2, "10.2": D4})   # shares 2.3 and 4.1
    results(grades, "einsum", 11, {"2.3": D1})                         # shares 2.3 with both
    results(grades, "sol_copy", 12, {"2.3": D1, "4.1": D2, "10.2": D3})  # another seed
    results(grades, "mix", None, {"2.3": D1})                           # no seed: unusable
    (grades / "grades.csv").write_text("student,total\n")
    out = tmp_path / "report"
    assert main(["similarity", str(run["submissions"]), "--out", str(out),
                 "--grades", str(grades)]) == 0
    assert "not compared: mix (grades): mix/results.json cannot be used (no extra_data.seed)" \
        in capsys.readouterr().err
    column = {frozenset((r["student_a"], r["student_b"])): r["identical_failures"]
              for r in csv.DictReader((out / "similarity.csv").open())}
    assert column[frozenset(("sol", "loops"))] == "2"
    assert column[frozenset(("sol", "einsum"))] == "1"
    assert column[frozenset(("loops", "einsum"))] == "1"
    assert column[frozenset(("sol", "sol_copy"))] == ""        # different seeds: not comparable
    assert column[frozenset(("sol", "mix"))] == ""
    assert column[frozenset(("sol", "untouched"))] == ""       # not graded
    flagged = list(csv.DictReader((out / "identical_failures.csv").open()))
    assert flagged == [
        {"student_a": "loops", "student_b": "sol", "seed": "11", "identical": "2",
         "tests": "2.3 (3 students), 4.1 (2 students)"},
        {"student_a": "einsum", "student_b": "loops", "seed": "11", "identical": "1",
         "tests": "2.3 (3 students)"},
        {"student_a": "einsum", "student_b": "sol", "seed": "11", "identical": "1",
         "tests": "2.3 (3 students)"},
    ]


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize("flag", [None, "--against", "--grades"])
def test_a_missing_folder_is_a_one_line_error(run, tmp_path, capsys, flag):
    missing = tmp_path / "nowhere"
    argv = ["similarity", str(missing if flag is None else run["submissions"]),
            "--out", str(tmp_path / "out")]
    if flag:
        argv += [flag, str(missing)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err and "Traceback" not in err


def test_a_class_with_nothing_readable_still_writes_its_outputs(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "x.zip").write_bytes(b"nope")
    assert main(["similarity", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "similarity.csv").read_text().startswith("student_a,student_b,")
    assert "<b>x</b>" in (tmp_path / "out" / "report.html").read_text()


# -- what counts as written --------------------------------------------------------------
def test_written_keeps_only_the_students_statements():
    given = GIVEN["linear.py"]
    pieces = written(SOLUTION["linear.py"], given)
    assert [p.where for p in pieces] == ["Linear.forward", "Linear.backward"]
    assert pieces[0].code == ("out = x @ self.weight.data.T\n"
                              "if self.bias is not None:\n    out += self.bias.data")
    helper = SOLUTION["linear.py"] + "\n\ndef my_helper(a):\n    return a * 2\n"
    assert written(helper, given)[-1].where == "my_helper"
    assert written("def broken(:\n", given)[0].code == "def broken(:\n"
