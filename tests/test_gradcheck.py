"""numpynn.gradcheck: every layer passes it, and planted bugs fail it.

The checker is what students use to test their own backward passes, so it is tested
both ways: the solution (and the loop reference) must pass on random small shapes in
float64, and layers with a deliberately wrong backward must be reported as mismatches
for exactly the gradient that is wrong.
"""
import numpy as np
import pytest

import numpynn
import reference
from numpynn import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, Softmax
from numpynn.gradcheck import gradcheck, relative_error


@pytest.fixture(scope="session")
def loops(tmp_path_factory):
    return reference.loops_package(tmp_path_factory)


def away_from_zero(shape, seed):
    """Random values with |x| >= 0.1, so no finite difference straddles ReLU's kink."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.sign(x) * (0.1 + np.abs(x))


# (name, make(pkg), input shape, mode)
LAYERS = [
    ("Linear", lambda p: p.Linear(4, 3), (3, 4), "train"),
    ("Linear no bias, batch of 1", lambda p: p.Linear(5, 2, bias=False), (1, 5), "train"),
    ("Conv2d 3x3", lambda p: p.Conv2d(2, 3, 3), (2, 2, 5, 4), "train"),
    ("Conv2d stride 2 padding 1", lambda p: p.Conv2d(2, 2, 3, stride=2, padding=1), (1, 2, 5, 6),
     "train"),
    ("Conv2d non-square, stride > kernel", lambda p: p.Conv2d(1, 2, (1, 2), stride=(2, 3)),
     (2, 1, 5, 7), "train"),
    ("MaxPool2d 2", lambda p: p.MaxPool2d(2), (2, 2, 5, 4), "train"),
    ("MaxPool2d 3 stride 2 padding 1", lambda p: p.MaxPool2d(3, 2, 1), (1, 2, 5, 5), "train"),
    ("AvgPool2d (2, 3) padding 1", lambda p: p.AvgPool2d((2, 3), 1, 1), (1, 2, 4, 5), "train"),
    ("BatchNorm1d train", lambda p: p.BatchNorm1d(3), (5, 3), "train"),
    ("BatchNorm1d eval", lambda p: p.BatchNorm1d(3), (5, 3), "eval"),
    ("BatchNorm2d train", lambda p: p.BatchNorm2d(2), (2, 2, 3, 3), "train"),
    ("BatchNorm2d eval", lambda p: p.BatchNorm2d(2), (2, 2, 3, 3), "eval"),
    ("Dropout train", lambda p: p.Dropout(0.4, seed=3), (4, 5), "train"),
    ("ReLU", lambda p: p.ReLU(), (3, 4), "train"),
    ("LeakyReLU", lambda p: p.LeakyReLU(0.1), (3, 4), "train"),
    ("Sigmoid", lambda p: p.Sigmoid(), (3, 4), "train"),
    ("Tanh", lambda p: p.Tanh(), (3, 4), "train"),
    ("Flatten", lambda p: p.Flatten(), (2, 3, 2), "train"),
    ("Softmax last axis", lambda p: p.Softmax(), (3, 4), "train"),
    ("Softmax axis 1", lambda p: p.Softmax(1), (2, 3, 4), "train"),
    # The conv bias before BatchNorm has a true gradient of exactly 0 (BN subtracts the
    # mean): both gradients are rounding noise, which the checker must not call a mismatch.
    ("small CNN", lambda p: p.Sequential(
        p.Conv2d(1, 2, 3, padding=1), p.BatchNorm2d(2), p.ReLU(), p.MaxPool2d(2),
        p.Flatten(), p.Linear(8, 3), p.Tanh(), p.Dropout(0.3, seed=1), p.Linear(3, 2)),
     (3, 1, 4, 4), "train"),
]


@pytest.mark.parametrize("package", ["solution", "loops"])
@pytest.mark.parametrize("name, make, shape, mode", LAYERS, ids=[c[0] for c in LAYERS])
def test_every_layer_passes(name, make, shape, mode, package, loops):
    pkg = numpynn if package == "solution" else loops
    layer = reference.randomize(make(pkg), seed=1).train(mode == "train")
    x = away_from_zero(shape, seed=2)
    report = gradcheck(layer, x)
    assert report.ok, f"{name}:\n{report}"
    assert set(report.errors) == {"x"} | {n for n, _ in layer.named_parameters()}


def test_checker_restores_batchnorm_state_and_clears_nothing_else():
    bn = reference.randomize(BatchNorm2d(2), seed=4)
    before = bn.state_dict()
    gradcheck(bn, away_from_zero((2, 2, 3, 3), seed=5))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_checker_sees_the_same_dropout_mask_at_every_forward():
    # without rewinding the rng, the numeric gradient would use different masks
    report = gradcheck(Dropout(0.5, seed=0), away_from_zero((6, 7), seed=6))
    assert report.ok and report.errors["x"] < 1e-9


def test_relative_error_is_normwise():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([8.7e-19]), np.array([0.0])) == 0.0    # both noise
    assert relative_error(np.array([1e-3]), np.array([0.0])) == 1.0
    assert relative_error(np.array([1.0, 1e-12]), np.array([1.0, 2e-12])) == pytest.approx(1e-12)
    assert relative_error(np.array([2.0]), np.array([1.0])) == pytest.approx(0.5)


# -- planted bugs: the checker must fail, and for the right gradient ----------------------

class ConvWithoutBiasGrad(Conv2d):
    """Forgets to accumulate dL/dbias."""

    def backward(self, grad_out):
        kept = self.bias.grad.copy()
        grad_x = super().backward(grad_out)
        self.bias.grad[...] = kept
        return grad_x


class ConvScaledGradX(Conv2d):
    """Returns dL/dx 1% too large."""

    def backward(self, grad_out):
        return super().backward(grad_out) * 1.01


class ConvFlippedKernelGrad(Conv2d):
    """Flips dL/dweight along the kernel axes (a convolution/cross-correlation mix-up)."""

    def backward(self, grad_out):
        before = self.weight.grad.copy()
        grad_x = super().backward(grad_out)
        self.weight.grad[...] = before + (self.weight.grad - before)[:, :, ::-1, ::-1]
        return grad_x


class LinearFirstSampleOnly(Linear):
    """Accumulates dL/dweight from the first sample of the batch only."""

    def backward(self, grad_out):
        grad_x = super().backward(grad_out)
        self.weight.grad[...] = np.outer(grad_out[0], self.saved_tensors[0][0])
        return grad_x


class BatchNormEvalGradInTraining(BatchNorm1d):
    """Ignores that the batch mean and variance depend on x (the eval formula in training)."""

    def backward(self, grad_out):
        x_hat, inv_std, _ = self.saved_tensors
        self.save_for_backward(x_hat, inv_std, False)  # as if forward had run in eval mode
        return super().backward(grad_out)


class SoftmaxDiagonalOnly(Softmax):
    """Keeps only the diagonal of the Jacobian: g * y * (1 - y)."""

    def backward(self, grad_out):
        (y,) = self.saved_tensors
        return grad_out * y * (1 - y)


class MaxPoolToLastCorner(MaxPool2d):
    """Sends every window's gradient to its bottom-right pixel instead of its maximum."""

    def backward(self, grad_out):
        x, _ = self.saved_tensors
        grad_x = np.zeros_like(x)
        grad_x[:, :, 1::2, 1::2] = grad_out
        return grad_x


