"""The similarity run: read the class and the --against files, compare, write the report."""
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from .. import REPO
from . import fingerprints, report
from .failures import read_grades, shared_failures
from .sources import Release, SimilarityError, read_against, read_class


@dataclass
class Summary:
    students: int
    against: int
    matches: list                    # every Match written to similarity.csv, best first
    problems: dict                   # who or what could not be read -> why
    shared: dict = None              # frozenset pair -> Shared, with --grades
    seconds: dict = field(default_factory=dict)   # time per step


def similarity(submissions, out, *, assignment, against=(), grades=None, show=20,
               release_folder=None) -> Summary:
    """Compare every pair of students in ``submissions`` and each student with every file
    under ``against``; write the report into ``out``. Raises SimilarityError (one line)
    only when the run cannot start; a student who cannot be read is named, not fatal."""
    clock = Clock()
    release = Release(Path(release_folder or REPO / "release" / assignment.package))
    for folder in against:
        if not Path(folder).is_dir():
            raise SimilarityError(f"--against {folder} is not a folder")
    if grades is not None and not Path(grades).is_dir():
        raise SimilarityError(f"--grades {grades} is not a folder")
    students, problems = read_class(submissions, assignment, release)
    files, unread = read_against(against, assignment, release)
    problems.update(unread)
    clock.lap("read")

    given = fingerprints.boilerplate(release.folder)
    prints = {d.name: fingerprints.fingerprint(d.text, given) for d in students + files}
    clock.lap("fingerprint")
    matches = [fingerprints.match(a.name, b.name, prints[a.name], prints[b.name])
               for a, b in combinations(students, 2)]
    for s in students:
        for f in files:
            m = fingerprints.match(s.name, f.name, prints[s.name], prints[f.name], against=True)
            if m.tokens:
                matches.append(m)
    matches.sort(key=lambda m: (-m.similarity, -m.tokens, m.a, m.b))
    clock.lap("compare")

    shared = None
    if grades is not None:
        graded, unusable = read_grades(grades)
        problems.update({f"{who} (grades)": why for who, why in unusable.items()})
        shared = shared_failures(graded)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report.write_csv(out / report.SIMILARITY_CSV, report.COLUMNS, report.rows(matches, shared))
    if shared is not None:
        report.write_csv(out / report.FAILURES_CSV, report.FAILURE_COLUMNS,
                         report.failure_rows(shared))
    notes = [f"{len(students)} students compared pairwise"
             + (f" and with {len(files)} files under --against" if against else "") + ".",
             "Only what each student wrote is compared: the code of the release is taken out "
             "of their files statement by statement, and any remaining k-gram found in the "
             "release is ignored.",
             f"copydetect {fingerprints.copydetect_version()}, noise threshold "
             f"{fingerprints.NOISE} filtered characters, every k-gram kept (window 1)."]
    texts = {d.name: d.text for d in students + files}
    report.write_html(out / report.REPORT_HTML, matches, texts, title="Similarity report",
                      notes=notes, problems=problems, show=show)
    clock.lap("report")
    return Summary(len(students), len(files), matches, problems, shared, clock.laps)


class Clock:
    def __init__(self):
        self.laps, self._last = {}, time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now
