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


def test_weight_decay_with_momentum_is_added_before_the_momentum():
    """Three steps with momentum AND weight decay, against PyTorch's update; the other
    forms the handout calls wrong are recognised and named."""
    lr, momentum, wd, grad = 0.1, 0.9, 0.5, np.array([1.0, -2.0])

    def trajectory(form):
        data, v = np.array([2.0, 3.0]), np.zeros(2)
        for _ in range(3):
            if form == "pytorch":        # g = grad + wd * p; v = m * v + g; p -= lr * v
                v = momentum * v + grad + wd * data
                data = data - lr * v
            elif form == "decay after momentum":
                v = momentum * v + grad
                data = data - lr * (v + wd * data)
            elif form == "momentum ignored":
                data = data - lr * (grad + wd * data)
            elif form == "dampening":
                v = momentum * v + (1 - momentum) * (grad + wd * data)
                data = data - lr * v
        return data

    p = param([2.0, 3.0], grad)
    opt = SGD([p], lr=lr, momentum=momentum, weight_decay=wd)
    for _ in range(3):
        opt.step()                    # grad stays the same: step() must not change it
    expected = trajectory("pytorch")
    if not np.allclose(p.data, expected, rtol=1e-12):
        wrong = [form for form in ("decay after momentum", "momentum ignored", "dampening")
                 if np.allclose(p.data, trajectory(form), rtol=1e-12)]
        cause = (f"that is the '{wrong[0]}' form, which the handout calls wrong"
                 if wrong else "no known form gives that")
        raise AssertionError(
            f"after 3 steps with momentum {momentum} and weight decay {wd}, p = {p.data.tolist()}, "
            f"expected {expected.tolist()} (g = grad + weight_decay * p, then v = momentum * v + g, "
            f"then p -= lr * v): {cause}")


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
