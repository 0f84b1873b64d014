"""ReLU, LeakyReLU, Sigmoid and Tanh, each with its derivative written out.

Each maps x (any shape) to y of the same shape; the backward multiplies g = dL/dy
elementwise by dy/dx.
"""
import numpy as np

from .module import Module


class ReLU(Module):
    """y = x where x > 0, else 0.   dy/dx = 1 where x > 0, else 0 (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        self.check_input(x)
        self.save_for_backward(x)
        return np.where(x > 0, x, x.dtype.type(0))

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        self.check_grad(grad_out, x.shape)
        return np.where(x > 0, grad_out, grad_out.dtype.type(0))


class LeakyReLU(Module):
    """y = x where x > 0, else slope * x.   dy/dx = 1 where x > 0, else slope."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"

    def forward(self, x):
        self.check_input(x)
        self.save_for_backward(x)
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        self.check_grad(grad_out, x.shape)
        slope = np.where(x > 0, 1.0, self.negative_slope).astype(grad_out.dtype)
        return grad_out * slope


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)) = exp(-log(1 + exp(-x))), with log(1 + exp(-x)) from
    ``np.logaddexp(0, -x)``, which never overflows.   dy/dx = y * (1 - y)."""

    def forward(self, x):
        self.check_input(x)
        out = np.exp(-np.logaddexp(x.dtype.type(0), -x))
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (y,) = self.saved_tensors
        self.check_grad(grad_out, y.shape)
        return grad_out * y * (1 - y)


class Tanh(Module):
    """y = tanh(x).   dy/dx = 1 - tanh(x)**2."""

    def forward(self, x):
        self.check_input(x)
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (y,) = self.saved_tensors
        self.check_grad(grad_out, y.shape)
        return grad_out * (1 - y ** 2)
