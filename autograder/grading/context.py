"""One grading's context: the assignment, the seed, the reference and the sandbox choice.

Every kind of case (``autograder/programs/``) is handed this object on the grader's side.
``reference`` is the solution's ``numpynn``, imported in the grader's process, which
never runs student code: it draws the inputs' shapes and computes the expected outputs.
"""
import functools
import hashlib
import importlib
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import REPO

SOLUTION = REPO / "solution"
SOLUTION_PACKAGE = SOLUTION / "numpynn"


@functools.lru_cache(maxsize=None)
def _code_digest() -> bytes:
    grader = REPO / "autograder"
    files = sorted([*grader.rglob("*.py"), *(grader / "cases").glob("*.toml"),
                    grader / "mnist_test.npz", *SOLUTION_PACKAGE.glob("*.py"),
                    *SOLUTION_PACKAGE.glob("*.npz")])
    h = hashlib.sha256()
    for path in files:
        if "__pycache__" not in path.parts and path.is_file():
            h.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return h.digest()


@functools.lru_cache(maxsize=None)
def grader_version(assignment) -> str:
    """A digest of everything a grade depends on besides the submission and the seed: the
    grader's code, the hidden cases and test digits, the solution and the assignment
    (parts, points, limits, recipe)."""
    return hashlib.sha256(_code_digest() + repr(assignment).encode()).hexdigest()[:16]


@functools.cache
def one_blas_thread():
    """The grader computes with one BLAS thread, as its workers do: its reference work (the
    MNIST checks) runs beside a worker, and a grading machine's other cores have workers of
    their own. Set once for the process: limits entered and left by grading threads would
    undo each other."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def new_seed() -> int:
    """A fresh seed for a grading (below 2**53, so that any JSON reader keeps it exact)."""
    return secrets.randbelow(2 ** 52)


_importing = threading.Lock()


def reference_package():
    """The solution's numpynn, imported from ``solution/`` whatever else is installed."""
    with _importing:
        return _import_solution()


def _import_solution():
    loaded = sys.modules.get("numpynn")
    if loaded is None or Path(loaded.__file__).resolve().parent != SOLUTION_PACKAGE:
        for name in [m for m in sys.modules if m == "numpynn" or m.startswith("numpynn.")]:
            del sys.modules[name]
        sys.path.insert(0, str(SOLUTION))
        # No __pycache__ beside the solution: its modes would not be the source's.
        writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            loaded = importlib.import_module("numpynn")
            for name in ("data", "losses", "models", "optim", "train"):
                importlib.import_module(f"numpynn.{name}")
        finally:
            sys.path.remove(str(SOLUTION))
            sys.dont_write_bytecode = writes
    return loaded


@dataclass
class Grading:
    assignment: object
    seed: int
    sandboxed: bool = True
    reference: object = field(default_factory=reference_package)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        one_blas_thread()

    def rng(self, case):
        """The case's inputs' generator: the grading's seed and the case's own stream."""
        return np.random.default_rng([self.seed, case.stream])

    @property
    def budget_end(self):
        return self.started + self.assignment.limits.budget_seconds

    def reference_in_worker(self, case, inputs):
        """What ``case``'s program makes of the solution in a worker of the same kind as the
        student's (for timings); None if it failed."""
        from .layout import JobFolder
        from .run import run_cases

        with JobFolder(self.assignment.package) as job:
            job.copy_package(SOLUTION_PACKAGE)
            job.make_readable()
            run = run_cases(job, [case], {case.id: inputs}, self)
        reply = run.replies[case.id]
        return None if reply.error else reply.got
