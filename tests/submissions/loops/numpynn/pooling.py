"""MaxPool2d and AvgPool2d from the definition: loops over output pixels and window offsets."""
import numpy as np

from .geometry import output_size, pair
from .module import Module


def pad(x, ph, pw, fill):
    """x: (N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw), with ``fill`` around the border."""
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


class _Pool2d(Module):
    """Shared by both poolings: arguments, output size and input checks."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride if stride is not None else kernel_size, "stride")
        self.padding = pair(padding, "padding", minimum=0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{type(self).__name__}: padding {self.padding} must be at most "
                             f"half the kernel size {self.kernel_size}")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def output_shape(self, x):
        self.check_input(x, "(N, C, H, W)")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        n, c, h, w = x.shape
        ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        if ho < 1 or wo < 1:
            raise ValueError(f"{self!r}: input of spatial size {(h, w)} is smaller than the "
                             f"window {self.kernel_size}")
        return n, c, ho, wo

    def window(self, r, s):
        """The padded-input pixels (a, b) of output pixel (r, s), in row-major order."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return [(r * sh + i, s * sw + j) for i in range(kh) for j in range(kw)]


class MaxPool2d(_Pool2d):
    """Maximum over each window, as ``torch.nn.MaxPool2d`` (padding counts as -inf).

    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H + 2*ph - kh) // sh + 1 (same for Wo).

    For each output pixel, walk its window in row-major order and keep the running
    maximum, replacing it only on a STRICTLY larger value: that keeps the first maximum
    on a tie. The backward adds g[n, c, r, s] onto the pixel that was kept.
    """

    def forward(self, x):
        n, c, ho, wo = self.output_shape(x)
        ph, pw = self.padding
        xp = pad(x, ph, pw, fill=-np.inf)
        out = np.empty((n, c, ho, wo), dtype=x.dtype)
        winner = np.empty((n, c, ho, wo, 2), dtype=np.intp)   # padded (row, col) of the max
        for r in range(ho):
            for s in range(wo):
                (a, b), *rest = self.window(r, s)
                best = xp[:, :, a, b].copy()
                where = np.empty((n, c, 2), dtype=np.intp)
                where[...] = (a, b)
                for a, b in rest:
                    larger = xp[:, :, a, b] > best
                    best[larger] = xp[:, :, a, b][larger]
                    where[larger] = (a, b)
                out[:, :, r, s] = best
                winner[:, :, r, s] = where
        self.save_for_backward(x.shape, winner)
        return out

    def backward(self, grad_out):
        shape, winner = self.saved_tensors
        self.check_grad(grad_out, winner.shape[:4])
        (ph, pw), (n, c, h, w) = self.padding, shape
        ho, wo = winner.shape[2:4]
        batch, channel = np.indices((n, c))
        grad_xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
        for r in range(ho):
            for s in range(wo):
                rows, cols = winner[:, :, r, s, 0], winner[:, :, r, s, 1]
                # one pixel per (n, c) here, so no index repeats within this +=
                grad_xp[batch, channel, rows, cols] += grad_out[:, :, r, s]
        return grad_xp[:, :, ph:ph + h, pw:pw + w]


class AvgPool2d(_Pool2d):
    """Mean over each window, as ``torch.nn.AvgPool2d`` with ``count_include_pad=True``.

    Shapes: as MaxPool2d. Padding counts as zeros and the divisor is always kh*kw, so
    every pixel of a window receives g[n, c, r, s] / (kh*kw) in the backward.
    """

    def forward(self, x):
        n, c, ho, wo = self.output_shape(x)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        xp = pad(x, ph, pw, fill=0)
        out = np.empty((n, c, ho, wo), dtype=x.dtype)
        for r in range(ho):
            for s in range(wo):
                total = np.zeros((n, c), dtype=x.dtype)
                for a, b in self.window(r, s):
                    total += xp[:, :, a, b]
                out[:, :, r, s] = total / (kh * kw)
        self.save_for_backward(x.shape)
        return out

    def backward(self, grad_out):
        (shape,) = self.saved_tensors
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        n, c, h, w = shape
        ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        self.check_grad(grad_out, (n, c, ho, wo))
        grad_xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
        for r in range(ho):
            for s in range(wo):
                for a, b in self.window(r, s):
                    grad_xp[:, :, a, b] += grad_out[:, :, r, s] / (kh * kw)
        return grad_xp[:, :, ph:ph + h, pw:pw + w]
