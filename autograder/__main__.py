"""python -m autograder VERB ...: the instructor's tool. One module per verb."""
import argparse
import importlib
import sys

# verb -> (module implementing add_arguments(parser) and main(args) -> int, help)
VERBS = {
    "release": ("autograder.release", "write the student release from the marked solution"),
    "grade": ("autograder.grade", "grade one submission (folder or .zip) into results.json"),
    "grade-all": ("autograder.grade_all", "grade a folder of submissions in parallel into grades.csv"),
    "demo": ("autograder.demo", "release, then grade the solution and the untouched release"),
    "audit": ("autograder.audit", "grade small mutants of the solution: do the hidden cases catch them?"),
    "export": ("autograder.export", "write the Gradescope autograder bundle (autograder.zip)"),
    "similarity": ("autograder.similarity", "compare what students wrote, pairwise and with past or public code"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, (_, help_text) in VERBS.items():
        verbs.add_parser(verb, help=help_text, add_help=False)
    if not argv or argv[0] not in VERBS:
        parser.parse_args(argv)   # prints usage or the error, and exits
    verb = argv[0]
    # Import only the verb asked for: some pull in heavy instructor-side libraries.
    module = importlib.import_module(VERBS[verb][0])
    sub = argparse.ArgumentParser(prog=f"python -m autograder {verb}", description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(sub)
    return module.main(sub.parse_args(argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
