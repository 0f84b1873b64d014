"""LeakyReLU: y = x if x > 0 else negative_slope * x."""
import numpy as np
import pytest

from numpynn import LeakyReLU
from numpynn.gradcheck import gradcheck


def test_forward_and_backward_by_hand():
    layer = LeakyReLU(negative_slope=0.1)
    y = layer(np.array([[-2.0, 3.0]]))
    np.testing.assert_allclose(y, [[-0.2, 3.0]])
    np.testing.assert_allclose(layer.backward(np.array([[1.0, 1.0]])), [[0.1, 1.0]])


def test_default_slope_is_pytorchs():
    layer = LeakyReLU()
    np.testing.assert_allclose(layer(np.array([[-1.0]])), [[-0.01]])
    assert repr(layer) == "LeakyReLU(negative_slope=0.01)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_shape_and_dtype(check_dtype, rng, dtype):
    check_dtype(LeakyReLU(0.2), rng.standard_normal((2, 3, 4, 5)), dtype)


def test_gradcheck(rng):
    x = rng.standard_normal((3, 7))
    x[np.abs(x) < 0.1] = -0.5  # keep away from the kink at 0
    report = gradcheck(LeakyReLU(0.2), x)
    assert report.ok, f"\n{report}"


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(LeakyReLU(0.1), rng.standard_normal((3, 7)))
