"""``program = "dropout"``: Dropout in training mode, judged by its statistics.

A valid student may draw the mask another way than the reference, so no values are
compared. The rule: every output element is 0 or x / (1 - p); the kept fraction is
within 5 standard deviations of 1 - p; the backward uses the forward's mask
(grad_x = grad_out * mask / (1 - p)); a second forward draws a new mask; inputs unchanged.
"""
import numpy as np

from .base import Program, build, changed, draw_array, find_class, plain
from .compare import TOLERANCE, describe


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
        x, grad_out = inputs["x"].copy(), inputs["grad_out"].copy()
        given = [(x, x.copy()), (grad_out, grad_out.copy())]
        out = plain(layer.forward(x), "Dropout.forward").copy()
        grad_x = plain(layer.backward(grad_out), "Dropout.backward")
        out1 = plain(layer.forward(x), "Dropout.forward")
        return {"out": out, "grad_x": grad_x, "out1": out1, "input_changed": changed(given)}

    def judge(self, case, got, expected, inputs, grading):
        p = float(case.spec["args"][0])
        x, grad_out = inputs["x"].astype(np.float64), inputs["grad_out"].astype(np.float64)
        tolerance = TOLERANCE[case.dtype]
        for name in ("out", "grad_x", "out1"):
            if name not in got:
                return 0.0, f"{describe(name)} is missing from what your code produced"
            if got[name].shape != x.shape or got[name].dtype.kind != "f":
                return 0.0, (f"{describe(name)} has shape {got[name].shape} and dtype "
                             f"{got[name].dtype}; expected {x.shape} {inputs['x'].dtype}")
            if not np.all(np.isfinite(got[name])):
                return 0.0, f"{describe(name)} contains NaN or inf"
        if got["out"].dtype != inputs["x"].dtype:
            return 0.0, f"the output has dtype {got['out'].dtype}; expected {inputs['x'].dtype}"
        changed_by = got.get("input_changed", np.array(0.0))
        if changed_by.shape != () or changed_by != 0:
            return 0.0, "your code changed an input array in place (copy before modifying)"
        scaled = x / (1 - p)
        masks = []
        for name in ("out", "out1"):
            out = got[name].astype(np.float64)
            kept = out != 0
            if np.any(np.abs(out[kept] - scaled[kept]) > tolerance * np.abs(scaled[kept])):
                return 0.0, "kept elements must be scaled by 1 / (1 - p) (inverted dropout)"
            fraction, sigma = kept.mean(), np.sqrt(p * (1 - p) / x.size)
            if abs(fraction - (1 - p)) > 5 * sigma:
                return 0.0, (f"kept {fraction:.3f} of the elements; expected about {1 - p:.3f} "
                             f"(p is the probability of dropping)")
            masks.append(kept)
        expected_grad = np.where(masks[0], grad_out / (1 - p), 0)
        if np.any(np.abs(got["grad_x"] - expected_grad) > tolerance * (np.abs(expected_grad) + 1e-12)):
            return 0.0, "backward must use the same mask and scale as the last forward"
        if np.array_equal(masks[0], masks[1]):
            return 0.0, "two forward calls drew the same mask; draw a new one each time"
        return 1.0, "passed"


PROGRAM = Dropout()
