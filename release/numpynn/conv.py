"""Conv2d: 2-D cross-correlation over (N, C, H, W) inputs, computed with im2col."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import output_size, pair
from .module import Module, Parameter, init_rng


def im2col(x, kernel_size, stride):
    """Unfold every receptive field of ``x`` into a column.

    x: (N, C, H, W), already padded -> cols: (N, C*kh*kw, Ho*Wo), C-contiguous, where
    ``cols[n, (c*kh + i)*kw + j, r*Wo + s] = x[n, c, r*sh + i, s*sw + j]``.
    Build it from ``sliding_window_view`` (a view, no copy) and one reshape (one copy).
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    # YOUR CODE HERE
    raise NotImplementedError()
    return cols


def col2im(cols, padded_shape, kernel_size, stride):
    """The adjoint of ``im2col``: add every column back onto the pixels it came from.

    cols: (N, C*kh*kw, Ho*Wo) -> (N, C, Hp, Wp) with ``padded_shape = (N, C, Hp, Wp)``.
    Overlapping windows add up. Loop over the kh*kw kernel offsets, adding one strided
    slice at a time (``np.add.at`` is far slower).
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    # YOUR CODE HERE
    raise NotImplementedError()
    return x


class Conv2d(Module):
    """2-D cross-correlation with zero padding, as ``torch.nn.Conv2d`` (groups=1, dilation=1).

    Shapes:
        x: (N, C_in, H, W) -> y: (N, C_out, Ho, Wo)
        Ho = (H + 2*ph - kh) // sh + 1,  Wo = (W + 2*pw - kw) // sw + 1
        weight: (C_out, C_in, kh, kw), bias: (C_out,)

    Forward, with xp the zero-padded input:
        y[n, o, r, s] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * xp[n, c, r*sh + i, s*sw + j]
    As matrices, with cols = im2col(xp): (N, C_in*kh*kw, Ho*Wo) and W = weight as (C_out, C_in*kh*kw):
        y[n] = W @ cols[n] + bias[:, None]

    Gradients, for g = dL/dy reshaped to (N, C_out, Ho*Wo):
        dL/dweight = sum_n g[n] @ cols[n].T            reshaped to (C_out, C_in, kh, kw)
        dL/dbias   = g.sum(axis=(0, 2))
        dL/dxp     = col2im(W.T @ g[n] for each n),    then crop the padding off to get dL/dx
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding", minimum=0)
        kh, kw = self.kernel_size
        bound = 1.0 / np.sqrt(in_channels * kh * kw)
        rng = init_rng()
        self.weight = Parameter(rng.uniform(-bound, bound, (out_channels, in_channels, kh, kw)))
        self.bias = Parameter(rng.uniform(-bound, bound, out_channels)) if bias else None

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            text += f", stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + ("" if self.bias is not None else ", bias=False")

    def forward(self, x):
        self.check_input(x, "(N, C, H, W)", channels=self.in_channels)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        n, _, h, w = x.shape
        ho = output_size(h, kh, self.stride[0], ph)
        wo = output_size(w, kw, self.stride[1], pw)
        if ho < 1 or wo < 1:
            raise ValueError(f"{self!r}: input of spatial size {(h, w)} is smaller than the "
                             f"kernel {self.kernel_size} with padding {self.padding}")
        # YOUR CODE HERE
        raise NotImplementedError()
        self.save_for_backward(x, cols)
        return out

    def backward(self, grad_out):
        x, cols = self.saved_tensors
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        self.check_grad(grad_out, (n, self.out_channels, output_size(h, kh, sh, ph),
                                   output_size(w, kw, sw, pw)))
        # YOUR CODE HERE
        raise NotImplementedError()
        return grad_x
