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
    n, c, hp, wp = x.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    cols = cols.reshape(n, c * kh * kw, ho * wo)
    return cols


def col2im(cols, padded_shape, kernel_size, stride):
    """The adjoint of ``im2col``: add every column back onto the pixels it came from.

    cols: (N, C*kh*kw, Ho*Wo) -> (N, C, Hp, Wp) with ``padded_shape = (N, C, Hp, Wp)``.
    Overlapping windows add up. Loop over the kh*kw kernel offsets, adding one strided
    slice at a time (``np.add.at`` is far slower).
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    n, c, hp, wp = padded_shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    pieces = cols.reshape(n, c, kh, kw, ho, wo)
    x = np.zeros(padded_shape, dtype=cols.dtype)
    for a in range(kh):
        rows = slice(a, a + sh * (ho - 1) + 1, sh)
        for b in range(kw):
            x[:, :, rows, b:b + sw * (wo - 1) + 1:sw] += pieces[:, :, a, b]
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
        padded = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], mode="constant")
        cols = im2col(padded, self.kernel_size, self.stride)
        kernel = self.weight.data.reshape(self.out_channels, -1)
        out = np.einsum("ok,nkp->nop", kernel, cols, optimize=True)
        if self.bias is not None:
            out = out + self.bias.data[None, :, None]
        out = out.reshape(n, self.out_channels, ho, wo)
        self.save_for_backward(x, cols)
        return out

    def backward(self, grad_out):
        x, cols = self.saved_tensors
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        self.check_grad(grad_out, (n, self.out_channels, output_size(h, kh, sh, ph),
                                   output_size(w, kw, sw, pw)))
        co = self.out_channels
        g = grad_out.reshape(n, co, -1)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=(0, 2))
        self.weight.grad += np.einsum("nop,nkp->ok", g, cols, optimize=True).reshape(self.weight.data.shape)
        dcols = np.einsum("ok,nop->nkp", self.weight.data.reshape(co, -1), g, optimize=True)
        full = col2im(dcols, (n, x.shape[1], h + 2 * ph, w + 2 * pw), self.kernel_size, self.stride)
        grad_x = full[:, :, ph:ph + h, pw:pw + w]
        return grad_x
