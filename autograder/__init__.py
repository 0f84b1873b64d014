"""The instructor's tool: release the assignment, grade submissions, audit the cases.

One subpackage or module per command-line verb (see ``python -m autograder --help``),
plus the shared pieces: the assignment definition (``assignment``), the hidden case
specs (``specs``), the kinds of case (``programs/``), the grading stages (``grading/``),
the worker that runs inside the sandbox (``worker``, with ``frames``), the sandbox's
plan (``sandbox``) and ``processes``, the only module that starts processes.
"""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
