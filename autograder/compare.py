"""Judging one case: the worker's arrays against the fixture, in the parent process.

Every returned value must be a plain ndarray (the .npy channel cannot carry anything
else) of a real floating dtype, with the expected shape and dtype. Then, elementwise,

    error[i] = |got[i] - expected[i]| / max(|expected[i]|, FLOOR * max|expected|)

must stay within the tolerance of the case's dtype. The floor keeps elements that are
nearly zero, where any summation order gives a different rounding, from raising false
alarms; elsewhere this is the plain relative error.

| dtype   | tolerance | why |
| ------- | --------- | --- |
| float64 | 1e-7      | loops vs BLAS, or another correct formula, agree to ~1e-12 |
| float32 | 2e-4      | float32 has ~7 digits; a conv sums ~100 products |
"""
import numpy as np

TOLERANCE = {"float64": 1e-7, "float32": 2e-4}
FLOOR = 1e-3

# Friendlier names for what the worker returns.
WHAT = {"out": "the output", "grad_x": "the input gradient", "loss": "the loss",
        "input_changed": "the input"}


def describe(name):
    if name in WHAT:
        return WHAT[name]
    if name.startswith("out"):
        return f"the output of forward call {int(name[3:]) + 1}"
    if name.startswith("grad_x"):
        return f"the input gradient of backward call {int(name[6:]) + 1}"
    if name.startswith("trajectory"):
        return f"parameter {name[10:]} after each step"
    return name


def judge(case, got, expected, inputs):
    """(fraction of the case's points, one line of feedback) for a finished case."""
    if case.program == "dropout":
        return check_dropout(case, got, inputs)
    tolerance = TOLERANCE[case.dtype]
    missing = [name for name in expected if name not in got]
    if missing:
        return 0.0, f"{describe(missing[0])} is missing from what your code produced"
    for name in case.spec.get("compare", sorted(expected)):
        problem = check_array(name, got[name], expected[name], tolerance)
        if problem:
            return 0.0, problem
    return 1.0, "passed"


def check_array(name, got, expected, tolerance):
    """None if ``got`` matches ``expected``; else one line saying how it differs."""
    if name == "input_changed":
        return (None if got.shape == () and got == 0 else
                "your code changed an input array in place (copy before modifying)")
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
    floor = FLOOR * np.max(np.abs(exp64), initial=0) or np.finfo(np.float64).tiny
    with np.errstate(invalid="ignore"):
        error = np.where(~np.isfinite(exp64) & (got64 == exp64), 0.0,
                         np.abs(got64 - exp64) / np.maximum(np.abs(exp64), floor))
    if error.size and np.nanmax(error) > tolerance:
        at = np.unravel_index(np.nanargmax(error), error.shape)
        where = f" at {list(map(int, at))}" if got.ndim else ""
        return (f"{name} differs: max relative error {np.nanmax(error):.1e}{where}; "
                f"expected {exp64[at]:.6g}, got {got64[at]:.6g}")
    return None


def check_dropout(case, got, inputs):
    """Dropout in training mode: any valid mask passes, no particular random stream.

    The rule: every output element is 0 or x / (1 - p); the kept fraction is within
    5 standard deviations of 1 - p; the backward uses the forward's mask
    (grad_x = grad_out * out / x); a second forward draws a new mask; inputs unchanged.
    """
    p = float(case.spec["args"][0])
    x, grad_out = inputs["x"].astype(np.float64), inputs["grad_out"].astype(np.float64)
    tolerance = TOLERANCE[case.dtype]
    for name in ("out", "grad_x", "out1"):
        if name not in got:
            return 0.0, f"{describe(name)} is missing from what your code produced"
        if got[name].shape != x.shape or got[name].dtype.kind != "f":
            return 0.0, (f"{describe(name)} has shape {got[name].shape} and dtype "
                         f"{got[name].dtype}; expected {x.shape} {inputs['x'].dtype}")
    if got["out"].dtype != inputs["x"].dtype:
        return 0.0, f"the output has dtype {got['out'].dtype}; expected {inputs['x'].dtype}"
    if got.get("input_changed", np.array(0.0)) != 0:
        return 0.0, "your code changed an input array in place (copy before modifying)"
    out, out1 = got["out"].astype(np.float64), got["out1"].astype(np.float64)
    kept = out != 0
    scaled = x / (1 - p)
    if np.any(np.abs(out[kept] - scaled[kept]) > tolerance * np.abs(scaled[kept])):
        return 0.0, "kept elements must be scaled by 1 / (1 - p) (inverted dropout)"
    fraction, sigma = kept.mean(), np.sqrt(p * (1 - p) / x.size)
    if abs(fraction - (1 - p)) > 5 * sigma:
        return 0.0, (f"kept {fraction:.3f} of the elements; expected about {1 - p:.3f} "
                     f"(p is the probability of dropping)")
    expected_grad = np.where(kept, grad_out / (1 - p), 0)
    if np.any(np.abs(got["grad_x"] - expected_grad) > tolerance * (np.abs(expected_grad) + 1e-12)):
        return 0.0, "backward must use the same mask and scale as the last forward"
    if np.array_equal(out1 != 0, kept):
        return 0.0, "two forward calls drew the same mask; draw a new one each time"
    return 1.0, "passed"
