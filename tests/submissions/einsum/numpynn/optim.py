"""SGD and Adam, with PyTorch's update rules. Both update ``Parameter.data`` in place."""
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

    For each parameter p with gradient grad, and a velocity v that starts at zero:
        g = grad + weight_decay * p
        v = momentum * v + g
        p = p - lr * v
    (With momentum = 0 this is plain ``p -= lr * g``.) Any form with the same trajectory
    is correct, e.g. ``v = momentum * v - lr * g; p += v`` for a constant lr.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        for index, param in enumerate(self.params):
            grad = param.grad
            if self.weight_decay != 0:
                grad = grad + self.weight_decay * param.data
            if self.momentum != 0:
                self.velocity[index] = self.momentum * self.velocity[index] + grad
                grad = self.velocity[index]
            param.data -= self.lr * grad


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (weight decay is L2 added to the gradient, not AdamW).

    With t counting steps from 1, and m, v starting at zero:
        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for k in range(len(self.params)):
            param = self.params[k]
            grad = param.grad if not self.weight_decay else param.grad + self.weight_decay * param.data
            self.m[k] = b1 * self.m[k] + (1 - b1) * grad
            self.v[k] = b2 * self.v[k] + (1 - b2) * grad * grad
            m_hat = self.m[k] / (1 - b1 ** self.t)
            v_hat = self.v[k] / (1 - b2 ** self.t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
