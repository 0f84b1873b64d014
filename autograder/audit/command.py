"""The audit itself: list the mutants, check the baseline, grade them in parallel."""
from __future__ import annotations

import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from ..grading.context import SOLUTION_PACKAGE
from .mutants import solution_mutants
from .verdicts import AuditError, Auditor


def audit(assignment, *, files=None, limit=None, seed=0, jobs=2, sandboxed=True,
          solution=SOLUTION_PACKAGE, progress=True):
    """Grade the mutants of ``solution``; returns (verdicts in mutant order, header lines)."""
    started = time.monotonic()
    if jobs < 1:
        raise AuditError(f"--jobs must be at least 1, got {jobs}")
    unknown = sorted(set(files or ()) - set(assignment.student_files))
    if unknown:
        raise AuditError(f"{', '.join(unknown)} is not a student file "
                         f"(choose from {', '.join(assignment.student_files)})")
    every = list(solution_mutants(solution, files or assignment.student_files))
    chosen = sample(every, limit, seed)
    auditor = Auditor(assignment, solution=solution, sandboxed=sandboxed)
    auditor.check_baseline(sorted({m.file for m in chosen}))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        graded = pool.map(auditor.grade, chosen)
        verdicts = list(tqdm(graded, total=len(chosen), desc="audit", unit="mutant",
                             disable=not progress, file=sys.stderr))
    which = (f"a sample of {len(chosen)} of {len(every)} mutants (seed {seed})"
             if len(chosen) < len(every) else f"all {len(every)} mutants")
    sandbox = {frozenset({True}): "sandboxed workers",
               frozenset({False}): "workers WITHOUT a sandbox"}.get(
        frozenset(auditor.ran_sandboxed), "workers, some sandboxed and some not")
    header = [f"- Mutants: {which} of the marked regions of "
              f"{', '.join(files) if files else 'every student file'}.",
              f"- Graded by the real grader ({sandbox}, {jobs} at a time), against the hidden "
              f"cases of every part but {' and '.join(auditor.not_audited)}.",
              f"- Run time: {time.monotonic() - started:.0f} s."]
    return verdicts, header


def sample(every, limit, seed):
    """``limit`` of the mutants, drawn with ``seed``, in their original order (all if None)."""
    if limit is None or limit >= len(every):
        return list(every)
    if limit < 1:
        raise AuditError(f"--limit must be at least 1, got {limit}")
    picked = set(random.Random(seed).sample(range(len(every)), limit))
    return [m for i, m in enumerate(every) if i in picked]
