"""Identical wrong outputs: pairs of students whose failed hidden cases returned the same.

grade records, in each ``GRADES/<student>/results.json``,

    extra_data.seed             the seed of that run's hidden inputs (an int)
    extra_data.failed_outputs   {"2.3": "<hex sha256 of what the student's code returned>", ...}

for every failed case that returned something. Two students' outputs are comparable
only when they were graded under one seed (grade-all grades a batch under one seed), so
pairs graded under different seeds are not compared at all. A wrong output that many
students share is a common mistake rather than a shared source: each shared test says
how many students of that seed returned the same digest.
"""
import json
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from .sources import SimilarityError

RESULTS = "results.json"


@dataclass(frozen=True)
class Failures:
    student: str
    seed: int
    outputs: dict      # test number -> digest


@dataclass(frozen=True)
class Shared:
    a: str
    b: str
    seed: int
    tests: dict        # test number -> how many students of that seed returned that digest


def read_grades(folder: Path):
    """(student -> Failures, problems) from a grade-all output folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SimilarityError(f"--grades {folder} is not a folder")
    found, problems = {}, {}
    for path in sorted(folder.glob(f"*/{RESULTS}")):
        student = path.parent.name
        try:
            extra = json.loads(path.read_text()).get("extra_data") or {}
            seed, outputs = extra["seed"], extra.get("failed_outputs") or {}
            if not isinstance(seed, int) or not isinstance(outputs, dict):
                raise ValueError("extra_data.seed is not an int or failed_outputs not a mapping")
        except (OSError, ValueError, KeyError, AttributeError) as error:
            reason = "no extra_data.seed" if isinstance(error, KeyError) else str(error)
            problems[student] = f"{path.relative_to(folder)} cannot be used ({reason})"
            continue
        found[student] = Failures(student, seed, {str(t): d for t, d in outputs.items()
                                                  if isinstance(d, str)})
    return found, problems


def shared_failures(graded: dict) -> dict:
    """frozenset({a, b}) -> Shared, for every pair of students graded under one seed
    (with no tests when they share none); pairs under different seeds are absent."""
    by_seed = {}
    for failures in graded.values():
        by_seed.setdefault(failures.seed, []).append(failures)
    pairs = {}
    for seed, group in by_seed.items():
        counts = Counter((t, d) for f in group for t, d in f.outputs.items())
        for x, y in combinations(sorted(group, key=lambda f: f.student), 2):
            same = sorted((t for t, d in x.outputs.items() if y.outputs.get(t) == d), key=_number)
            pairs[frozenset((x.student, y.student))] = Shared(
                x.student, y.student, seed, {t: counts[t, x.outputs[t]] for t in same})
    return pairs


def _number(test: str):
    """"2.10" after "2.9": test numbers sort by their parts."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in test.split("."))
