"""MSELoss: mean((prediction - target)**2) over all elements; gradient 2 * diff / size."""
import numpy as np
import pytest

from numpynn import Module, MSELoss
from numpynn.gradcheck import gradcheck


class LossOfPrediction(Module):
    """The loss as a module of the prediction alone, so gradcheck can drive it."""

    def __init__(self, target):
        super().__init__()
        self.loss, self.target = MSELoss(), target

    def forward(self, prediction):
        return np.array(self.loss(prediction, self.target))

    def backward(self, grad_out):
        return self.loss.backward() * grad_out


def test_by_hand():
    loss = MSELoss()
    value = loss(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    assert isinstance(value, float)
    assert value == pytest.approx(2.5)
    np.testing.assert_allclose(loss.backward(), [[1.0, 2.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_keeps_shape_and_dtype(rng, dtype):
    loss = MSELoss()
    loss(rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype))
    grad = loss.backward()
    assert grad.shape == (3, 4) and grad.dtype == dtype


def test_gradcheck(rng):
    report = gradcheck(LossOfPrediction(rng.standard_normal((2, 3, 2))),
                       rng.standard_normal((2, 3, 2)))
    assert report.ok, f"\n{report}"


def test_shape_mismatch_is_a_clear_error(rng):
    loss = MSELoss()
    loss(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match="MSELoss"):
        loss(rng.standard_normal((2, 3)), rng.standard_normal((3, 2)))


def test_never_changes_its_inputs():
    rng = np.random.default_rng(0)
    prediction, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    saved = prediction.copy(), target.copy()
    loss = MSELoss()
    loss(prediction, target)
    loss.backward()
    assert np.array_equal(prediction, saved[0]), (
        "MSELoss changed the prediction in place (e.g. prediction -= target): compute "
        "diff = prediction - target instead")
    assert np.array_equal(target, saved[1]), "MSELoss changed the target in place"
