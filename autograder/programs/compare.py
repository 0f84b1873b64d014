"""Judging arrays: what the worker returned against the reference's outputs, in the grader.

Every returned value must be a plain ndarray (the .npy channel cannot carry anything
else) of a real floating dtype, with the expected shape and dtype. Then, elementwise,

    error[i] = |got[i] - expected[i]| / max(|expected[i]|, FLOOR * max|expected|)

must stay within the tolerance of the case's dtype. The floor keeps elements that are
nearly zero, where any summation order gives a different rounding, from raising false
alarms; elsewhere this is the plain relative error.

| dtype   | tolerance | floor | why |
| ------- | --------- | ----- | --- |
| float64 | 1e-7      | 1e-3  | loops vs BLAS, or another correct formula, agree to ~1e-12 |
| float32 | 2e-4      | 1e-2  | float32 has ~7 digits; a conv sums ~100 products |

The float32 floor is wider because a sum that cancels to near zero keeps the rounding of
its terms: 72 products of size ~max in float32 leave ~5e-7 * max, which is 5e-4 of a
1e-3 floor (a false alarm) but 5e-5 of a 1e-2 one. Fresh inputs at every grading meet
such sums sooner or later (tests/test_float32_cases.py measures them over seeds).
"""
import numpy as np

TOLERANCE = {"float64": 1e-7, "float32": 2e-4}
FLOOR = {"float64": 1e-3, "float32": 1e-2}

# Friendlier names for what the worker returns.
WHAT = {"out": "the output", "grad_x": "the input gradient", "loss": "the loss"}

# The outputs of a second pass of the same calls on the same array objects (layer.py,
# loss.py, dropout.py) are named AGAIN + the first pass's name. The reference never
# changes its inputs, so they must match its one pass; for deterministic code they can
# differ only if the first pass changed an array it was given.
AGAIN = "again."
IN_PLACE = ("your code changed an input array in place (a second call on the same array "
            "gave a different result; copy before modifying)")


def describe(name):
    if name.startswith(AGAIN):
        return f"{describe(name[len(AGAIN):])} of the second pass (the same calls on the same arrays)"
    if name in WHAT:
        return WHAT[name]
    if name.startswith("out"):
        return f"the output of forward call {int(name[3:]) + 1}"
    if name.startswith("grad_x"):
        return f"the input gradient of backward call {int(name[6:]) + 1}"
    if name.startswith("trajectory"):
        return f"parameter {name[10:]} after each step"
    return name


def judge_arrays(case, got, expected, again=False):
    """(fraction of the case's points, one line of feedback): every expected array matched;
    with ``again``, by the second pass's (AGAIN + name) as well as by the first's."""
    tolerance = TOLERANCE[case.dtype]
    wanted = [*expected, *(AGAIN + name for name in expected if again)]
    missing = [name for name in wanted if name not in got]
    if missing:
        return 0.0, f"{describe(missing[0])} is missing from what your code produced"
    names = case.spec.get("compare", sorted(expected))
    for name in names:
        problem = check_array(name, got[name], expected[name], tolerance)
        if problem:
            return 0.0, problem
    for name in names if again else ():
        if check_array(AGAIN + name, got[AGAIN + name], expected[name], tolerance):
            return 0.0, IN_PLACE
    return 1.0, "passed"


def check_array(name, got, expected, tolerance):
    """None if ``got`` matches ``expected``; else one line saying how it differs."""
    if got.dtype.kind != "f":
        return f"{describe(name)} has dtype {got.dtype}; expected {expected.dtype}"
    if got.shape != expected.shape:
        return f"{describe(name)} has shape {got.shape}; expected {expected.shape}"
    if got.dtype != expected.dtype:
        return (f"{describe(name)} has dtype {got.dtype}; expected {expected.dtype} "
                f"(a layer keeps its input's dtype)")
    bad = ~np.isfinite(got) & np.isfinite(expected)
    if bad.any():
        at = np.unravel_index(np.argmax(bad), got.shape)
        return f"{describe(name)} contains {got[at]} at {list(map(int, at))}; expected {expected[at]:.6g}"
    exp64, got64 = expected.astype(np.float64), got.astype(np.float64)
    floor = FLOOR.get(expected.dtype.name, FLOOR["float64"]) * np.max(np.abs(exp64), initial=0)
    floor = floor or np.finfo(np.float64).tiny
    with np.errstate(invalid="ignore"):
        error = np.where(~np.isfinite(exp64) & (got64 == exp64), 0.0,
                         np.abs(got64 - exp64) / np.maximum(np.abs(exp64), floor))
    if error.size and np.nanmax(error) > tolerance:
        at = np.unravel_index(np.nanargmax(error), error.shape)
        where = f" at {list(map(int, at))}" if got.ndim else ""
        return (f"{name} differs: max relative error {np.nanmax(error):.1e}{where}; "
                f"expected {exp64[at]:.6g}, got {got64[at]:.6g}")
    return None
