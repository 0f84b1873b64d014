"""Linear: a fully connected layer, ``y = x @ W.T + b``."""
import numpy as np

from .module import Module, Parameter, init_rng


class Linear(Module):
    """Applies ``y = x @ weight.T + bias``.

    Shapes:
        x: (N, in_features) -> y: (N, out_features)
        weight: (out_features, in_features), bias: (out_features,)

    Gradients, for ``g = dL/dy`` of shape (N, out_features):
        dL/dx      = g @ weight                 (N, in_features)
        dL/dweight = g.T @ x                    (out_features, in_features)
        dL/dbias   = g.sum(axis=0)              (out_features,)

    Initialisation as in PyTorch: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
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
        out = np.dot(x, self.weight.data.T)
        if self.bias is not None:
            out = out + self.bias.data[None, :]
        self.save_for_backward(x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        self.check_grad(grad_out, (x.shape[0], self.out_features))
        grad_x = np.dot(grad_out, self.weight.data)
        self.weight.grad += np.einsum("ni,nj->ij", grad_out, x)
        if self.bias is not None:
            self.bias.grad += np.einsum("ni->i", grad_out)
        return grad_x
