"""BatchNorm1d and BatchNorm2d written channel by channel, backward by the full chain rule."""
import numpy as np

from .module import Module, Parameter


class _BatchNorm(Module):
    """Normalisation of each channel (axis 1) over all its other values, as in PyTorch.

    Shapes: x (N, C) or (N, C, H, W) -> y of the same shape; weight, bias and the
    buffers running_mean, running_var: (C,).

    For one channel, v holds its m values (m = N or N*H*W). Training:
        mu = sum(v) / m,  var = sum((v - mu)**2) / m,  x_hat = (v - mu) / sqrt(var + eps)
        y = gamma * x_hat + beta
        running_mean <- (1 - momentum) * running_mean + momentum * mu
        running_var  <- (1 - momentum) * running_var  + momentum * var * m / (m - 1)
    Evaluation: the same with mu, var = running_mean, running_var, and no update.

    Backward, through every path by the chain rule (training):
        dx_hat = g * gamma
        dvar   = sum(dx_hat * (v - mu)) * -1/2 * (var + eps)**(-3/2)
        dmu    = sum(-dx_hat / sqrt(var + eps)) + dvar * sum(-2 * (v - mu)) / m
        dv     = dx_hat / sqrt(var + eps) + dvar * 2 * (v - mu) / m + dmu / m
    In evaluation mu and var are constants, so dv = dx_hat / sqrt(running_var + eps).
    """

    shape = ""  # the input shape pattern, set by each subclass

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features))
        self.bias = Parameter(np.zeros(num_features))
        self.register_buffer("running_mean", np.zeros(num_features))
        self.register_buffer("running_var", np.ones(num_features))

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def forward(self, x):
        self.check_input(x, self.shape, channels=self.num_features)
        m = x.size // self.num_features
        if self.training and m < 2:
            raise ValueError(f"{self!r}: training needs more than 1 value per channel, "
                             f"got input of shape {tuple(x.shape)}")
        dtype = np.result_type(x, self.weight.data)
        values = to_channel_rows(x)
        x_hat = np.empty(values.shape, dtype=dtype)
        out = np.empty(values.shape, dtype=dtype)
        stats = []
        for c, v in enumerate(values):
            if self.training:
                mu = v.sum() / m
                var = ((v - mu) ** 2).sum() / m
                self.running_mean[c] = ((1 - self.momentum) * self.running_mean[c]
                                        + self.momentum * mu)
                self.running_var[c] = ((1 - self.momentum) * self.running_var[c]
                                       + self.momentum * var * m / (m - 1))
            else:
                mu, var = self.running_mean[c], self.running_var[c]
            x_hat[c] = (v - mu) / np.sqrt(var + self.eps)
            out[c] = self.weight.data[c] * x_hat[c] + self.bias.data[c]
            stats.append((mu, var))
        self.save_for_backward(x.shape, values, x_hat, stats, self.training)
        return from_channel_rows(out, x.shape)

    def backward(self, grad_out):
        shape, values, x_hat, stats, training = self.saved_tensors
        self.check_grad(grad_out, shape)
        m = values.shape[1]
        grads = to_channel_rows(grad_out)
        grad_x = np.empty(values.shape, dtype=np.result_type(grad_out, self.weight.data))
        for c, (v, g, (mu, var)) in enumerate(zip(values, grads, stats)):
            self.weight.grad[c] += (g * x_hat[c]).sum()
            self.bias.grad[c] += g.sum()
            dx_hat = g * self.weight.data[c]
            if not training:
                grad_x[c] = dx_hat / np.sqrt(var + self.eps)
                continue
            dvar = (dx_hat * (v - mu)).sum() * -0.5 * (var + self.eps) ** -1.5
            dmu = (-dx_hat / np.sqrt(var + self.eps)).sum() + dvar * (-2 * (v - mu)).sum() / m
            grad_x[c] = dx_hat / np.sqrt(var + self.eps) + dvar * 2 * (v - mu) / m + dmu / m
        return from_channel_rows(grad_x, shape)


def to_channel_rows(x):
    """x: (N, C, ...) -> (C, m): row c holds the m values of channel c."""
    return np.moveaxis(x, 1, 0).reshape(x.shape[1], x.size // x.shape[1])


def from_channel_rows(rows, shape):
    """(C, m) rows, one per channel, back to the input's layout ``shape`` = (N, C, ...)."""
    moved = (shape[1], shape[0]) + tuple(shape[2:])
    return np.ascontiguousarray(np.moveaxis(rows.reshape(moved), 0, 1))


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features; see ``_BatchNorm`` for the formulas."""
    shape = "(N, C)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) feature maps, per channel; see ``_BatchNorm``."""
    shape = "(N, C, H, W)"
