"""BatchNorm1d over (N, C): batch statistics while training, running statistics in eval.

PyTorch's momentum: running = (1 - momentum) * running + momentum * batch_stat, with the
UNBIASED batch variance for running_var (CS231n uses the opposite momentum convention).
"""
import numpy as np
import pytest

from numpynn import BatchNorm1d
from numpynn.gradcheck import gradcheck


def test_training_output_is_normalised(rng):
    x = 3 + 5 * rng.standard_normal((16, 4))
    y = BatchNorm1d(4)(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-4)   # eps = 1e-5 shrinks it a little


def test_gamma_and_beta_scale_and_shift(rng):
    layer = BatchNorm1d(3)
    layer.weight.data[...] = [1.0, 2.0, 3.0]
    layer.bias.data[...] = [0.0, -1.0, 5.0]
    y = layer(rng.standard_normal((10, 3)))
    np.testing.assert_allclose(y.mean(axis=0), [0.0, -1.0, 5.0], atol=1e-10)
    np.testing.assert_allclose(y.std(axis=0), [1.0, 2.0, 3.0], rtol=1e-4)


def test_running_statistics_follow_pytorch(rng):
    layer = BatchNorm1d(4, momentum=0.1)
    x = rng.standard_normal((8, 4))
    layer(x)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-10)


def test_eval_uses_the_running_statistics(rng):
    layer = BatchNorm1d(2).eval()
    layer.running_mean = np.array([1.0, -2.0])
    layer.running_var = np.array([4.0, 9.0])
    y = layer(np.array([[3.0, 4.0]]))        # eval works on a single example
    np.testing.assert_allclose(y, [[2 / np.sqrt(4 + 1e-5), 6 / np.sqrt(9 + 1e-5)]])
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0])  # no update in eval


def test_parameters_buffers_and_names(rng):
    layer = BatchNorm1d(5)
    layer(rng.standard_normal((4, 5)))
    assert [p.shape for p in layer.parameters()] == [(5,), (5,)]
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(BatchNorm1d(3), rng.standard_normal((6, 3)), dtype)


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(rng, training):
    layer = BatchNorm1d(3).train(training)
    layer.weight.data[...] = rng.uniform(0.5, 2.0, 3)
    layer.bias.data[...] = rng.standard_normal(3)
    report = gradcheck(layer, 2 * rng.standard_normal((6, 3)) + 1)
    assert report.ok, f"\n{report}"


def test_bad_input_names_the_layer(rng):
    layer = BatchNorm1d(4)
    layer(rng.standard_normal((3, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(3, 5\)"):
        layer(rng.standard_normal((3, 5)))
    with pytest.raises(ValueError, match="BatchNorm1d"):
        layer(rng.standard_normal((3, 4, 2, 2)))


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(BatchNorm1d(3), rng.standard_normal((6, 3)))


def test_backward_adds_into_grad(check_accumulates, rng):
    """Two backward calls give twice the gradients: backward adds (+=) into .grad."""
    check_accumulates(BatchNorm1d(3), rng.standard_normal((6, 3)))
