"""python -m autograder demo: the whole flow on the embedded data, end to end.

Releases the assignment from the marked solution, grades the solution (full marks
expected) and grades the untouched release (zero expected, every test saying
NotImplementedError), printing both tables. Each grading draws its own seed. Results go
to --out.
"""
import argparse
from pathlib import Path

from . import REPO, grade, release, results
from .assignment import load


def add_arguments(parser):
    parser.add_argument("--out", type=Path, default=Path("demo-results"),
                        help="folder for the two results.json files (default: %(default)s)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the workers without bubblewrap (rlimits only)")


def main(args):
    assignment = load()
    release_args = argparse.Namespace(out=None, allow_missing=False)
    print("== 1. release: solution/ -> release/")
    if release.main(release_args) != 0:
        return 1
    for step, (label, folder) in enumerate([("the solution", REPO / "solution"),
                                            ("the untouched release", REPO / "release")], 2):
        print(f"\n== {step}. grade {label} ({folder.relative_to(REPO)}/)")
        document = grade.grade(folder, sandboxed=not args.no_sandbox, assignment=assignment)
        path = args.out / f"{folder.name}.json"
        results.write_json(path, document)
        print(results.table(document, assignment.parts))
        print(f"{document['output'].splitlines()[0]}  ({document['execution_time']:.1f} s; {path})")
    return 0
