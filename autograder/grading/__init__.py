"""Grading one submission, as a pipeline of stages (one module each):

    prepare   every case's fresh inputs and the reference's expected outputs  (prepare.py)
    assemble  the release's package with the student's files in a job folder  (../submission.py, layout.py)
    run       the cases in sandboxed workers, under deadlines and a budget     (run.py)
    judge     each reply against the reference, by its kind of case          (judge.py)
    report    the results.json document                                       (report.py)

``grade`` runs them all; ``collect`` stops before judging (the audit judges with the same
loop, then looks closer).
"""
import time
from dataclasses import dataclass
from pathlib import Path

from .. import REPO
from ..processes import sandbox_available
from ..specs import load_cases
from ..submission import SubmissionError, assemble
from . import report
from .context import Grading, new_seed
from .judge import judge_all
from .layout import JobFolder
from .prepare import prepare
from .run import run_cases

RELEASE_PACKAGE = REPO / "release" / "numpynn"


@dataclass
class Collected:
    """Everything a grading gathered for one submission, before any judgement."""
    grading: Grading
    cases: list
    prepared: dict          # case id -> (inputs, expected)
    run: object             # run.Run, or None when the submission could not be read
    notes: list
    problem: str = ""       # why the submission could not be read


def collect(submission, grading, *, release_package=RELEASE_PACKAGE) -> Collected:
    cases = load_cases(grading.assignment)
    prepared = prepare(cases, grading)     # before any student code runs
    with JobFolder(grading.assignment.package) as job:
        try:
            notes = assemble(Path(submission), release_package, grading.assignment.student_files, job)
        except SubmissionError as error:
            return Collected(grading, cases, prepared, None, [], str(error))
        run = run_cases(job, cases, {c.id: prepared[c.id][0] for c in cases}, grading)
    return Collected(grading, cases, prepared, run, notes)


def grade(submission, *, assignment, sandboxed=True, seed=None, release_package=RELEASE_PACKAGE):
    """Grade one submission; returns the results.json document."""
    grading = Grading(assignment, new_seed() if seed is None else seed,
                      sandboxed=sandboxed and sandbox_available()[0])
    got = collect(submission, grading, release_package=release_package)
    seconds = time.monotonic() - grading.started
    if got.run is None:
        return report.unreadable(got.cases, grading, got.problem, seconds)
    verdicts, leaderboard, extra = judge_all(got.cases, got.run.replies, got.prepared, grading)
    return report.document(verdicts, got.run, grading, notes=got.notes, leaderboard=leaderboard,
                           extra=extra, seconds=time.monotonic() - grading.started)
