"""``program = "loss"``: a loss's forward (a number) and backward (the logits' gradient).

Inputs: ``x`` (N, C) and ``target``: class indices for CrossEntropyLoss, an array like
``x`` otherwise. Outputs: ``loss`` (a float64 scalar) and ``grad_x``; then ``again.loss``
and ``again.grad_x`` from a fresh loss given the very same ``x`` and ``target`` objects,
as the first left them. All are compared with the reference's one pass: a second that
differs shows, in the grader, that the first changed an array it was given.
"""
import numpy as np

from .base import CaseError, Program, draw_array, find_class, plain
from .compare import AGAIN, judge_arrays


class Loss(Program):
    def draw(self, case, rng, grading):
        spec, dtype = case.spec, np.dtype(case.dtype)
        x = draw_array(spec, rng, spec["x"], dtype)
        if spec["cls"] == "CrossEntropyLoss":
            return {"x": x, "target": rng.integers(0, spec["x"][1], size=spec["x"][0])}
        return {"x": x, "target": draw_array(spec, rng, spec["x"], dtype)}

    def expect(self, case, inputs, grading):
        """One pass of the reference, which never changes an input: a second would repeat it."""
        return self.one_pass(find_class(grading.reference, case.spec),
                             inputs["x"].copy(), inputs["target"].copy())

    def run(self, case, package, inputs, channel):
        cls = find_class(package, case["spec"])
        first = self.one_pass(cls, inputs["x"], inputs["target"])
        # The request's own arrays once more, as the first pass left them.
        again = self.one_pass(cls, inputs["x"], inputs["target"])
        return {**first, **{AGAIN + name: value for name, value in again.items()}}

    def judge(self, case, got, expected, inputs, grading):
        return judge_arrays(case, got, expected, again=True)

    def one_pass(self, cls, x, target):
        loss_fn = cls()
        loss = np.asarray(loss_fn.forward(x, target))
        if loss.size != 1 or loss.dtype.kind not in "fiu":
            raise CaseError(f"{cls.__name__}.forward returned {loss.shape} {loss.dtype}, "
                            f"expected a number")
        # A copy: the gradient may be x itself, changed in place, which the second pass reaches.
        grad = plain(loss_fn.backward(), f"{cls.__name__}.backward").copy()
        return {"loss": loss.reshape(()).astype(np.float64), "grad_x": grad}


PROGRAM = Loss()
