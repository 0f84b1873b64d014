"""Flatten: (N, d1, d2, ...) -> (N, d1*d2*...), as ``torch.nn.Flatten()``."""
import math

from .module import Module


class Flatten(Module):
    """Keeps the batch axis and flattens the rest in C order.

    Shapes: x (N, d1, ..., dk) -> y (N, d1*...*dk).   dL/dx = g reshaped to x's shape.
    """

    def forward(self, x):
        self.check_input(x, "(N, ...)")
        ### BEGIN SOLUTION
        out = x.reshape(x.shape[0], -1)
        ### END SOLUTION
        self.save_for_backward(x.shape)
        return out

    def backward(self, grad_out):
        (shape,) = self.saved_tensors
        self.check_grad(grad_out, (shape[0], math.prod(shape[1:])))
        ### BEGIN SOLUTION
        grad_x = grad_out.reshape(shape)
        ### END SOLUTION
        return grad_x
