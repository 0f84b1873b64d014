"""``program = "optim"``: an optimizer's steps on given parameters and gradients.

Inputs: ``p0``, ``p1``, ... the parameters' starting values (shapes from the case's
``x``) and ``g<step>_<i>``, the gradient of parameter i at each step. Outputs:
``trajectory<i>``, parameter i after each step, stacked.
"""
import importlib

import numpy as np

from .base import Program, draw_array, find_class, plain


class Optim(Program):
    def draw(self, case, rng, grading):
        spec, dtype = case.spec, np.dtype(case.dtype)
        inputs = {f"p{i}": draw_array(spec, rng, shape, dtype) for i, shape in enumerate(spec["x"])}
        for step in range(int(spec.get("steps", 5))):
            inputs.update({f"g{step}_{i}": draw_array(spec, rng, shape, dtype)
                           for i, shape in enumerate(spec["x"])})
        return inputs

    def run(self, case, package, inputs, channel):
        spec = case["spec"]
        cls = find_class(package, spec)
        module = importlib.import_module(f"{package.__name__}.module")
        count = sum(1 for k in inputs if k.startswith("p") and k[1:].isdigit())
        params = [module.Parameter(inputs[f"p{i}"].copy()) for i in range(count)]
        optimizer = cls(params, **spec.get("kwargs", {}))
        trajectories = [[] for _ in params]
        for step in range(int(spec.get("steps", 5))):
            for i, p in enumerate(params):
                p.grad[...] = inputs[f"g{step}_{i}"]
            optimizer.step()
            for i, p in enumerate(params):
                trajectories[i].append(plain(p.data, f"{cls.__name__}.step").copy())
        return {f"trajectory{i}": np.stack(t) for i, t in enumerate(trajectories)}


PROGRAM = Optim()
