"""Grading one mutant with the real grader, and what became of it.

A mutant is written into a submission folder (the solution's student files, the
mutated one replacing its original) and graded like any student's, under a fixed seed:
``grading.collect`` runs the hidden cases in sandboxed worker processes and
``grading.judge.judge_all``, the loop every grading uses, judges each reply. The files students do not write come from the solution itself (the release
holds the same files), so the audit does not depend on a freshly built release. Only
the parts whose cases use the mutated file are run: the student files do not import
one another, so a change in one cannot reach another's cases.

The outcome of a mutant:

    caught      some case scores below full marks (a crash, an import error or a
                time-out counts: the student would lose points)
    equivalent  every case passes AND every output of every case (of both passes, where
                a kind runs its calls twice) equals the solution's expected output to
                EQUIVALENCE relative error (``compare.check_array``'s formula, with that
                tolerance); cases judged without expected outputs (dropout's statistics)
                count when they pass. Such a mutant computes what the solution computes,
                so no test could catch it: it leaves the denominator.
    survived    every case passes, but some output differs from the solution's by more
                than EQUIVALENCE: a change the hidden cases could have noticed and did not.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import grading
from ..grading.context import SOLUTION_PACKAGE, Grading
from ..grading.judge import judge_all
from ..programs.compare import AGAIN, check_array
from ..specs import load_cases
from .mutants import Mutant

EQUIVALENCE = 1e-12
SEED = 0            # the hidden inputs' seed: every mutant is graded on the same inputs


class AuditError(Exception):
    """The audit cannot run; the message says what to do."""


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant | None      # None for the unmutated solution
    outcome: str               # "caught", "equivalent" or "survived"
    reason: str                # the case that caught it, or the first difference left
    seconds: float
    by: str = ""               # how a caught mutant was caught: "error" or "value"


class Auditor:
    """Grades mutants of ``solution`` against the hidden cases of ``assignment``."""

    def __init__(self, assignment, *, solution=SOLUTION_PACKAGE, sandboxed=True):
        audited = {c.part for c in load_cases(assignment) if c.kind.audited}
        self.not_audited = [p.id for p in assignment.parts if p.id not in audited]
        self.assignment = dataclasses.replace(
            assignment, parts=tuple(p for p in assignment.parts if p.id in audited))
        self.solution = Path(solution)
        self.sandboxed = sandboxed
        self.ran_sandboxed = set()  # whether each worker run really had the sandbox
        self.parts_of = {}          # "conv.py" -> ids of the parts whose cases use it
        for case in load_cases(self.assignment):
            self.parts_of.setdefault(f"{case.spec['module']}.py", set()).add(case.part)

    def for_file(self, file):
        """The assignment cut down to the parts that exercise ``file``."""
        ids = self.parts_of.get(file, set())
        return dataclasses.replace(self.assignment,
                                   parts=tuple(p for p in self.assignment.parts if p.id in ids))

    def grade(self, mutant: Mutant | None, file=None) -> Verdict:
        """The verdict on ``mutant``, or on the unmutated solution's ``file``."""
        file = mutant.file if mutant else file
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="numpynn-mutant-") as tmp:
            package = Path(tmp) / "submission" / self.assignment.package
            package.mkdir(parents=True)
            for name in self.assignment.student_files:
                source = self.solution / name
                if source.is_file():
                    (package / name).write_text(source.read_text())
            if mutant:
                (package / mutant.file).write_text(mutant.source)
            context = Grading(self.for_file(file), SEED, sandboxed=self.sandboxed)
            got = grading.collect(package.parent, context, release_package=self.solution)
        if got.run is not None:
            self.ran_sandboxed.add(got.run.sandboxed)
        outcome, reason, by = classify(got)
        return Verdict(mutant, outcome, reason, time.monotonic() - started, by)

    def check_baseline(self, files):
        """The unmutated solution must pass every case and reproduce the reference exactly."""
        for file in files:
            if not self.parts_of.get(file):
                continue
            verdict = self.grade(None, file)
            if verdict.outcome != "equivalent":
                raise AuditError(
                    f"the unmutated solution's {file} does not pass its hidden cases exactly "
                    f"({verdict.reason})")


def classify(got) -> tuple[str, str, str]:
    """(outcome, reason, how it was caught) for a ``grading.Collected``: see the module's
    docstring. A mutant is caught by an "error" (an exception, a time or memory limit: the
    code could not run) or by a "value" (it ran and some output is wrong)."""
    if got.run is None:
        return "caught", got.problem, "error"
    verdicts, _, _ = judge_all(got.cases, got.run.replies, got.prepared, got.grading)
    for v in verdicts:
        if v.score < 1:
            return "caught", f"{v.case.number} {v.case.title}: {v.message}", "error" if v.error else "value"
    for v in verdicts:
        expected = got.prepared[v.case.id][1]
        for name in sorted(expected or ()):       # None: judged without expected outputs
            # The second pass on the same arrays (AGAIN + name), where a kind has one.
            for returned in (name, AGAIN + name):
                problem = returned in v.got and check_array(
                    returned, v.got[returned], expected[name], EQUIVALENCE)
                if problem:
                    return "survived", f"{v.case.number} {v.case.title}: {problem}", ""
    return "equivalent", "every output equals the solution's to 1e-12", ""
