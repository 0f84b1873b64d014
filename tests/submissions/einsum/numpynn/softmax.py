"""Softmax along one axis, with the full Jacobian-vector product as its backward."""
import numpy as np

from .module import Module


class Softmax(Module):
    """y = exp(x - max(x)) / sum(exp(x - max(x))) along ``axis`` (default: the last).

    Shapes: x (any shape) -> y (same shape), every slice along ``axis`` summing to 1.
    Subtracting the max does not change y and keeps exp from overflowing.

    Gradient: the Jacobian of one slice is dy_i/dx_j = y_i * (delta_ij - y_j), so
        dL/dx = y * (g - sum(g * y, axis, keepdims=True))
    """

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def extra_repr(self):
        return f"axis={self.axis}"

    def forward(self, x):
        self.check_input(x)
        shifted = np.exp(x - np.amax(x, axis=self.axis, keepdims=True))
        out = shifted / np.sum(shifted, axis=self.axis, keepdims=True)
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (out,) = self.saved_tensors
        self.check_grad(grad_out, out.shape)
        dot = np.sum(out * grad_out, axis=self.axis, keepdims=True)
        grad_x = out * grad_out - out * dot
        return grad_x
