"""python -m autograder grade-all SUBMISSIONS --out GRADES: grade a whole class.

SUBMISSIONS holds one submission per student, a folder or a .zip named after the
student (``alice/``, ``bob.zip``); hidden files are ignored. Each one is graded exactly
as ``grade`` grades it, several at a time, into ``GRADES/<student>/results.json``
(and ``feedback.html`` with --html). At the end ``GRADES/grades.csv`` is rewritten
from every student's results.json, one row per student:

    student,total,linear,conv2d,...      (one column per part, by its id, in assignment order)

Part ids rather than names head the columns: they are the stable names of
assignment.toml, with no spaces or parentheses for a spreadsheet to trip on.

Resumable: a student whose results.json is newer than their submission (the zip's
mtime, or the newest file or folder inside theirs) and came from this grader version
(``extra_data.grader_version``: the grader, the cases, the assignment, the solution) is
skipped unless --force, so rerunning an interrupted batch grades only the rest. Files
are written atomically, so Ctrl-C or a kill leaves each student graded or not, never
half-written. A student whose grading failed on the grader's side gets a results.json
saying so (every test 0) and is graded again at the next run.

Regrades: after a hidden case, the solution or the assignment changed, every student
is graded again, under the seed recorded in their results.json (unless --seed), and
``GRADES/changes.csv`` lists each part whose score moved:

    student,part,old_score,new_score,old_version,new_version

Every student of a batch is graded under one seed (fresh for each batch, or --seed),
recorded in each results.json, so that identical wrong outputs can be compared across
students (``similarity --grades``).

Submissions are graded in threads: a grading spends its time waiting on its worker
processes (which ``processes`` starts), so threads keep every core busy.
"""
import contextlib
import csv
import functools
import io
import json
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import frames, grade, processes, results
from .grading.context import grader_version, new_seed
from .assignment import ASSIGNMENT_TOML, load

RESULTS = "results.json"
FEEDBACK = "feedback.html"
CSV_NAME = "grades.csv"
GRADER_ERROR = "grader_error"     # extra_data key marking a result the grader failed to produce
CHANGES = "changes.csv"
CHANGE_COLUMNS = ["student", "part", "old_score", "new_score", "old_version", "new_version"]
RESERVED = {CSV_NAME, CHANGES}    # names of the batch's own outputs beside the students'


class BatchError(Exception):
    """The batch cannot start; the message is one line for the instructor."""


