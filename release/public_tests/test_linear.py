"""Linear: y = x @ weight.T + bias, weight (out, in), bias (out,)."""
import numpy as np
import pytest

from numpynn import Linear
from numpynn.gradcheck import gradcheck


def small_linear():
    layer = Linear(2, 2)
    layer.weight.data[...] = [[1.0, 2.0], [3.0, 4.0]]
    layer.bias.data[...] = [10.0, 20.0]
    return layer


def test_forward_by_hand():
    y = small_linear()(np.array([[1.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_allclose(y, [[13.0, 27.0], [11.0, 23.0]])


def test_backward_by_hand():
    layer = small_linear()
    layer(np.array([[1.0, 1.0], [1.0, 0.0]]))
    grad_x = layer.backward(np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(grad_x, [[1.0, 2.0], [3.0, 4.0]])        # g @ weight
    np.testing.assert_allclose(layer.weight.grad, [[1.0, 1.0], [1.0, 0.0]])  # g.T @ x
    np.testing.assert_allclose(layer.bias.grad, [1.0, 1.0])              # g.sum(axis=0)


def test_backward_adds_into_grad(rng):
    layer = Linear(3, 2)
    x = rng.standard_normal((4, 3))
    g = rng.standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once[0])
    np.testing.assert_allclose(layer.bias.grad, 2 * once[1])


def test_shapes_parameters_and_names(rng):
    layer = Linear(5, 3)
    assert layer(rng.standard_normal((4, 5))).shape == (4, 3)
    assert [p.shape for p in layer.parameters()] == [(3, 5), (3,)]
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert repr(layer) == "Linear(in_features=5, out_features=3, bias=True)"


def test_without_bias(rng):
    layer = Linear(5, 3, bias=False)
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(layer(x), x @ layer.weight.data.T)
    assert len(layer.parameters()) == 1
    report = gradcheck(layer, x)
    assert report.ok, f"\n{report}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(Linear(5, 3), rng.standard_normal((4, 5)), dtype)


def test_gradcheck(rng):
    report = gradcheck(Linear(4, 3), rng.standard_normal((5, 4)))
    assert report.ok, f"\n{report}"


def test_bad_input_names_the_layer_and_the_shapes(rng):
    layer = Linear(5, 3)
    layer(rng.standard_normal((2, 5)))
    with pytest.raises(ValueError, match=r"Linear.*\(2, 4\)"):
        layer(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match="Linear"):
        layer(rng.standard_normal((2, 5, 1)))


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Linear(4, 3), rng.standard_normal((5, 4)))
