"""SGD and Adam, one parameter at a time, in the form ``torch.optim`` computes them."""
import math

import numpy as np


class Optimizer:
    """Holds the parameters; ``zero_grad()`` clears their gradients, ``step()`` updates them."""

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr}")
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad[...] = 0

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and L2 weight decay, as ``torch.optim.SGD``.

    For each parameter p, with a momentum buffer b that starts at zero:
        d = grad + weight_decay * p
        b = momentum * b + d          (only when momentum != 0; then d = b)
        p = p - lr * d
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.buffers = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for k, p in enumerate(self.params):
            d = p.grad + self.weight_decay * p.data
            if self.momentum != 0:
                self.buffers[k] = self.momentum * self.buffers[k] + d
                d = self.buffers[k]
            p.data -= self.lr * d


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 weight decay added to the gradient, not AdamW).

    At step t (from 1), for each parameter p with moments m, v starting at zero:
        d = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * d,   v = beta2 * v + (1 - beta2) * d * d
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    which is p - lr * m_hat / (sqrt(v_hat) + eps), arranged as PyTorch arranges it.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self):
        beta1, beta2 = self.betas
        self.t += 1
        correction1, correction2 = 1 - beta1 ** self.t, 1 - beta2 ** self.t
        for k, p in enumerate(self.params):
            d = p.grad + self.weight_decay * p.data
            self.m[k] = beta1 * self.m[k] + (1 - beta1) * d
            self.v[k] = beta2 * self.v[k] + (1 - beta2) * d * d
            denominator = np.sqrt(self.v[k]) / math.sqrt(correction2) + self.eps
            p.data -= self.lr / correction1 * self.m[k] / denominator
