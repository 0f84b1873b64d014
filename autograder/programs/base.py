"""What every kind of hidden case has: the ``Program`` base class and the worker's helpers.

A kind of case (``program = "layer"`` in ``autograder/cases/*.toml``) is one module of
this folder holding one ``Program`` subclass, ``PROGRAM``. Its methods run on two sides:

    in the grader (a process that never runs student code)
        seconds(case, limits)                  the case's wall-clock limit
        wire(case, grading)                    what the worker is told of the case (a dict)
        draw(case, rng, grading)               its input arrays, fresh at every grading
        expect(case, inputs, grading)          the reference's outputs (None: judged without)
        converse(session, case, inputs, grading)  asks the worker; returns what to judge
        judge(case, got, expected, inputs, grading) -> (fraction of the points, one line)
        extras(case, got)                      (leaderboard entries, extra_data) for results.json

    in the sandboxed worker
        run(case, package, inputs, channel)    the student's code on the inputs -> arrays

This folder is copied into the sandbox with the worker, so its modules import only the
standard library, numpy and each other. ``grading`` (the grader's side) gives the
reference package, the seed and the assignment; see ``autograder/grading/context.py``.
"""
import importlib
import threading

import numpy as np

from .compare import judge_arrays

# Layers draw their initial weights from numpynn's one global generator: in a grader
# grading several students in threads, building one must not interleave with another.
BUILDING = threading.Lock()


class CaseError(Exception):
    """A problem found in what the student's code returned or defined: one line."""


class Program:
    """A kind of case; subclasses override what differs (see the module's docstring)."""

    audited = True      # whether ``python -m autograder audit`` grades mutants against it

    def seconds(self, case, limits):
        return limits.case_seconds

    def wire(self, case, grading):
        return case.wire

    def draw(self, case, rng, grading):
        raise NotImplementedError

    def expect(self, case, inputs, grading):
        """By default: the same ``run`` on the reference package, here in the grader."""
        return self.run(self.wire(case, grading), grading.reference,
                        {k: v.copy() for k, v in inputs.items()}, None)

    def converse(self, session, case, inputs, grading):
        """By default: one request with the inputs, one reply with the outputs."""
        return session.ask(inputs)

    def judge(self, case, got, expected, inputs, grading):
        """By default: every expected array matched, to the case's dtype's tolerance."""
        return judge_arrays(case, got, expected)

    def extras(self, case, got):
        return [], {}

    def run(self, case, package, inputs, channel):
        raise NotImplementedError


# -- the worker's helpers: finding and calling the student's code ---------------------------
def find_class(package, spec):
    module = importlib.import_module(f"{package.__name__}.{spec['module']}")
    cls = getattr(module, spec["cls"], None)
    if not isinstance(cls, type):
        raise CaseError(f"{spec['module']}.py defines no class {spec['cls']}")
    return cls


def build(cls, spec, dtype):
    with BUILDING:
        layer = cls(*spec.get("args", []), **spec.get("kwargs", {}))
    return layer.to(dtype)


def plain(value, what):
    """``value`` if it is a plain ndarray of real numbers; a CaseError saying why not."""
    if type(value) is not np.ndarray:
        raise CaseError(f"{what} returned {type(value).__name__}, expected a numpy.ndarray")
    if value.dtype.kind not in "fiub":
        raise CaseError(f"{what} returned an array of dtype {value.dtype}, expected floats")
    return value


def numbered(stem, k):
    return stem if k == 0 else f"{stem}{k}"


def draw_array(spec, rng, shape, dtype):
    """One input array: standard normal times ``scale`` (|.| when scale < 0), or the
    integers -2..2 with ``ties`` (max-pool ties, exact zeros for activations)."""
    if spec.get("ties"):
        return rng.integers(-2, 3, size=shape).astype(dtype)
    scale = float(spec.get("scale", 1.0))
    values = rng.standard_normal(shape)
    return (np.abs(values) * scale if scale < 0 else values * scale).astype(dtype)
