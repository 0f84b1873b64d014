"""Write the folder students receive, from the marked solution, in one command.

nbgrader's ``generate_assignment`` strips notebooks only and copies .py files with
their solutions (nbgrader issue #1237). This command strips both with nbgrader's own
preprocessors, then checks the result before it replaces the release folder:

    build    numpynn/ (solution regions -> stubs), notebooks/, public_tests/,
             HANDOUT.md, pyproject.toml                        (build.py, strip.py)
    leaks    no line of a solution region appears in any released file  (leaks.py)
    import   the release imports in a fresh Python                     (checks.py)
    tests    each public test fails on the release only by NotImplementedError,
             and passes on the solution                                 (checks.py)

Nothing is written unless every check passes (staging.py).
"""
import sys
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where to write the release (default: release/ at the repository root)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="draft release: skip inputs of the assignment that do not exist yet")


def main(args) -> int:
    # Imported here: `python -m autograder` imports every verb's module to build its help.
    from .. import REPO
    from .command import release
    from .sources import Sources

    # nbgrader imports nbformat, which imports jsonschema, which builds an IRI grammar
    # at import when the optional package rfc3987-syntax is installed: 0.8 s, a third
    # of a release. nbformat never checks string formats, so this process goes without.
    sys.modules.setdefault("rfc3987_syntax", None)
    return release(Sources.from_repo(REPO), args.out or REPO / "release", allow_missing=args.allow_missing)
