"""The instructor's tool: release the assignment, compute reference fixtures, grade.

One subpackage or module per command-line verb (see ``python -m autograder --help``),
plus the shared pieces: the assignment definition, the hidden case specs, the worker
that runs inside the sandbox, and ``workers``, the only module that starts processes.
"""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
