"""Flatten: (N, d1, d2, ...) -> (N, d1*d2*...), as ``torch.nn.Flatten()``."""
import math

import numpy as np

from .module import Module


class Flatten(Module):
    """Keeps the batch axis and flattens the rest in C order.

    Shapes: x (N, d1, ..., dk) -> y (N, d1*...*dk).   dL/dx = g reshaped to x's shape.
    """

    def forward(self, x):
        self.check_input(x, "(N, ...)")
        out = x.reshape(len(x), -1)
        self.save_for_backward(x.shape)
        return out

    def backward(self, grad_out):
        (shape,) = self.saved_tensors
        self.check_grad(grad_out, (shape[0], math.prod(shape[1:])))
        grad_x = np.reshape(grad_out, shape)
        return grad_x
