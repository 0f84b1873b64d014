"""Conv2d written from the definition: explicit loops over output pixels and kernel offsets.

An independent reference for the im2col solution. It is slow, and meant to be read.
"""
import numpy as np

from .geometry import output_size, pair
from .module import Module, Parameter, init_rng


def zero_pad(x, ph, pw):
    """x: (N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw), with zeros around the border."""
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


class Conv2d(Module):
    """2-D cross-correlation with zero padding, as ``torch.nn.Conv2d`` (groups=1, dilation=1).

    Shapes:
        x: (N, C_in, H, W) -> y: (N, C_out, Ho, Wo)
        weight: (C_out, C_in, kh, kw), bias: (C_out,)

    With xp the zero-padded input, for every output pixel (r, s) and kernel offset (i, j):
        y[:, :, r, s] += xp[:, :, r*sh + i, s*sw + j] @ weight[:, :, i, j].T
    so, differentiating that one line by hand, with g = dL/dy:
        dL/dweight[:, :, i, j] += g[:, :, r, s].T @ xp[:, :, r*sh + i, s*sw + j]
        dL/dxp[:, :, r*sh + i, s*sw + j] += g[:, :, r, s] @ weight[:, :, i, j]
        dL/dbias = sum of g over N, Ho and Wo
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

    def offsets(self, ho, wo):
        """Every (r, s, i, j, a, b): output pixel, kernel offset, and the padded input pixel."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        for r in range(ho):
            for s in range(wo):
                for i in range(kh):
                    for j in range(kw):
                        yield r, s, i, j, r * sh + i, s * sw + j

    def forward(self, x):
        self.check_input(x, "(N, C, H, W)", channels=self.in_channels)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        n, _, h, w = x.shape
        ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        if ho < 1 or wo < 1:
            raise ValueError(f"{self!r}: input of spatial size {(h, w)} is smaller than the "
                             f"kernel {self.kernel_size} with padding {self.padding}")
        weight = self.weight.data
        xp = zero_pad(x, ph, pw)
        out = np.zeros((n, self.out_channels, ho, wo), dtype=np.result_type(x, weight))
        for r, s, i, j, a, b in self.offsets(ho, wo):
            out[:, :, r, s] += xp[:, :, a, b] @ weight[:, :, i, j].T
        if self.bias is not None:
            for o in range(self.out_channels):
                out[:, o] += self.bias.data[o]
        self.save_for_backward(xp, x.shape)
        return out

    def backward(self, grad_out):
        xp, shape = self.saved_tensors
        n, _, h, w = shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        self.check_grad(grad_out, (n, self.out_channels, ho, wo))
        weight = self.weight.data
        grad_weight = np.zeros_like(self.weight.grad)
        grad_xp = np.zeros(xp.shape, dtype=np.result_type(grad_out, weight))
        for r, s, i, j, a, b in self.offsets(ho, wo):
            g = grad_out[:, :, r, s]                                  # (N, C_out)
            grad_weight[:, :, i, j] += g.T @ xp[:, :, a, b]
            grad_xp[:, :, a, b] += g @ weight[:, :, i, j]
        self.weight.grad += grad_weight
        if self.bias is not None:
            for o in range(self.out_channels):
                self.bias.grad[o] += grad_out[:, o].sum()
        return grad_xp[:, :, ph:ph + h, pw:pw + w]
