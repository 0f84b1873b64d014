"""python -m autograder grade SUBMISSION [--results PATH] [--seed N]: grade one submission.

SUBMISSION is a folder or a .zip holding the student's numpynn package. The student's
code runs only in a sandboxed worker process, which is sent freshly drawn hidden inputs
and sends back outputs; this process computes the expected outputs with the reference
solution, judges, and writes results.json (Gradescope's format) and a table. The
stages are in ``autograder/grading/``. Every grading draws a new seed, recorded in
results.json (``extra_data.seed``); ``--seed N`` grades exactly as that run did.
It exits 0 whenever it wrote results, however low the score, and 2 when the grader
itself failed.
"""
import sys
import traceback
from pathlib import Path

from . import grading, results
from .assignment import load
from .processes import sandbox_available
from .specs import load_cases


def grade(submission, *, sandboxed=True, assignment=None, seed=None,
          release_package=grading.RELEASE_PACKAGE):
    """Grade one submission; returns the results.json document."""
    return grading.grade(submission, assignment=assignment or load(), sandboxed=sandboxed,
                         seed=seed, release_package=release_package)


def failed_results(error, assignment=None):
    """Every test at 0 saying the grader failed, so that a results file always exists."""
    try:
        cases = load_cases(assignment or load())
    except Exception:  # noqa: BLE001 - the assignment itself may be what is broken
        cases = []
    detail = (str(error).splitlines() or [""])[0]     # one line, whatever the exception says
    reason = f"the grader failed ({type(error).__name__}: {detail}); please tell your instructor"
    return results.gradescope([results.test_entry(c, 0.0, reason) for c in cases],
                              execution_time=0.0, output=reason)


def seed(text):
    value = int(text)
    if not 0 <= value < 2 ** 63:
        raise ValueError(text)
    return value


def add_arguments(parser):
    parser.add_argument("submission", type=Path, help="a folder or .zip holding numpynn/")
    parser.add_argument("--results", type=Path, default=Path("results.json"),
                        help="where to write results.json (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=None, metavar="N",
                        help="the hidden inputs' seed, to grade exactly as an earlier run "
                             "(its results.json's extra_data.seed); default: a fresh one")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the worker without bubblewrap (rlimits only)")
    parser.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade when bubblewrap cannot be used")
    parser.add_argument("--quiet", action="store_true", help="no table on the terminal")
    parser.add_argument("--html", action="store_true",
                        help="also write feedback.html, a page for the student, next to the results")


def main(args):
    assignment = load()
    try:
        available, why_not = sandbox_available()
        if args.require_sandbox and (args.no_sandbox or not available):
            why_not = "--no-sandbox was given" if args.no_sandbox else why_not
            print(f"grade: refusing to grade without the sandbox (--require-sandbox): {why_not}",
                  file=sys.stderr)
            results.write_json(args.results, failed_results(
                RuntimeError("the sandbox is required but unavailable"), assignment))
            return 2
        document = grade(args.submission, sandboxed=not args.no_sandbox, assignment=assignment,
                         seed=args.seed)
    except Exception as error:  # noqa: BLE001 - still leave a complete results file
        traceback.print_exc()
        results.write_json(args.results, failed_results(error, assignment))
        return 2
    results.write_json(args.results, document)
    if args.html:
        from . import feedback
        try:
            feedback.write(args.results.with_name("feedback.html"), document, assignment)
        except Exception as error:  # noqa: BLE001 - results.json is written: say why no page
            print(f"grade: no feedback page: {type(error).__name__}: {error}".splitlines()[0],
                  file=sys.stderr)
    if not args.quiet:
        print(results.table(document, assignment.parts))
        print(f"\n{document['output'].splitlines()[0]}  results: {args.results}")
    return 0
