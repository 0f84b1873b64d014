"""Softmax along one axis; the backward builds each slice's Jacobian matrix explicitly."""
import numpy as np

from .module import Module


class Softmax(Module):
    """y = exp(x - max(x)) / sum(exp(x - max(x))) along ``axis`` (default: the last).

    Shapes: x (any shape) -> y (same shape), every slice along ``axis`` summing to 1.

    Backward, one slice at a time: the Jacobian is J[i, j] = dy_i/dx_j = y_i * (delta_ij - y_j),
    that is J = diag(y) - outer(y, y), and dL/dx = J.T @ g.
    """

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def extra_repr(self):
        return f"axis={self.axis}"

    def forward(self, x):
        self.check_input(x)
        rows = np.moveaxis(x, self.axis, -1)             # the softmax axis last
        flat = rows.reshape(-1, rows.shape[-1])
        out = np.empty(flat.shape, dtype=x.dtype)
        for k, z in enumerate(flat):
            e = np.exp(z - z.max())
            out[k] = e / e.sum()
        out = np.moveaxis(out.reshape(rows.shape), -1, self.axis)
        self.save_for_backward(out)
        return out

    def backward(self, grad_out):
        (y,) = self.saved_tensors
        self.check_grad(grad_out, y.shape)
        y_rows = np.moveaxis(y, self.axis, -1)
        g_rows = np.moveaxis(grad_out, self.axis, -1)
        size = y_rows.shape[-1]
        grad = np.empty(g_rows.shape, dtype=np.result_type(y, grad_out)).reshape(-1, size)
        for k, (yk, gk) in enumerate(zip(y_rows.reshape(-1, size), g_rows.reshape(-1, size))):
            jacobian = np.diag(yk) - np.outer(yk, yk)
            grad[k] = jacobian.T @ gk
        return np.moveaxis(grad.reshape(g_rows.shape), -1, self.axis)
