"""Elementwise activations: ReLU, LeakyReLU, Sigmoid and Tanh.

Each maps x (any shape) to y of the same shape, and its backward multiplies the
incoming gradient g elementwise by the derivative.
"""
import numpy as np

from .module import Module


class ReLU(Module):
    """y = max(x, 0).   dL/dx = g * (x > 0)   (the gradient at exactly 0 is 0, as in PyTorch)."""

    def forward(self, x):
        self.check_input(x)
        out = x * (x > 0)
        self.save_for_backward(x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        self.check_grad(grad_out, x.shape)
        grad_x = np.where(x > 0, grad_out, np.zeros_like(grad_out))
        return grad_x


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x.   dL/dx = g * (1 if x > 0 else negative_slope)."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"

    def forward(self, x):
        self.check_input(x)
        slope = x.dtype.type(self.negative_slope)
        out = np.maximum(x, 0) + slope * np.minimum(x, 0)
        self.save_for_backward(x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        self.check_grad(grad_out, x.shape)
        factor = np.ones_like(x)
        factor[x <= 0] = self.negative_slope
        grad_x = grad_out * factor
        return grad_x


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|.   dL/dx = g * y * (1 - y)."""

    def forward(self, x):
        self.check_input(x)
        out = 0.5 * (1.0 + np.tanh(0.5 * x))
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (out,) = self.saved_tensors
        self.check_grad(grad_out, out.shape)
        grad_x = grad_out * (out - out ** 2)
        return grad_x


class Tanh(Module):
    """y = tanh(x).   dL/dx = g * (1 - y**2)."""

    def forward(self, x):
        self.check_input(x)
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (out,) = self.saved_tensors
        self.check_grad(grad_out, out.shape)
        grad_x = grad_out - grad_out * out ** 2
        return grad_x
