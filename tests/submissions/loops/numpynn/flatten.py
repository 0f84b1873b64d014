"""Flatten: (N, d1, d2, ...) -> (N, d1*d2*...), as ``torch.nn.Flatten()``."""
import numpy as np

from .module import Module


class Flatten(Module):
    """Keeps the batch axis and lays the rest out in C order.

    Shapes: x (N, d1, ..., dk) -> y (N, d1*...*dk). Flattening only moves values, so
    the backward moves the gradient back: dL/dx = g reshaped to x's shape.
    """

    def forward(self, x):
        self.check_input(x, "(N, ...)")
        out = np.empty((x.shape[0], int(np.prod(x.shape[1:]))), dtype=x.dtype)
        for n, sample in enumerate(x):
            out[n] = sample.ravel()
        self.save_for_backward(x.shape)
        return out

    def backward(self, grad_out):
        (shape,) = self.saved_tensors
        self.check_grad(grad_out, (shape[0], int(np.prod(shape[1:]))))
        return np.reshape(grad_out, shape)
