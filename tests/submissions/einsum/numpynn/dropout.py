"""Dropout: randomly zero activations while training (inverted dropout)."""
import numpy as np

from .module import Module


class Dropout(Module):
    """Zeroes each element with probability ``p`` while training, as ``torch.nn.Dropout``.

    Shapes: x (any shape) -> y (same shape).

    Training: draw a keep-mask with P(keep) = 1 - p from ``self.rng`` (and nowhere else),
    then ``y = x * mask / (1 - p)`` so that E[y] = x ("inverted" dropout: nothing to
    rescale at evaluation). With p = 1 every element is dropped and y = 0.
    Evaluation: y = x.

    Gradient: dL/dx = g * mask / (1 - p) while training (the same mask as the forward),
    and g in evaluation.
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
        if self.training and self.p > 0:
            if self.p >= 1:
                scale = np.zeros_like(x)
            else:
                mask = self.rng.uniform(size=x.shape) > self.p
                scale = np.where(mask, 1.0 / (1.0 - self.p), 0.0).astype(x.dtype)
        else:
            scale = np.ones_like(x)
        out = scale * x
        self.save_for_backward(scale, x.shape)
        return out

    def backward(self, grad_out):
        scale, shape = self.saved_tensors
        self.check_grad(grad_out, shape)
        grad_x = scale * grad_out
        return grad_x
