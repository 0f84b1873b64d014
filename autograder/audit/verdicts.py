"""Grading one mutant with the real grader, and what became of it.

A mutant is written into a submission folder (the solution's student files, the
mutated one replacing its original) and graded like any student's: ``grade.collect``
runs the hidden cases in sandboxed worker processes and ``compare.judge`` judges
each reply. The files students do not write come from the solution itself (the release
holds the same files), so the audit does not depend on a freshly built release. Only
the parts whose cases use the mutated file are run: the student files do not import
one another, so a change in one cannot reach another's cases.

The outcome of a mutant:

    caught      some case scores below full marks (a crash, an import error or a
                time-out counts: the student would lose points)
    equivalent  every case passes AND every output of every case equals the solution's
                expected output to EQUIVALENCE relative error (``compare.check_array``'s
                formula, with that tolerance); dropout's random cases count when
                they pass their statistical checks. Such a mutant computes what the
                solution computes, so no test could catch it: it leaves the denominator.
    survived    every case passes, but some output differs from the solution's by more
                than EQUIVALENCE: a change the hidden cases could have noticed and did not.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import grade
from ..compare import check_array, judge
from ..specs import load_cases
from .mutants import Mutant

EQUIVALENCE = 1e-12
NOT_AUDITED = ("mnist", "speed")   # minutes of training, and a timing: no fixed outputs


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

    def __init__(self, assignment, *, solution=grade.SOLUTION_PACKAGE, sandboxed=True):
        self.assignment = dataclasses.replace(
            assignment, parts=tuple(p for p in assignment.parts if p.id not in NOT_AUDITED))
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
            got = grade.collect(package.parent, sandboxed=self.sandboxed,
                                assignment=self.for_file(file),
                                release_package=self.solution)
        if got.run is not None:
            self.ran_sandboxed.add(got.run.sandboxed)
        outcome, reason, by = classify(got)
        return Verdict(mutant, outcome, reason, time.monotonic() - started, by)

    def check_baseline(self, files):
        """The unmutated solution must pass every case and reproduce the fixtures exactly."""
        for file in files:
            if not self.parts_of.get(file):
                continue
            verdict = self.grade(None, file)
            if verdict.outcome != "equivalent":
                raise AuditError(
                    f"the unmutated solution's {file} does not pass its hidden cases exactly "
                    f"({verdict.reason}); are the fixtures up to date?")


def classify(got) -> tuple[str, str, str]:
    """(outcome, reason, how it was caught) for a ``grade.Collected``: see the module's
    docstring. A mutant is caught by an "error" (an exception, a time or memory limit: the
    code could not run) or by a "value" (it ran and some output is wrong)."""
    if got.run is None:
        return "caught", got.problem, "error"
    for case in got.cases:
        reply = got.replies[case.id]
        if reply.error:
            return "caught", f"{case.number} {case.title}: {reply.error}", "error"
        inputs, expected = got.stored[case.id]
        score, message = judge(case, reply.arrays, expected, inputs)
        if score < 1:
            return "caught", f"{case.number} {case.title}: {message}", "value"
    for case in got.cases:
        if case.program == "dropout":
            continue                     # random masks: passing is all that can be asked
        arrays, expected = got.replies[case.id].arrays, got.stored[case.id][1]
        for name in sorted(expected):
            problem = check_array(name, arrays[name], expected[name], EQUIVALENCE)
            if problem:
                return "survived", f"{case.number} {case.title}: {problem}", ""
    return "equivalent", "every output equals the solution's to 1e-12", ""
