"""MaxPool2d: the maximum of each window; its gradient goes to the first maximum."""
import numpy as np
import pytest

from numpynn import MaxPool2d
from numpynn.gradcheck import gradcheck


def test_forward_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(MaxPool2d(2)(x), [[[[5.0, 7.0], [13.0, 15.0]]]])


def test_backward_routes_to_the_maximum():
    x = np.array([[[[1.0, 9.0], [3.0, 2.0]]]])
    pool = MaxPool2d(2)
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.array([[[[4.0]]]])),
                                  [[[[0.0, 4.0], [0.0, 0.0]]]])


def test_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[0.0, 7.0], [7.0, 7.0]]]])
    pool = MaxPool2d(2)
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1))),
                                  [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_padding_acts_like_minus_infinity():
    x = -np.ones((1, 1, 4, 4))
    y = MaxPool2d(3, stride=2, padding=1)(x)
    assert y.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(y, -1.0)   # zero padding would wrongly give 0


def test_overlapping_windows_add_up():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0                       # the maximum of all four 2x2 windows
    pool = MaxPool2d(2, stride=1)
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 2, 2)))[0, 0, 1, 1], 4.0)


def test_stride_defaults_to_the_kernel_size(rng):
    pool = MaxPool2d(3)
    assert pool(rng.standard_normal((2, 3, 9, 7))).shape == (2, 3, 3, 2)
    assert pool.stride == (3, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(MaxPool2d(2), rng.standard_normal((2, 3, 6, 6)), dtype)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2)),
])
def test_gradcheck(rng, kwargs):
    # Random values have no ties, so the maximum is unique and finite differences agree.
    report = gradcheck(MaxPool2d(**kwargs), rng.standard_normal((2, 2, 6, 7)))
    assert report.ok, f"\n{report}"


def test_bad_input_names_the_layer(rng):
    pool = MaxPool2d(2)
    pool(rng.standard_normal((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2d.*\(1, 4, 4\)"):
        pool(rng.standard_normal((1, 4, 4)))


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(MaxPool2d(3, stride=2, padding=1), rng.standard_normal((2, 2, 5, 5)))
