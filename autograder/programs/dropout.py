"""``program = "dropout"``: Dropout in training mode, judged by its statistics.

A valid student may draw the mask another way than the reference, so no values are
compared. The worker calls forward(x) and backward(grad_out) (outputs ``out`` and
``grad_x``), then both again on the same layer and the very same array objects, as the
first calls left them (``again.out``, ``again.grad_x``). The rule, each pass judged
against the ORIGINAL x and grad_out, which only the grader holds: every output element
is 0 or x / (1 - p); the kept fraction is within 5 standard deviations of 1 - p; the
backward uses its forward's mask (grad_x = grad_out * mask / (1 - p)); the second
forward draws a new mask. A second pass that fails where the first passed shows that
the first changed an array it was given.
"""
import numpy as np

from .base import Program, build, draw_array, find_class, plain
from .compare import AGAIN, IN_PLACE, TOLERANCE, describe

NAMES = ("out", "grad_x", AGAIN + "out", AGAIN + "grad_x")


class Dropout(Program):
    def draw(self, case, rng, grading):
        dtype = np.dtype(case.dtype)
        x = draw_array(case.spec, rng, case.spec["x"], dtype)
        return {"x": x, "grad_out": draw_array(case.spec, rng, x.shape, dtype)}

    def expect(self, case, inputs, grading):
        return None

    def run(self, case, package, inputs, channel):
        spec = case["spec"]
        layer = build(find_class(package, spec), spec, np.dtype(spec.get("dtype", "float64"))).train()
        outputs = {}
        for prefix in ("", AGAIN):     # the request's own arrays both times
            outputs[prefix + "out"] = plain(layer.forward(inputs["x"]), "Dropout.forward").copy()
            outputs[prefix + "grad_x"] = plain(layer.backward(inputs["grad_out"]), "Dropout.backward").copy()
        return outputs

    def judge(self, case, got, expected, inputs, grading):
        p = float(case.spec["args"][0])
        x, grad_out = inputs["x"].astype(np.float64), inputs["grad_out"].astype(np.float64)
        for name in NAMES:
            if name not in got:
                return 0.0, f"{describe(name)} is missing from what your code produced"
            if got[name].shape != x.shape or got[name].dtype.kind != "f":
                return 0.0, (f"{describe(name)} has shape {got[name].shape} and dtype "
                             f"{got[name].dtype}; expected {x.shape} {inputs['x'].dtype}")
            if not np.all(np.isfinite(got[name])):
                return 0.0, f"{describe(name)} contains NaN or inf"
        if got["out"].dtype != inputs["x"].dtype:
            return 0.0, f"the output has dtype {got['out'].dtype}; expected {inputs['x'].dtype}"
        tolerance = TOLERANCE[case.dtype]
        problem, mask = check_pass(got["out"], got["grad_x"], x, grad_out, p, tolerance)
        if problem:
            return 0.0, problem
        problem, mask_again = check_pass(got[AGAIN + "out"], got[AGAIN + "grad_x"], x, grad_out, p, tolerance)
        if problem:
            return 0.0, IN_PLACE
        if np.array_equal(mask, mask_again):
            return 0.0, "two forward calls drew the same mask; draw a new one each time"
        return 1.0, "passed"


def check_pass(out, grad_x, x, grad_out, p, tolerance):
    """(None, the mask) if ``out`` and ``grad_x`` are inverted dropout of ``x`` and
    ``grad_out`` with one mask; (one line saying why not, the mask) otherwise."""
    out = out.astype(np.float64)
    kept, scaled = out != 0, x / (1 - p)
    if np.any(np.abs(out[kept] - scaled[kept]) > tolerance * np.abs(scaled[kept])):
        return "kept elements must be scaled by 1 / (1 - p) (inverted dropout)", kept
    fraction, sigma = kept.mean(), np.sqrt(p * (1 - p) / x.size)
    if abs(fraction - (1 - p)) > 5 * sigma:
        return (f"kept {fraction:.3f} of the elements; expected about {1 - p:.3f} "
                f"(p is the probability of dropping)"), kept
    expected_grad = np.where(kept, grad_out / (1 - p), 0)
    if np.any(np.abs(grad_x - expected_grad) > tolerance * (np.abs(expected_grad) + 1e-12)):
        return "backward must use the same mask and scale as the last forward", kept
    return None, kept


PROGRAM = Dropout()
