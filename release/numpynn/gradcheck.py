"""A numerical gradient checker for any numpynn module (given to students as is).

    >>> from numpynn import Conv2d
    >>> from numpynn.gradcheck import gradcheck
    >>> report = gradcheck(Conv2d(2, 3, 3, padding=1), np.random.randn(2, 2, 5, 5))
    >>> print(report)          # worst relative error of dL/dx and of each parameter
    >>> assert report.ok

It compares your ``backward`` with central differences of the scalar loss
``L = sum(forward(x) * r)`` for a fixed random ``r``, in float64. Relative errors
around 1e-7 or below mean the gradients agree; 1e-2 or above means a bug.

In between, look at the verdict. Central differences cannot resolve a gradient smaller
than their own rounding noise, about ``2.2e-16 * sum|forward(x) * r| / eps``: L is only
known to 16 digits, and dividing by the step ``2 * eps`` magnifies that. When the gap
between your gradient and the differences is within a few times that noise floor, the
check says "inconclusive: the gradient is at noise level" instead of MISMATCH. That
happens where the true gradient is almost zero, e.g. BatchNorm on a batch of 2, whose
output hardly depends on x: try a larger batch or input.
"""
from dataclasses import dataclass, field

import numpy as np


def relative_error(analytic, numeric):
    """max |a - n| / max(|a|, |n|), maxima over the whole array.

    Normwise rather than elementwise, so that gradients that are nearly zero, where
    finite differences are mostly rounding noise, do not raise false alarms. Two
    gradients that are both below 1e-7 everywhere count as equal (error 0): that is the
    noise level of the differences, e.g. for a Conv2d bias followed by BatchNorm, whose
    true gradient is exactly 0.
    """
    scale = max(np.max(np.abs(analytic), initial=0), np.max(np.abs(numeric), initial=0))
    return float(np.max(np.abs(analytic - numeric)) / scale) if scale > 1e-7 else 0.0


#: A gap between the gradients within this many noise floors could be rounding alone.
NOISE_MARGIN = 10

INCONCLUSIVE = "inconclusive: the gradient is at noise level (try a larger batch or input)"


@dataclass
class GradcheckReport:
    """Worst relative error for the input ("x") and each parameter (by state_dict name).

    ``at_noise_level`` names the arrays whose error is above the tolerance but whose
    gradients differ by no more than the finite differences' own rounding noise: neither
    right nor wrong, so ``ok`` is False for them too, and ``verdict`` says which.
    """
    errors: dict = field(default_factory=dict)
    tolerance: float = 1e-6
    at_noise_level: set = field(default_factory=set)

    def verdict(self, name):
        if self.errors[name] <= self.tolerance:
            return "ok"
        return INCONCLUSIVE if name in self.at_noise_level else "MISMATCH"

    @property
    def ok(self):
        return all(error <= self.tolerance for error in self.errors.values())

    @property
    def mismatched(self):
        """The arrays whose gradient is wrong beyond doubt."""
        return [name for name in self.errors if self.verdict(name) == "MISMATCH"]

    def __str__(self):
        lines = [f"{name:>12}: max relative error {error:.2e}  {self.verdict(name)}"
                 for name, error in self.errors.items()]
        return "\n".join(lines)


def _rngs(module):
    """Every random generator a module or its children draw from (Dropout's ``rng``)."""
    found = [module.rng] if isinstance(getattr(module, "rng", None), np.random.Generator) else []
    for child in module.children():
        found += _rngs(child)
    return found


def gradcheck(module, x, eps=1e-6, tolerance=1e-6, seed=0):
    """Check ``module.backward`` against central differences at input ``x``.

    module: any Module (cast to float64 in place for the check, as precision needs it)
    x:      the input, e.g. (N, C, H, W) for Conv2d
    Returns a GradcheckReport. The module's gradients are cleared. Random layers (Dropout)
    draw the same mask at every forward: their ``rng`` is rewound before each one.
    """
    module.to(np.float64)
    x = np.array(x, dtype=np.float64)
    # BatchNorm updates its running statistics at every training forward; restore them.
    state = module.state_dict()
    rngs = _rngs(module)
    states = [rng.bit_generator.state for rng in rngs]

    def loss():
        for rng, saved_state in zip(rngs, states):
            rng.bit_generator.state = saved_state
        return float(np.sum(module.forward(x) * r))

    y = module.forward(x)
    r = np.random.default_rng(seed).standard_normal(np.shape(y))
    # L is a sum of terms y*r, each rounded: L is known to about u * sum|y*r|, and a
    # central difference divides that uncertainty by 2*eps (u: float64's unit roundoff).
    noise_floor = np.finfo(np.float64).eps * float(np.sum(np.abs(y * r))) / eps
    module.zero_grad()
    for rng, saved_state in zip(rngs, states):
        rng.bit_generator.state = saved_state
    module.forward(x)
    analytic = {"x": module.backward(r.copy())}
    named = dict(module.named_parameters())
    analytic.update({name: p.grad.copy() for name, p in named.items()})

    report = GradcheckReport(tolerance=tolerance)
    for name, array in [("x", x)] + [(name, p.data) for name, p in named.items()]:
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            saved = array[i]
            array[i] = saved + eps
            up = loss()
            array[i] = saved - eps
            down = loss()
            array[i] = saved
            numeric[i] = (up - down) / (2 * eps)
        report.errors[name] = relative_error(analytic[name], numeric)
        if np.max(np.abs(analytic[name] - numeric), initial=0) <= NOISE_MARGIN * noise_floor:
            report.at_noise_level.add(name)
    module.load_state_dict(state)
    return report
