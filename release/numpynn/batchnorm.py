"""BatchNorm1d and BatchNorm2d, with PyTorch's momentum and running statistics.

If you learned batch norm from CS231n, note the difference: there,
``running = momentum * running + (1 - momentum) * batch``; here, as in PyTorch,
``running = (1 - momentum) * running + momentum * batch`` with momentum = 0.1, and
the running variance is the UNBIASED batch variance (divided by m - 1).
"""
import numpy as np

from .module import Module, Parameter


class _BatchNorm(Module):
    """Normalisation over every axis except the channel axis (axis 1).

    Shapes: x (N, C) for BatchNorm1d or (N, C, H, W) for BatchNorm2d -> y of the same
    shape. weight (gamma) and bias (beta): (C,). Buffers running_mean, running_var: (C,).

    Training, per channel, over the m = N (or N*H*W) values of the batch:
        mean = x.mean(),  var = x.var()  (biased, divided by m)
        x_hat = (x - mean) / sqrt(var + eps),  y = gamma * x_hat + beta
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)
    Evaluation: the same with running_mean and running_var, and no update.

    ``backward`` follows the mode its ``forward`` ran in (``training``, saved by the given
    code), as autograd does: forward in training, ``eval()``, then backward still uses the
    training formula below with the batch's statistics.

    Gradients, for g = dL/dy and sums over the m values of a channel:
        dL/dgamma = sum(g * x_hat),   dL/dbeta = sum(g)
        training:   dL/dx = gamma / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))
        evaluation: dL/dx = gamma / sqrt(running_var + eps) * g
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
        axes = (0,) + tuple(range(2, x.ndim))      # every axis but the channels
        m = x.size // self.num_features            # values per channel
        if self.training and m < 2:
            raise ValueError(f"{self!r}: training needs more than 1 value per channel, "
                             f"got input of shape {tuple(x.shape)}")
        bshape = (1, -1) + (1,) * (x.ndim - 2)      # broadcasts a (C,) array over x
        # YOUR CODE HERE
        raise NotImplementedError()
        # The mode is saved with the arrays: backward must follow the forward it belongs to,
        # even if train() or eval() was called in between.
        self.save_for_backward(x_hat, inv_std, self.training)
        return out

    def backward(self, grad_out):
        x_hat, inv_std, training = self.saved_tensors  # training: the mode forward ran in
        self.check_grad(grad_out, x_hat.shape)
        axes = (0,) + tuple(range(2, x_hat.ndim))
        bshape = (1, -1) + (1,) * (x_hat.ndim - 2)
        # YOUR CODE HERE
        raise NotImplementedError()
        return grad_x


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features; see ``_BatchNorm`` for the formulas."""
    shape = "(N, C)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) feature maps, per channel; see ``_BatchNorm``."""
    shape = "(N, C, H, W)"
