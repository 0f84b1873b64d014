"""Adam, as torch.optim.Adam (weight decay added to the gradient, bias-corrected moments)."""
import numpy as np
import pytest

from numpynn import Adam, Parameter


def param(value, grad):
    p = Parameter(np.array(value, dtype=np.float64))
    p.grad[...] = grad
    return p


def test_first_step_moves_by_lr_times_the_sign():
    # After bias correction, m_hat = g and v_hat = g**2: the step is lr * g / (|g| + eps).
    p = param([1.0, 1.0, 1.0], [0.5, -20.0, 1e-2])
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.9, 1.1, 0.9], rtol=1e-6)


def test_constant_gradient_keeps_the_step_size():
    p = param([0.0], [3.0])
    opt = Adam([p], lr=0.01)
    for _ in range(5):
        opt.step()
    np.testing.assert_allclose(p.data, [-0.05], rtol=1e-6)


def test_weight_decay_is_added_to_the_gradient():
    # With grad = 0 the whole gradient is wd * p, so the first step is still lr * sign(p).
    p = param([2.0, -2.0], [0.0, 0.0])
    Adam([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, [1.9, -1.9], rtol=1e-6)


def test_step_updates_data_in_place():
    p = param(np.ones((2, 2)), np.ones((2, 2)))
    data = p.data
    Adam([p], lr=0.1).step()
    assert p.data is data, "step() must update Parameter.data in place (p.data -= ...)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(dtype):
    p = param(np.ones(3), np.ones(3))
    p.data, p.grad = p.data.astype(dtype), p.grad.astype(dtype)
    Adam([p], lr=0.1, weight_decay=1e-4).step()
    assert p.data.dtype == dtype


def test_minimises_a_quadratic():
    p = param([5.0, -3.0], [0.0, 0.0])
    opt = Adam([p], lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        p.grad += 2 * (p.data - 1.0)
        opt.step()
    np.testing.assert_allclose(p.data, [1.0, 1.0], atol=1e-2)
