"""CrossEntropyLoss: mean over the batch of logsumexp(logits) - logits[target].

backward() takes no argument and returns (softmax(logits) - onehot(targets)) / N.
"""
import numpy as np
import pytest

from numpynn import CrossEntropyLoss, Module
from numpynn.gradcheck import gradcheck


class LossOfLogits(Module):
    """The loss as a module of the logits alone (fixed targets), so gradcheck can drive it."""

    def __init__(self, targets):
        super().__init__()
        self.loss, self.targets = CrossEntropyLoss(), targets

    def forward(self, logits):
        return np.array(self.loss(logits, self.targets))

    def backward(self, grad_out):
        return self.loss.backward() * grad_out


def test_uniform_logits_give_log_of_the_class_count():
    loss = CrossEntropyLoss()
    value = loss(np.zeros((2, 4)), np.array([0, 3]))
    assert isinstance(value, float)
    assert value == pytest.approx(np.log(4))
    np.testing.assert_allclose(loss.backward(), [[-0.375, 0.125, 0.125, 0.125],
                                                 [0.125, 0.125, 0.125, -0.375]])


def test_large_logits_are_stable():
    loss = CrossEntropyLoss()
    logits = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    with np.errstate(over="raise", invalid="raise"):
        value = loss(logits, np.array([0, 1]))
        grad = loss.backward()
    assert value == pytest.approx(500.0)       # (0 + 1000) / 2
    np.testing.assert_allclose(grad, [[0.0, 0.0], [0.5, -0.5]], atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_keeps_shape_and_dtype(rng, dtype):
    loss = CrossEntropyLoss()
    loss(rng.standard_normal((5, 3)).astype(dtype), np.array([0, 1, 2, 1, 0]))
    grad = loss.backward()
    assert grad.shape == (5, 3) and grad.dtype == dtype
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-6)


def test_gradcheck(rng):
    report = gradcheck(LossOfLogits(np.array([2, 0, 1, 2])), 3 * rng.standard_normal((4, 3)))
    assert report.ok, f"\n{report}"


def test_bad_labels_are_clear_errors(rng):
    loss = CrossEntropyLoss()
    loss(rng.standard_normal((2, 3)), np.array([0, 2]))
    with pytest.raises(ValueError, match="out of range"):
        loss(rng.standard_normal((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer"):
        loss(rng.standard_normal((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="CrossEntropyLoss"):
        loss(rng.standard_normal((2, 3)), np.array([0, 1, 2]))


def test_never_changes_its_inputs(rng):
    logits, targets = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    saved = logits.copy(), targets.copy()
    loss = CrossEntropyLoss()
    loss(logits, targets)
    loss.backward()
    assert np.array_equal(logits, saved[0]), (
        "CrossEntropyLoss changed the logits in place (e.g. logits -= logits.max(...)): "
        "the caller still needs them; compute shifted = logits - logits.max(...) instead")
    assert np.array_equal(targets, saved[1]), "CrossEntropyLoss changed the targets in place"
