"""ReLU: y = max(x, 0), and dL/dx = g * (x > 0)."""
import numpy as np
import pytest

from numpynn import ReLU
from numpynn.gradcheck import gradcheck


def test_forward_by_hand():
    y = ReLU()(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(y, [[0.0, 0.0, 2.0]])


def test_backward_by_hand():
    relu = ReLU()
    relu(np.array([[-1.0, 0.0, 2.0]]))
    # The gradient at exactly 0 is 0, as in PyTorch.
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_shape_and_dtype(check_dtype, rng, dtype):
    check_dtype(ReLU(), rng.standard_normal((2, 3, 4, 5)), dtype)


def test_gradcheck(rng):
    x = rng.standard_normal((3, 7))
    x[np.abs(x) < 0.1] = 0.5  # keep away from the kink at 0, where finite differences lie
    report = gradcheck(ReLU(), x)
    assert report.ok, f"\n{report}"


def test_backward_rejects_a_gradient_of_the_wrong_shape(rng):
    relu = ReLU()
    relu(rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match="ReLU"):
        relu.backward(np.ones((3, 2)))


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(ReLU(), rng.standard_normal((3, 7)))
