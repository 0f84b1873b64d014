"""Dropout: zero each element with probability p while training, and rescale the rest."""
import numpy as np

from .module import Module


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout``.

    Shapes: x (any shape) -> y (same shape).

    Training: an element is kept when ``rng.random() >= p`` (probability 1 - p), one
    draw per element from ``self.rng``; kept elements are multiplied by 1 / (1 - p), so
    E[y] = x. p = 0 keeps everything and p = 1 drops everything (neither draws).
    Evaluation: y = x. Backward: the gradient goes through exactly the kept elements,
    with the same factor.
    """

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        self.check_input(x)
        factor = np.ones(x.shape, dtype=x.dtype)
        if self.training and self.p == 1:
            factor[...] = 0
        elif self.training and self.p > 0:
            dropped = self.rng.random(x.shape) < self.p
            factor[...] = 1 / (1 - self.p)
            factor[dropped] = 0
        self.save_for_backward(factor)
        return x * factor

    def backward(self, grad_out):
        (factor,) = self.saved_tensors
        self.check_grad(grad_out, factor.shape)
        return grad_out * factor
