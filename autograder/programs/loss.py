"""``program = "loss"``: a loss's forward (a number) and backward (the logits' gradient).

Inputs: ``x`` (N, C) and ``target``: class indices for CrossEntropyLoss, an array like
``x`` otherwise. Outputs: ``loss`` (a float64 scalar), ``grad_x`` and ``input_changed``.
"""
import numpy as np

from .base import CaseError, Program, changed, draw_array, find_class, plain


class Loss(Program):
    def draw(self, case, rng, grading):
        spec, dtype = case.spec, np.dtype(case.dtype)
        x = draw_array(spec, rng, spec["x"], dtype)
        if spec["cls"] == "CrossEntropyLoss":
            return {"x": x, "target": rng.integers(0, spec["x"][1], size=spec["x"][0])}
        return {"x": x, "target": draw_array(spec, rng, spec["x"], dtype)}

    def run(self, case, package, inputs, channel):
        cls = find_class(package, case["spec"])
        loss_fn = cls()
        x, target = inputs["x"].copy(), inputs["target"].copy()
        given = [(x, x.copy()), (target, target.copy())]
        loss = np.asarray(loss_fn.forward(x, target))
        if loss.size != 1 or loss.dtype.kind not in "fiu":
            raise CaseError(f"{cls.__name__}.forward returned {loss.shape} {loss.dtype}, "
                            f"expected a number")
        grad = plain(loss_fn.backward(), f"{cls.__name__}.backward")
        return {"loss": loss.reshape(()).astype(np.float64), "grad_x": grad,
                "input_changed": changed(given)}


PROGRAM = Loss()
