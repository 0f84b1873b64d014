"""float32 cases: what their expected values are, and that they are well conditioned.

A float32 case's expected values are the reference solution run in float32 (cast with
.to(np.float32)) on the float32 inputs, exactly as a student's layer runs. Any correct
float32 implementation then differs from them by its own rounding, which is small only
if the case is well conditioned: BatchNorm of inputs with mean 1000 and std 1, or a
softmax of logits x30, differ from the exact result by 1e-3 to 2e-2 in float32, whatever
the formula. So every float32 case must agree with the same inputs computed in float64
to a fifth of the float32 tolerance, for several seeds: two correct float32
implementations then differ by at most two fifths of it, and no correct student can fail
on rounding. (Over 30 seeds the worst case measured, Conv2d's first-layer case, reached
2.3e-5: a ninth.)
"""
import dataclasses

import numpy as np
import pytest

from autograder.assignment import load
from autograder.grading.context import Grading
from autograder.programs import compare
from autograder.specs import load_cases

# The float32 cases compared with the reference's outputs (dropout's are judged by their
# statistics, speed's by the clock).
FLOAT32 = [c for c in load_cases(load())
           if c.dtype == "float32" and c.program not in ("dropout", "speed")]
WELL_CONDITIONED = compare.TOLERANCE["float32"] / 5
SEEDS = range(8)


def float32_vs_float64(case, inputs, grading):
    """The largest compare.py-style relative error of the float32 run against float64."""
    wide = dataclasses.replace(case, spec={**case.spec, "dtype": "float64"})
    out32 = case.kind.expect(case, inputs, grading)
    out64 = wide.kind.expect(wide, {k: v.astype(np.float64) if v.dtype.kind == "f" else v
                                    for k, v in inputs.items()}, grading)
    worst = {}
    for name, value in out32.items():
        got, exact = np.asarray(value, np.float64), np.asarray(out64[name], np.float64)
        floor = compare.FLOOR["float32"] * np.max(np.abs(exact), initial=0) or np.finfo(np.float64).tiny
        worst[name] = float(np.max(np.abs(got - exact) / np.maximum(np.abs(exact), floor), initial=0))
    return worst


def test_the_float32_cases_are_the_expected_ones():
    assert len(FLOAT32) >= 10
    assert {c.program for c in FLOAT32} == {"layer", "loss", "optim"}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", FLOAT32, ids=[c.id for c in FLOAT32])
def test_every_float32_case_is_well_conditioned(case, seed):
    grading = Grading(load(), seed)
    inputs = case.kind.draw(case, grading.rng(case), grading)
    worst = float32_vs_float64(case, inputs, grading)
    assert worst and max(worst.values()) <= WELL_CONDITIONED, (
        f"{case.id}: float32 differs from float64 by {worst}: ill-conditioned inputs, where a "
        f"correct float32 implementation may fail on rounding alone")


def test_an_ill_conditioned_float32_case_would_be_caught():
    """The control: the float32 BatchNorm1d case, its input shifted to mean 1000 (std 1)."""
    case = next(c for c in FLOAT32 if c.spec["cls"] == "BatchNorm1d")
    grading = Grading(load(), 0)
    inputs = case.kind.draw(case, grading.rng(case), grading)
    inputs["x"] = (inputs["x"].astype(np.float64) + 1000).astype(np.float32)
    worst = float32_vs_float64(case, inputs, grading)
    assert max(worst.values()) > 5 * WELL_CONDITIONED, worst
