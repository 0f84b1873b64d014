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
        ### BEGIN SOLUTION
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        out = e / e.sum(axis=self.axis, keepdims=True)
        ### END SOLUTION
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (out,) = self.saved_tensors
        self.check_grad(grad_out, out.shape)
        ### BEGIN SOLUTION
        grad_x = out * (grad_out - (grad_out * out).sum(axis=self.axis, keepdims=True))
        ### END SOLUTION
        return grad_x
