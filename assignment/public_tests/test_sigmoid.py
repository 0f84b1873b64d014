"""Sigmoid: y = 1 / (1 + exp(-x)), and dL/dx = g * y * (1 - y)."""
import numpy as np
import pytest

from numpynn import Sigmoid
from numpynn.gradcheck import gradcheck


def test_forward_and_backward_at_zero():
    layer = Sigmoid()
    np.testing.assert_allclose(layer(np.zeros((1, 3))), 0.5)
    np.testing.assert_allclose(layer.backward(np.full((1, 3), 2.0)), 2.0 * 0.25)


def test_symmetry(rng):
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(Sigmoid()(-x), 1 - Sigmoid()(x), rtol=1e-12, atol=1e-12)


def test_no_overflow_for_large_inputs():
    x = np.array([[-1000.0, -50.0, 50.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = Sigmoid()(x)
    np.testing.assert_allclose(y[0, [0, 3]], [0.0, 1.0])
    assert np.all((y >= 0) & (y <= 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_shape_and_dtype(check_dtype, rng, dtype):
    check_dtype(Sigmoid(), rng.standard_normal((2, 3, 4, 5)), dtype)


def test_gradcheck(rng):
    report = gradcheck(Sigmoid(), 3 * rng.standard_normal((3, 7)))
    assert report.ok, f"\n{report}"


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Sigmoid(), rng.standard_normal((3, 7)))
