"""MaxPool2d and AvgPool2d over (N, C, H, W) inputs."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import output_size, pair
from .module import Module


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

    def windows(self, xp):
        """All pooling windows of the padded input: (N, C, Ho, Wo, kh, kw), a view."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


class MaxPool2d(_Pool2d):
    """Maximum over each window, as ``torch.nn.MaxPool2d`` (padding counts as -inf).

    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H + 2*ph - kh) // sh + 1 (same for Wo).
    stride defaults to kernel_size.

    Gradient: each output's gradient goes to the input element that was the window's
    maximum; on a tie, to the FIRST maximal element in row-major order (what ``argmax``
    returns). Overlapping windows (stride < kernel) add their contributions.
    """

    def forward(self, x):
        n, c, ho, wo = self.output_shape(x)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        sh, sw = self.stride
        padded = np.full((n, c, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), -np.inf, dtype=x.dtype)
        padded[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
        out = np.full((n, c, ho, wo), -np.inf, dtype=x.dtype)
        argmax = np.zeros((n, c, ho, wo), dtype=np.int64)
        for i in range(kh):
            for j in range(kw):
                candidate = padded[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
                better = candidate > out
                out = np.where(better, candidate, out)
                argmax[better] = i * kw + j
        self.save_for_backward(x, argmax)
        return out

    def backward(self, grad_out):
        x, argmax = self.saved_tensors
        self.check_grad(grad_out, argmax.shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        n, c, h, w = x.shape
        ho, wo = argmax.shape[2:]
        grad_padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
        for k in range(kh * kw):
            i, j = divmod(k, kw)
            grad_padded[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += grad_out * (argmax == k)
        grad_x = grad_padded[:, :, ph:h + ph, pw:w + pw]
        return grad_x


class AvgPool2d(_Pool2d):
    """Mean over each window, as ``torch.nn.AvgPool2d`` with ``count_include_pad=True``.

    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), as for MaxPool2d; padding counts as zeros
    and the divisor is always kh*kw.

    Gradient: every input element of a window receives ``grad_y / (kh*kw)``; overlapping
    windows add up.
    """

    def forward(self, x):
        self.output_shape(x)
        (ph, pw) = self.padding
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        ho = (padded.shape[2] - kh) // sh + 1
        wo = (padded.shape[3] - kw) // sw + 1
        total = np.zeros(x.shape[:2] + (ho, wo), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                total += padded[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
        out = total / (kh * kw)
        self.save_for_backward(x)
        return out

    def backward(self, grad_out):
        (x,) = self.saved_tensors
        n, c, ho, wo = self.output_shape(x)
        self.check_grad(grad_out, (n, c, ho, wo))
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        h, w = x.shape[2:]
        portion = grad_out / (kh * kw)
        grad_padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
        for i in range(kh):
            for j in range(kw):
                grad_padded[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += portion
        grad_x = grad_padded[:, :, ph:ph + h, pw:pw + w]
        return grad_x