class AvgPoolForgetsDivisor(AvgPool2d):
    """Spreads the whole gradient to every pixel of the window, without dividing by kh*kw."""

    def backward(self, grad_out):
        return super().backward(grad_out) * 4


PLANTED = [
    ("Conv2d without bias gradient", lambda: ConvWithoutBiasGrad(2, 3, 3), (2, 2, 4, 4), {"bias"}),
    ("Conv2d grad_x scaled by 1.01", lambda: ConvScaledGradX(2, 3, 3, padding=1), (1, 2, 4, 4),
     {"x"}),
    ("Conv2d flipped kernel gradient", lambda: ConvFlippedKernelGrad(1, 2, 3), (2, 1, 5, 5),
     {"weight"}),
    ("Linear weight gradient of one sample", lambda: LinearFirstSampleOnly(3, 2), (4, 3),
     {"weight"}),
    ("BatchNorm eval formula in training", lambda: BatchNormEvalGradInTraining(3), (4, 3), {"x"}),
    ("Softmax Jacobian diagonal only", lambda: SoftmaxDiagonalOnly(), (3, 4), {"x"}),
    ("MaxPool2d routes to the wrong pixel", lambda: MaxPoolToLastCorner(2), (1, 2, 4, 4), {"x"}),
    ("AvgPool2d without the divisor", lambda: AvgPoolForgetsDivisor(2), (1, 2, 4, 4), {"x"}),
]


@pytest.mark.parametrize("name, make, shape, wrong", PLANTED, ids=[c[0] for c in PLANTED])
def test_planted_bug_is_caught(name, make, shape, wrong):
    layer = reference.randomize(make(), seed=7)
    report = gradcheck(layer, away_from_zero(shape, seed=8))
    assert not report.ok, f"{name} went unnoticed:\n{report}"
    flagged = {key for key, error in report.errors.items() if error > report.tolerance}
    assert flagged == wrong, f"{name}: flagged {flagged}, expected {wrong}\n{report}"
    assert set(report.mismatched) == wrong and "MISMATCH" in str(report)
    assert "inconclusive" not in str(report), f"{name}: a real bug called noise\n{report}"


def test_a_gradient_at_noise_level_is_inconclusive_not_a_mismatch():
    """BatchNorm1d on a batch of 2: x_hat is about +-1 whatever x is, so dL/dx is ~1e-6 and
    central differences are mostly rounding noise. A correct layer is not called wrong."""
    x = np.random.default_rng(2).standard_normal((2, 3))   # (r is drawn from seed 0)
    report = gradcheck(BatchNorm1d(3), x)
    assert report.errors["x"] > report.tolerance   # what used to read MISMATCH
    assert report.verdict("x") == "inconclusive: the gradient is at noise level (try a larger batch or input)"
    assert not report.ok and report.mismatched == [] and "MISMATCH" not in str(report)
    # A larger batch resolves it, and the same bug at that batch size is still caught.
    assert gradcheck(BatchNorm1d(3), np.random.default_rng(2).standard_normal((8, 3))).ok
    wrong = gradcheck(BatchNormEvalGradInTraining(3), x)
    assert wrong.mismatched == ["x"], f"\n{wrong}"


def test_smallest_planted_error_is_far_above_the_tolerance():
    """A 1% error in dL/dx shows up as about 1e-2, four orders above the 1e-6 tolerance."""
    report = gradcheck(ConvScaledGradX(1, 1, 2), away_from_zero((1, 1, 3, 3), seed=9))
    assert report.errors["x"] == pytest.approx(0.01 / 1.01, rel=1e-4)
