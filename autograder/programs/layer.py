"""``program = "layer"``: a module's forward and backward calls on drawn inputs.

Inputs: ``param.<name>`` for each parameter (so that results do not depend on the
student's initialisation), ``buffer.<name>`` for each buffer (random running statistics
make the momentum form and eval mode visible), ``x``, ``x1``, ... for each forward and
``grad_out``, ``grad_out1``, ... for each backward of the case's ``steps``.

Outputs: ``out``, ``out1``, ... for each forward; ``grad_x``, ... for each backward;
``grad_<parameter>`` and each buffer after the last step. Then the same, ``again.out``,
``again.grad_x``, ..., from a second pass of the steps on a fresh layer (the same
parameters, buffers and mode) given the very same array objects as the first, as the
first left them. All are compared with the reference's outputs of one pass on the same
inputs (``compare.py``): a second pass that differs shows, in the grader, that the first
changed an array it was given; nothing the worker reports about itself is trusted.
"""
import numpy as np

from .base import CaseError, Program, build, draw_array, find_class, numbered, plain
from .compare import AGAIN, judge_arrays

DEFAULT_STEPS = ["forward", "backward"]


class Layer(Program):
    def steps(self, spec):
        return spec.get("steps", DEFAULT_STEPS)

    def draw(self, case, rng, grading):
        spec, dtype = case.spec, np.dtype(case.dtype)
        layer = build(find_class(grading.reference, spec), spec, dtype)
        inputs = {f"param.{name}": draw_array(spec, rng, p.data.shape, dtype)
                  for name, p in layer.named_parameters()}
        for name in layer._buffers:
            low = 0.5 if name == "running_var" else -1.0
            inputs[f"buffer.{name}"] = rng.uniform(
                low, 1.0 + abs(low), np.shape(getattr(layer, name))).astype(dtype)
        steps = self.steps(spec)
        x = draw_array(spec, rng, spec["x"], dtype)
        out_shape = layer.eval().forward(x.copy()).shape
        for k in range(steps.count("forward")):
            inputs[numbered("x", k)] = x if k == 0 else draw_array(spec, rng, spec["x"], dtype)
        for k in range(steps.count("backward")):
            inputs[numbered("grad_out", k)] = draw_array(spec, rng, out_shape, dtype)
        return inputs

    def expect(self, case, inputs, grading):
        """One pass of the reference, which never changes an input: a second would repeat it."""
        return self.one_pass(find_class(grading.reference, case.spec), case.spec,
                             {k: v.copy() for k, v in inputs.items()})

    def run(self, case, package, inputs, channel):
        spec = case["spec"]
        cls = find_class(package, spec)
        first = self.one_pass(cls, spec, inputs)
        # The request's own arrays once more, as the first pass left them: whatever it
        # changed in place, the second computes with.
        again = self.one_pass(cls, spec, inputs)
        return {**first, **{AGAIN + name: value for name, value in again.items()}}

    def judge(self, case, got, expected, inputs, grading):
        return judge_arrays(case, got, expected, again=True)

    def one_pass(self, cls, spec, inputs):
        """A fresh layer given the case's parameters and buffers, called in the order of the
        steps on the arrays of ``inputs`` (not copies of them); its outputs."""
        layer = build(cls, spec, np.dtype(spec.get("dtype", "float64")))
        load_parameters(layer, inputs, cls.__name__)
        layer.train(spec.get("mode", "train") == "train")
        outputs, calls = {}, {"forward": 0, "backward": 0}
        for step in self.steps(spec):
            if step in ("train", "eval"):
                layer.train(step == "train")
                continue
            stem, out_stem, call = (("x", "out", layer.forward) if step == "forward"
                                    else ("grad_out", "grad_x", layer.backward))
            arg = inputs[numbered(stem, calls[step])]
            # A copy: a layer may legally reuse its output buffer at the next call.
            outputs[numbered(out_stem, calls[step])] = plain(call(arg), f"{cls.__name__}.{step}").copy()
            calls[step] += 1
        for name, p in layer.named_parameters():
            outputs[f"grad_{name}"] = plain(p.grad, f"{cls.__name__}.{name}.grad")
        for name in getattr(layer, "_buffers", {}):
            outputs[name] = plain(np.asarray(getattr(layer, name)), f"{cls.__name__}.{name}")
        return outputs


def load_parameters(layer, inputs, name):
    """Give the layer the case's parameter and buffer values; the parameters' names and
    shapes must be the reference's."""
    own = dict(layer.named_parameters())
    given = {k[len("param."):]: v for k, v in inputs.items() if k.startswith("param.")}
    for missing in given.keys() - own.keys():
        raise CaseError(f"{name} has no parameter {missing!r}")
    for extra in own.keys() - given.keys():
        raise CaseError(f"{name} has an unexpected parameter {extra!r}")
    for key, value in given.items():
        p = own[key]
        if p.data.shape != value.shape:
            raise CaseError(f"{name}.{key} has shape {tuple(p.data.shape)}, expected {value.shape}")
        p.data = value.copy()
        p.grad = value * 0
    for key, value in inputs.items():
        if key.startswith("buffer."):
            setattr(layer, key[len("buffer."):], value.copy())


PROGRAM = Layer()
