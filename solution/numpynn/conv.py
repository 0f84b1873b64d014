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
    ### BEGIN SOLUTION
    n, c = x.shape[:2]
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ho, wo = windows.shape[2:4]
    cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    ### END SOLUTION
    return cols


def col2im(cols, padded_shape, kernel_size, stride):
    """The adjoint of ``im2col``: add every column back onto the pixels it came from.

    cols: (N, C*kh*kw, Ho*Wo) -> (N, C, Hp, Wp) with ``padded_shape = (N, C, Hp, Wp)``.
    Overlapping windows add up. Loop over the kh*kw kernel offsets, adding one strided
    slice at a time (``np.add.at`` is far slower).
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    ### BEGIN SOLUTION
    n, c, hp, wp = padded_shape
    ho, wo = output_size(hp, kh, sh, 0), output_size(wp, kw, sw, 0)
    blocks = cols.reshape(n, c, kh, kw, ho, wo)
    x = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            x[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += blocks[:, :, i, j]
    ### END SOLUTION
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
        ### BEGIN SOLUTION
        # Zero padding: x copied into the middle of a zero array (faster than np.pad).
        xp = np.zeros((n, self.in_channels, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w] = x
        cols = im2col(xp, self.kernel_size, self.stride)
        out = self.weight.data.reshape(self.out_channels, -1) @ cols
        if self.bias is not None:
            # Added to one (C_out*Ho*Wo) row per sample: broadcasting a (C_out, 1) column
            # would walk N*C_out short rows, several times slower.
            rows = out.reshape(n, -1)
            rows += np.repeat(self.bias.data, ho * wo)
        out = out.reshape(n, self.out_channels, ho, wo)
        ### END SOLUTION
        self.save_for_backward(x, cols)
        return out

    def backward(self, grad_out):
        x, cols = self.saved_tensors
        n, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        self.check_grad(grad_out, (n, self.out_channels, output_size(h, kh, sh, ph),
                                   output_size(w, kw, sw, pw)))
        ### BEGIN SOLUTION
        g = grad_out.reshape(n, self.out_channels, -1)
        weights = self.weight.data.reshape(self.out_channels, -1)
        # One small matmul per sample, then a sum: several times faster than tensordot,
        # which would first copy both operands into 2-D layouts.
        self.weight.grad += (g @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += np.einsum("nop->o", g)
        grad_cols = weights.T @ g                 # (N, C_in*kh*kw, Ho*Wo)
        if (sh, sw) == (1, 1) and (2 * ph, 2 * pw) == (kh - 1, kw - 1):
            # A "same" convolution, (Ho, Wo) == (H, W), the usual case. col2im's adds run
            # over rows of only Wo numbers; here each kernel offset (i, j) is instead one
            # long add: on flattened H*W planes it shifts a whole plane by
            # (i - ph)*W + (j - pw) elements. What would wrap around a row's end belongs to
            # the zero padding, so it is cleared first; the margins catch the rows above
            # and below. (The slowest step of a training batch otherwise.)
            blocks = grad_cols.reshape(n, self.in_channels, kh, kw, h, w)
            for j in range(kw):  # columns that would land left of 0 or right of W - 1
                blocks[:, :, :, j, :, :max(pw - j, 0)] = 0
                blocks[:, :, :, j, :, w - max(j - pw, 0):] = 0
            margin = ph * w + pw
            planes = np.zeros((n, self.in_channels, h * w + 2 * margin), dtype=grad_cols.dtype)
            for i in range(kh):
                for j in range(kw):
                    start = margin + (i - ph) * w + (j - pw)
                    planes[:, :, start:start + h * w] += blocks[:, :, i, j].reshape(n, -1, h * w)
            grad_x = planes[:, :, margin:margin + h * w].reshape(n, self.in_channels, h, w)
        else:
            padded_shape = (n, self.in_channels, h + 2 * ph, w + 2 * pw)
            grad_xp = col2im(grad_cols, padded_shape, self.kernel_size, self.stride)
            grad_x = grad_xp[:, :, ph:ph + h, pw:pw + w]
        ### END SOLUTION
        return grad_x
