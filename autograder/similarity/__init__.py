"""python -m autograder similarity SUBMISSIONS --out DIR: who shares code with whom.

SUBMISSIONS is laid out as for grade-all (one folder or .zip per student, numpynn/ at
the top or one folder down). Only the student-owned files count, and only what the
student wrote in them: the release's code is taken out first (``written.py``), so the
given skeleton, docstrings and helpers score nothing. Every pair of students is
compared, and each student with every file under each --against folder (past terms,
collected public implementations; .py files, inside .zip files too). Fingerprinting is
copydetect's winnowing (``fingerprints.py``); nothing leaves this machine.

Writes DIR/similarity.csv (every pair, highest first; see ``report.py`` for the columns)
and DIR/report.html (the matched regions side by side). With --grades GRADES (a
grade-all output folder) it also counts, per pair graded under one seed, the failed
hidden cases that returned identical wrong outputs (``failures.py``), in a column of
similarity.csv and in DIR/identical_failures.csv.

A student whose submission cannot be read (a corrupt zip, no numpynn/ folder) is named
in the output and left out; the others are compared and the outputs always written.
"""
import sys
from pathlib import Path


def add_arguments(parser):
    parser.add_argument("submissions", type=Path, help="the class: one folder or .zip per student")
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument("--against", type=Path, nargs="+", action="extend", default=[],
                        metavar="FOLDER", help="also compare every student with every file here")
    parser.add_argument("--grades", type=Path, metavar="GRADES",
                        help="a grade-all output folder: flag identical wrong outputs")
    parser.add_argument("--show", type=int, default=20, metavar="N",
                        help="pairs shown side by side in report.html (default: %(default)s)")


def main(args):
    from ..assignment import load
    from .command import similarity
    from .sources import SimilarityError

    try:
        summary = similarity(args.submissions, args.out, assignment=load(), against=args.against,
                             grades=args.grades, show=args.show)
    except SimilarityError as error:
        print(f"similarity: {error}", file=sys.stderr)
        return 2
    for who, why in summary.problems.items():
        print(f"not compared: {who}: {why}", file=sys.stderr)
    print(f"{summary.students} students, {summary.against} --against files; highest pairs:")
    for m in summary.matches[:10]:
        print(f"  {m.similarity:6.1%}  {m.a}  {m.b}")
    timing = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in summary.seconds.items())
    print(f"report: {args.out / 'report.html'}  ({timing})")
    return 0
