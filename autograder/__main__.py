"""``python -m autograder VERB ...``: one verb per module, imported only when used."""
import argparse
import importlib
import sys

# verb -> module implementing ``add_arguments(parser)`` and ``main(args) -> int``
VERBS = {
    "release": ("autograder.release", "write the student release from the marked solution"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    modules = {}
    for verb, (module_name, help_text) in VERBS.items():
        module = importlib.import_module(module_name)
        modules[verb] = module
        module.add_arguments(verbs.add_parser(verb, help=help_text, description=module.__doc__))
    args = parser.parse_args(argv)
    return modules[args.verb].main(args)


if __name__ == "__main__":
    sys.exit(main())
