"""python -m autograder audit: how many small bugs in the solution do the hidden cases catch?

Makes mutants of the solution's marked regions (one small change each: a swapped
operator, an index +-1, a dropped term, a transpose, another axis, ...; see
``mutants.py``), grades each one with the real grader in sandboxed workers, and
reports how many were caught, how many are equivalent to the solution (dropped from
the count) and every survivor as a diff (see ``verdicts.py`` for the rule). The
MNIST training run and the speed feedback are not audited. autograder/AUDIT.md
explains the method and records the last full run.
"""
import os
import sys
from pathlib import Path


def add_arguments(parser):
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="mutants graded at once (default: the number of CPUs, %(default)s)")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="grade a random sample of N mutants (see --seed)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default: 0)")
    parser.add_argument("--file", action="append", metavar="NAME", dest="files",
                        help="only mutate this student file, e.g. conv.py (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the workers without bubblewrap (rlimits only)")
    parser.add_argument("--fail-under", type=float, metavar="PERCENT",
                        help="exit 1 when fewer than PERCENT%% of non-equivalent mutants are caught")


def main(args):
    from ..assignment import load
    from . import report
    from .command import AuditError, audit

    try:
        verdicts, header = audit(load(), files=args.files, limit=args.limit, seed=args.seed,
                                 jobs=args.jobs, sandboxed=not args.no_sandbox)
    except AuditError as error:
        print(f"audit: {error}", file=sys.stderr)
        return 2
    text = report.markdown(verdicts, header=header)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    survivors = [v for v in verdicts if v.outcome == "survived"]
    for v in survivors:
        print(f"\nsurvived: {v.mutant.id}\n  {v.reason}\n{v.mutant.diff()}", end="")
    print(f"\n{report.summary(verdicts)}" + (f"\nreport: {args.out}" if args.out else ""))
    caught, judged = report.score(verdicts)
    if args.fail_under is not None and judged and 100 * caught / judged < args.fail_under:
        return 1
    return 0
