"""BatchNorm2d over (N, C, H, W): statistics per channel, over the N*H*W values."""
import numpy as np
import pytest

from numpynn import BatchNorm2d
from numpynn.gradcheck import gradcheck


def test_training_output_is_normalised_per_channel(rng):
    x = 3 + 5 * rng.standard_normal((4, 3, 5, 5))
    y = BatchNorm2d(3)(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, rtol=1e-4)


def test_running_statistics_use_every_pixel(rng):
    layer = BatchNorm2d(2, momentum=0.2)
    x = rng.standard_normal((3, 2, 4, 4))
    layer(x)
    per_channel = x.transpose(1, 0, 2, 3).reshape(2, -1)     # (C, N*H*W)
    np.testing.assert_allclose(layer.running_mean, 0.2 * per_channel.mean(axis=1), rtol=1e-10)
    np.testing.assert_allclose(layer.running_var, 0.8 + 0.2 * per_channel.var(axis=1, ddof=1),
                               rtol=1e-10)


def test_eval_uses_the_running_statistics(rng):
    layer = BatchNorm2d(2).eval()
    layer.running_mean = np.array([1.0, -1.0])
    layer.running_var = np.array([0.25, 4.0])
    x = rng.standard_normal((1, 2, 3, 3))
    y = layer(x)
    np.testing.assert_allclose(y[0, 0], (x[0, 0] - 1.0) / np.sqrt(0.25 + 1e-5))
    np.testing.assert_allclose(y[0, 1], (x[0, 1] + 1.0) / np.sqrt(4.0 + 1e-5))


def test_parameters_buffers_and_repr(rng):
    layer = BatchNorm2d(8)
    layer(rng.standard_normal((2, 8, 3, 3)))
    assert [p.shape for p in layer.parameters()] == [(8,), (8,)]
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    assert repr(layer) == "BatchNorm2d(8, eps=1e-05, momentum=0.1)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(BatchNorm2d(3), rng.standard_normal((2, 3, 4, 4)), dtype)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(rng, training):
    layer = BatchNorm2d(2).train(training)
    layer.weight.data[...] = rng.uniform(0.5, 2.0, 2)
    layer.bias.data[...] = rng.standard_normal(2)
    report = gradcheck(layer, 2 * rng.standard_normal((2, 2, 3, 3)) + 1)
    assert report.ok, f"\n{report}"


def test_bad_input_names_the_layer(rng):
    layer = BatchNorm2d(3)
    layer(rng.standard_normal((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm2d.*\(2, 4, 4, 4\)"):
        layer(rng.standard_normal((2, 4, 4, 4)))
    with pytest.raises(ValueError, match="BatchNorm2d"):
        layer(rng.standard_normal((2, 3)))


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(BatchNorm2d(2), rng.standard_normal((3, 2, 3, 3)))


def test_backward_adds_into_grad(check_accumulates, rng):
    """Two backward calls give twice the gradients: backward adds (+=) into .grad."""
    check_accumulates(BatchNorm2d(2), rng.standard_normal((3, 2, 3, 3)))
