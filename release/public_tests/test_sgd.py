"""SGD, as torch.optim.SGD: g = grad + wd * p; v = momentum * v + g; p -= lr * v."""
import numpy as np
import pytest

from numpynn import SGD, Parameter


def param(value, grad):
    p = Parameter(np.array(value, dtype=np.float64))
    p.grad[...] = grad
    return p


def test_plain_step_by_hand():
    p = param([1.0, -2.0], [0.5, -1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -1.9])


def test_momentum_by_hand():
    p = param([0.0], [1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()                        # v = 1,   p = -0.1
    opt.step()                        # v = 1.9, p = -0.1 - 0.19
    np.testing.assert_allclose(p.data, [-0.29])


def test_weight_decay_is_added_to_the_gradient():
    p = param([2.0], [0.0])
    SGD([p], lr=0.1, weight_decay=0.5).step()   # g = 0 + 0.5 * 2 = 1
    np.testing.assert_allclose(p.data, [1.9])


def test_step_updates_data_in_place_and_leaves_grad_alone():
    p = param(np.ones((2, 3)), np.full((2, 3), 2.0))
    data = p.data
    SGD([p], lr=0.5, momentum=0.9).step()
    assert p.data is data, "step() must update Parameter.data in place (p.data -= ...)"
    np.testing.assert_allclose(p.data, 0.0)
    np.testing.assert_allclose(p.grad, 2.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(dtype):
    p = param(np.ones(3), np.ones(3))
    p.data, p.grad = p.data.astype(dtype), p.grad.astype(dtype)
    SGD([p], lr=0.1, momentum=0.9, weight_decay=1e-4).step()
    assert p.data.dtype == dtype


def test_minimises_a_quadratic():
    p = param([5.0, -3.0], [0.0, 0.0])
    opt = SGD([p], lr=0.05, momentum=0.9)
    for _ in range(300):
        opt.zero_grad()
        p.grad += 2 * (p.data - 1.0)    # d/dp of sum((p - 1)**2)
        opt.step()
    np.testing.assert_allclose(p.data, [1.0, 1.0], atol=1e-4)
