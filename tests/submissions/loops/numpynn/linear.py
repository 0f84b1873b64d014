"""Linear written one sample at a time: ``y[n] = weight @ x[n] + bias``."""
import numpy as np

from .module import Module, Parameter, init_rng


class Linear(Module):
    """Applies ``y = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Shapes:
        x: (N, in_features) -> y: (N, out_features)
        weight: (out_features, in_features), bias: (out_features,)

    For each sample n, y[n, o] = bias[o] + sum_i weight[o, i] * x[n, i], so with g = dL/dy:
        dL/dx[n]    = weight.T @ g[n]
        dL/dweight += outer(g[n], x[n])       (summed over the samples)
        dL/dbias   += g[n]
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / np.sqrt(in_features)
        rng = init_rng()
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features)) if bias else None

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def forward(self, x):
        self.check_input(x, "(N, in_features)", channels=self.in_features)
        weight = self.weight.data
        out = np.empty((x.shape[0], self.out_features), dtype=np.result_type(x, weight))
        for n, sample in enumerate(x):
            out[n] = weight @ sample
            if self.bias is not None:
                out[n] += self.bias.data
        self.save_for_backward(x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        self.check_grad(grad_out, (x.shape[0], self.out_features))
        weight = self.weight.data
        grad_x = np.empty(x.shape, dtype=np.result_type(grad_out, weight))
        for n, (sample, g) in enumerate(zip(x, grad_out)):
            grad_x[n] = weight.T @ g
            self.weight.grad += np.outer(g, sample)
            if self.bias is not None:
                self.bias.grad += g
        return grad_x
