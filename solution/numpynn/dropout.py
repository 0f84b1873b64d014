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
        ### BEGIN SOLUTION
        if not self.training or self.p == 0:
            scale = np.ones((), dtype=x.dtype)
        elif self.p == 1:
            scale = np.zeros(x.shape, dtype=x.dtype)
        else:
            keep = self.rng.random(x.shape) >= self.p
            scale = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        out = x * scale
        ### END SOLUTION
        self.save_for_backward(scale, x.shape)
        return out

    def backward(self, grad_out):
        scale, shape = self.saved_tensors
        self.check_grad(grad_out, shape)
        ### BEGIN SOLUTION
        grad_x = grad_out * scale
        ### END SOLUTION
        return grad_x
