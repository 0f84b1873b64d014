"""The kinds of hidden case: one module per ``program`` value of ``autograder/cases/*.toml``.

``kind(name)`` is the ``Program`` of ``programs/<name>.py`` (its ``PROGRAM``). Nothing
outside this folder knows a kind by its name. See README.md here for adding one.
"""
import importlib
import re

from .base import CaseError, Program

__all__ = ["CaseError", "Program", "kind"]

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def kind(name):
    """The Program that runs and judges cases with ``program = name``."""
    if not isinstance(name, str) or not _NAME.match(name) or name in ("base", "compare"):
        raise ValueError(f"{name!r} is not a kind of case")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise ValueError(f"no kind of case {name!r}: autograder/programs/{name}.py is missing") from None
    program = getattr(module, "PROGRAM", None)
    if not isinstance(program, Program):
        raise ValueError(f"autograder/programs/{name}.py defines no PROGRAM (a Program)")
    return program