# -- finding the class ------------------------------------------------------------------
def find_submissions(folder: Path) -> dict:
    """student name -> submission (a folder or a .zip), sorted by name; hidden files ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder of submissions")
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            student = path.name
        elif path.is_file() and path.suffix.lower() == ".zip":
            student = path.stem
        else:
            continue            # a stray file (notes, a .tar.gz): not a submission
        if student.lower() in RESERVED:
            continue            # it would overwrite the class's own table: mentioned as a stray
        if frames.text(student, len(student)) != student:
            continue            # control characters or undecodable bytes: mentioned as a stray
        if student in found:
            raise BatchError(f"two submissions for {student!r} ({found[student].name} and "
                             f"{path.name}); keep one")
        found[student] = path
    return found


def stray_files(folder: Path, submissions: dict) -> list:
    """Visible files in ``folder`` that are not submissions, to mention once."""
    used = set(submissions.values())
    return sorted(frames.text(p.name, 200) for p in Path(folder).iterdir()
                  if not p.name.startswith(".") and p not in used)


def last_change(submission: Path) -> float:
    """When the submission last changed: a zip's mtime, or the newest entry of a folder
    (folders count too, so that a deleted file also makes it newer)."""
    newest = submission.stat().st_mtime
    if submission.is_dir():
        for parent, dirs, files in os.walk(submission):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(parent, name)).st_mtime)
                except FileNotFoundError:
                    pass
    return newest


def is_current(result: Path, submission: Path, assignment) -> bool:
    """True when ``result`` is newer than ``submission``, came from this grader version
    and was not a grader failure."""
    try:
        if result.stat().st_mtime <= last_change(submission):
            return False
        extra = json.loads(result.read_text()).get("extra_data", {})
    except (OSError, ValueError, AttributeError):
        return False
    return not extra.get(GRADER_ERROR) and extra.get("grader_version") == grader_version(assignment)


def previous(result: Path):
    """The student's last results.json, or None."""
    try:
        document = json.loads(result.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and isinstance(document.get("tests"), list) else None


def changes(student, old, new, assignment) -> list:
    """changes.csv's rows for one regraded student: each part whose score moved."""
    if old is None or old.get("extra_data", {}).get(GRADER_ERROR):
        return []
    before = {name: score for name, score, _, _ in results.part_rows(old, assignment.parts)}
    version = old.get("extra_data", {}).get("grader_version", "")
    return [[student, part.id, before[part.name], score, version, new["extra_data"].get("grader_version", "")]
            for part, (_, score, _, _) in zip(assignment.parts, results.part_rows(new, assignment.parts))
            if round(score - before[part.name], 4) != 0]


# -- grading one student ----------------------------------------------------------------
@dataclass
class Outcome:
    student: str
    status: str                 # graded, skipped, failed (the grader's fault), interrupted
    reason: str = ""
    changes: list = field(default_factory=list)     # changes.csv rows, for a regrade


def grade_one(student, submission, folder: Path, *, assignment, sandboxed, html, stop, seed,
              keep_seed=True, grader=None):
    """Grade one submission into ``folder``; never raises for a problem with this student.

    seed: the batch's seed; with keep_seed, a student graded before is graded again under
    their recorded seed, so that a regrade changes only what the grader changed.
    stop: a threading.Event set when the batch is interrupted; a grading cut short by it
    writes nothing, so the student is graded at the next run.
    grader: what turns the submission into its document (default ``grade.grade``).
    """
    status, reason = "graded", ""
    old = previous(folder / RESULTS)
    recorded = (old or {}).get("extra_data", {}).get("seed")
    if keep_seed and isinstance(recorded, int) and not isinstance(recorded, bool):
        seed = recorded
    try:
        document = (grader or grade.grade)(submission, sandboxed=sandboxed,
                                           assignment=assignment, seed=seed)
    except Exception as error:  # noqa: BLE001 - one student's failure must not stop the batch
        if stop.is_set():
            return Outcome(student, "interrupted")
        reason = one_line(error)
        document = grade.failed_results(error, assignment)
        document["extra_data"][GRADER_ERROR] = reason
        status = "failed"
    if stop.is_set():           # workers were killed under it: the result is not real
        return Outcome(student, "interrupted")
    results.write_json(folder / RESULTS, document)
    if html:
        try:
            write_feedback(folder, document, assignment)
        except Exception as error:  # noqa: BLE001 - the results are saved; the page is not
            print(f"grade-all: no feedback page for {student}: {one_line(error)}", file=sys.stderr)
    moved = changes(student, old, document, assignment) if status == "graded" else []
    return Outcome(student, status, reason, moved)


def plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def one_line(error):
    return f"{type(error).__name__}: {error}".splitlines()[0]


def write_feedback(folder: Path, document, assignment):
    from . import feedback     # matplotlib is imported only when pages are asked for
    feedback.write(folder / FEEDBACK, document, assignment)


def feedback_is_stale(folder: Path) -> bool:
    page, result = folder / FEEDBACK, folder / RESULTS
    return not page.exists() or page.stat().st_mtime < result.stat().st_mtime


# -- the class's table ------------------------------------------------------------------
def csv_rows(out: Path, students, assignment) -> list:
    """[student, total, part scores...] for each student with a results.json."""
    rows = []
    for student in students:
        path = out / student / RESULTS
        if not path.exists():
            continue
        document = json.loads(path.read_text())
        parts = [score for _, score, _, _ in results.part_rows(document, assignment.parts)]
        rows.append([student, document["score"], *parts])
    return rows


def write_csv(path: Path, rows, assignment):
    """Write grades.csv atomically: a spreadsheet never opens half a table."""
    write_table(path, ["student", "total", *(p.id for p in assignment.parts)],
                [[student, *(f"{round(float(s), 4):g}" for s in scores)] for student, *scores in rows])


def write_changes(path: Path, rows):
    """changes.csv: one row per part whose score a regrade changed."""
    write_table(path, CHANGE_COLUMNS, [[student, part, f"{round(float(a), 4):g}", f"{round(float(b), 4):g}",
                                        old, new] for student, part, a, b, old, new in rows])


def write_table(path: Path, header, rows):
    """A CSV written atomically, its first column made spreadsheet-safe (student names)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for first, *rest in rows:
        writer.writerow([spreadsheet_safe(first), *rest])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def remove_leftovers(out: Path):
    """Delete the temporary files a killed run may have left mid-write (``.results.json.*.tmp``)."""
    for name in (RESULTS, FEEDBACK, CSV_NAME, CHANGES):
        for leftover in [*out.glob(f".{name}.*.tmp"), *out.glob(f"*/.{name}.*.tmp")]:
            leftover.unlink(missing_ok=True)


# -- the batch --------------------------------------------------------------------------
@dataclass
class Summary:
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)      # (student, reason)
    rows: list = field(default_factory=list)        # the CSV's rows
    total_points: float = 0.0
    seconds: float = 0.0
    seed: int = 0
    changes: list = field(default_factory=list)     # changes.csv's rows

    @property
    def mean(self):
        return sum(r[1] for r in self.rows) / len(self.rows) if self.rows else 0.0

    def __str__(self):
        lines = [f"graded {len(self.graded)}, skipped {len(self.skipped)} (up to date), "
                 f"failed {len(self.failed)}; mean score {self.mean:.2f}/{self.total_points:g} "
                 f"over {len(self.rows)} students; {self.seconds:.1f} s; seed {self.seed}"]
        if self.changes:
            moved = {row[0]: 0.0 for row in self.changes}
            for student, _, old, new, *_ in self.changes:
                moved[student] += new - old
            up, down = sum(d > 0 for d in moved.values()), sum(d < 0 for d in moved.values())
            lines.append(f"regrade: {plural(len(moved), 'student')} changed ({up} up, {down} down; "
                         f"{plural(len(self.changes), 'part')}, {sum(moved.values()):+.2f} points "
                         f"in all): see {CHANGES}")
        lines += [f"  grader failed for {student}: {reason}" for student, reason in self.failed]
        return "\n".join(lines)


def grade_all(submissions_dir, out, *, jobs=None, force=False, html=False, sandboxed=True,
              assignment=None, progress=True, seed=None, cluster=None) -> Summary:
    """Grade every submission in ``submissions_dir`` into ``out``; returns the summary.

    cluster: a ``cluster.Cluster``, to grade on its workers instead of here.

    Raises BatchError when the batch cannot start, and KeyboardInterrupt (after stopping
    every worker) when interrupted; grades.csv is then left as it was.
    """
    started = time.monotonic()
    assignment = assignment or load()
    submissions = find_submissions(submissions_dir)
    out = Path(out)
    if not submissions:
        raise BatchError(f"no submissions (folders or .zip files) in {submissions_dir}")
    inside = Path(submissions_dir).resolve()
    if out.resolve() == inside or inside in out.resolve().parents:
        raise BatchError(f"--out {out} is inside the submissions folder; put the grades elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)

    summary = Summary(total_points=assignment.total_points, seed=new_seed() if seed is None else seed)
    todo = {}
    for student, path in submissions.items():
        if not force and is_current(out / student / RESULTS, path, assignment):
            summary.skipped.append(student)
            if html and feedback_is_stale(out / student):
                try:
                    document = json.loads((out / student / RESULTS).read_text())
                    write_feedback(out / student, document, assignment)
                except Exception as error:  # noqa: BLE001 - one page must not stop the class
                    print(f"grade-all: no feedback page for {student}: {one_line(error)}",
                          file=sys.stderr)
        else:
            todo[student] = path

    stop = threading.Event()
    grader, threads = None, jobs or os.cpu_count() or 1
    apart, why = processes.kept_apart(sandboxed)
    if cluster is None and not apart:
        if jobs is not None and jobs > 1:
            raise BatchError(f"refusing --jobs {jobs}: {why}. Grade with --jobs 1, install "
                             f"bubblewrap, or run the grader as root")
        threads = 1
    if cluster is not None:     # the gradings run on the workers; these threads only wait
        grader = functools.partial(cluster.grade, stop=stop)
        threads = cluster.waiting_threads(len(todo))
    from tqdm import tqdm
    bar = tqdm(total=len(todo), unit="student", desc="grading", disable=not progress or not todo)
    with bar, ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grade") as pool:
        futures = {pool.submit(grade_one, student, path, out / student, assignment=assignment,
                               sandboxed=sandboxed, html=html, stop=stop, seed=summary.seed,
                               keep_seed=seed is None, grader=grader): student
                   for student, path in todo.items()}
        try:
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001 - e.g. a full disk: say so, go on
                    outcome = Outcome(futures[future], "failed", one_line(error))
                if outcome.status == "failed":
                    summary.failed.append((outcome.student, outcome.reason))
                    bar.write(f"grade-all: the grader failed for {outcome.student}: {outcome.reason}")
                else:
                    summary.graded.append(outcome.student)
                    summary.changes += outcome.changes
                bar.set_postfix_str(outcome.student, refresh=False)
                bar.update()
        except BaseException:
            # Ctrl-C or SIGTERM: kill every worker now (the threads then return at once),
            # drop the students not started, and leave grades.csv as it was.
            stop.set()
            processes.stop_all()
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    summary.rows = csv_rows(out, submissions, assignment)
    write_csv(out / CSV_NAME, summary.rows, assignment)
    write_changes(out / CHANGES, sorted(summary.changes))
    summary.seconds = time.monotonic() - started
    return summary


# -- the verb ---------------------------------------------------------------------------
def positive(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def add_arguments(parser):
    parser.add_argument("submissions", type=Path,
                        help="a folder holding one folder or .zip per student")
    parser.add_argument("--out", type=Path, required=True,
                        help="where to write <student>/results.json and grades.csv")
    parser.add_argument("--jobs", type=positive, default=None, metavar="N",
                        help="students graded at once (default: the number of CPUs)")
    parser.add_argument("--cluster", default=None, metavar="tcp://HOST:PORT",
                        help="grade on the workers of this dask scheduler instead of here "
                             "(needs .[cluster]; see the README)")
    parser.add_argument("--force", action="store_true",
                        help="grade everyone again, even students whose results are up to date")
    parser.add_argument("--html", action="store_true",
                        help="also write <student>/feedback.html, a page for the student")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the workers without bubblewrap (rlimits only)")
    parser.add_argument("--seed", type=grade.seed, default=None, metavar="N",
                        help="the hidden inputs' seed for everyone graded in this run "
                             "(default: a fresh one, printed at the end)")
    parser.add_argument("--assignment", type=Path, default=ASSIGNMENT_TOML, metavar="TOML",
                        help="another assignment definition, e.g. one without the MNIST part "
                             "or with other limits (default: assignment/assignment.toml)")


def read_assignment(path: Path):
    try:
        return load(path)
    except FileNotFoundError:
        raise BatchError(f"no assignment definition at {path}") from None
    except (ValueError, KeyError, TypeError) as error:   # TOML syntax, missing or unknown keys
        raise BatchError(f"{path} is not a valid assignment definition ({error})") from None


def connect(address):
    """The dask cluster at ``address`` (closed on leaving), or nothing for a local batch."""
    if address is None:
        return contextlib.nullcontext()
    from . import cluster       # dask is an extra: imported only when asked for
    try:
        return cluster.Cluster(address)
    except cluster.ClusterError as error:
        raise BatchError(str(error)) from None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(args):
    previous = signal.signal(signal.SIGTERM, _interrupt)   # a kill stops workers like Ctrl-C
    try:
        assignment = read_assignment(args.assignment)
        submissions = find_submissions(args.submissions)
        strays = stray_files(args.submissions, submissions)
        if strays:
            print(f"grade-all: ignoring {len(strays)} file(s) that are neither a folder nor a "
                  f".zip, or are named like the grades' own files or with control characters "
                  f"or undecodable bytes: {', '.join(strays)}", file=sys.stderr)
        if args.cluster and args.no_sandbox:
            raise BatchError("--no-sandbox cannot be used with --cluster: a cluster grades "
                             "only in bubblewrap (see autograder/cluster.py)")
        if args.cluster and args.jobs:
            raise BatchError("--jobs is for grading here; with --cluster the workers' "
                             "threads say how many students are graded at once")
        with connect(args.cluster) as remote:
            summary = grade_all(args.submissions, args.out, jobs=args.jobs, force=args.force,
                                html=args.html, sandboxed=not args.no_sandbox,
                                assignment=assignment, seed=args.seed, cluster=remote)
    except BatchError as error:
        print(f"grade-all: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ngrade-all: interrupted; every finished student is saved. Run the same "
              "command again to grade the rest.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(summary)
    print(f"grades: {args.out / CSV_NAME}")
    return 2 if summary.failed else 0
