"""Module bookkeeping: parameters, state_dict, dtype casting, modes, gradients and repr.

The expected names follow PyTorch's (``torch.nn.Sequential`` of the same layers has the
same state_dict keys, apart from BatchNorm's ``num_batches_tracked``).
"""
import numpy as np
import pytest

import numpynn
import reference
from numpynn import (BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Linear, Parameter, ReLU,
                     Sequential, SGD)
from numpynn.models import mnist_cnn

MNIST_CNN_KEYS = [
    "0.weight", "0.bias",
    "1.weight", "1.bias", "1.running_mean", "1.running_var",
    "4.weight", "4.bias",
    "5.weight", "5.bias", "5.running_mean", "5.running_var",
    "9.weight", "9.bias",
    "12.weight", "12.bias",
]

MNIST_CNN_REPR = """\
Sequential(
  (0): Conv2d(1, 8, kernel_size=(3, 3), padding=(1, 1))
  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1)
  (2): ReLU()
  (3): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
  (4): Conv2d(8, 16, kernel_size=(3, 3), padding=(1, 1))
  (5): BatchNorm2d(16, eps=1e-05, momentum=0.1)
  (6): ReLU()
  (7): MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
  (8): Flatten()
  (9): Linear(in_features=784, out_features=64, bias=True)
  (10): ReLU()
  (11): Dropout(p=0.1)
  (12): Linear(in_features=64, out_features=10, bias=True)
)"""


@pytest.fixture(scope="session")
def loops(tmp_path_factory):
    return reference.loops_package(tmp_path_factory)


def images(n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28))


# -- Parameter ------------------------------------------------------------------------------

def test_parameter_copies_its_data_and_starts_with_zero_grad():
    source = np.arange(6.0).reshape(2, 3)
    p = Parameter(source)
    source[0, 0] = 100.0
    assert p.data[0, 0] == 0.0
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float64 and not p.grad.any()


def test_parameter_keeps_float32_and_turns_integers_into_float64():
    assert Parameter(np.ones(2, np.float32)).data.dtype == np.float32
    assert Parameter(np.ones(2, np.float32)).grad.dtype == np.float32
    assert Parameter([1, 2]).data.dtype == np.float64


# -- parameters() and state_dict ----------------------------------------------------------------

def test_parameters_in_registration_order():
    model = mnist_cnn()
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(8, 1, 3, 3), (8,), (8,), (8,), (16, 8, 3, 3), (16,), (16,), (16,),
                      (64, 784), (64,), (10, 64), (10,)]
    assert model.parameters()[0] is model[0].weight
    assert model.parameters()[-1] is model[12].bias


def test_buffers_are_state_but_not_parameters():
    bn = BatchNorm2d(3)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    np.testing.assert_array_equal(bn.state_dict()["running_mean"], np.zeros(3))
    np.testing.assert_array_equal(bn.state_dict()["running_var"], np.ones(3))


def test_state_dict_names_follow_pytorch():
    assert list(mnist_cnn().state_dict()) == MNIST_CNN_KEYS
    assert list(Linear(3, 2, bias=False).state_dict()) == ["weight"]
    nested = Sequential(Sequential(Linear(2, 2), BatchNorm1d(2)), ReLU(), Linear(2, 1))
    assert list(nested.state_dict()) == ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias",
                                         "0.1.running_mean", "0.1.running_var",
                                         "2.weight", "2.bias"]


def test_state_dict_holds_copies():
    model = mnist_cnn()
    state = model.state_dict()
    state["0.weight"][...] = 0.0
    state["1.running_var"][...] = 5.0
    assert model[0].weight.data.any()
    np.testing.assert_array_equal(model[1].running_var, np.ones(8))


def test_load_state_dict_round_trip():
    trained, fresh = mnist_cnn(seed=0), mnist_cnn(seed=1)
    reference.randomize(trained, seed=2)          # weights and running statistics
    fresh.load_state_dict(trained.state_dict())
    for key, value in trained.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value, err_msg=key)
    trained.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(images()), trained(images()))


def test_load_state_dict_copies_and_keeps_the_module_dtype():
    model = mnist_cnn().to(np.float32)
    state = {k: v.astype(np.float64) for k, v in mnist_cnn(seed=3).state_dict().items()}
    model.load_state_dict(state)
    assert all(v.dtype == np.float32 for v in model.state_dict().values())
    state["0.weight"][...] = 7.0
    state["1.running_mean"][...] = 7.0
    assert not np.any(model[0].weight.data == 7.0)
    assert not np.any(model[1].running_mean == 7.0)


def test_load_state_dict_ignores_pytorch_step_counter():
    model = mnist_cnn()
    state = mnist_cnn(seed=4).state_dict()
    state["1.num_batches_tracked"] = np.array(3)
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[0].weight.data, state["0.weight"])


def test_load_state_dict_missing_and_unexpected_keys():
    model = mnist_cnn()
    state = model.state_dict()
    del state["5.running_var"]
    state["13.weight"] = np.zeros(3)
    with pytest.raises(KeyError) as excinfo:
        model.load_state_dict(state)
    text = str(excinfo.value)
    assert "missing keys ['5.running_var']" in text
    assert "unexpected keys ['13.weight']" in text


def test_load_state_dict_wrong_shape():
    model = mnist_cnn()
    before = model.state_dict()
    state = dict(before)
    state["9.weight"] = np.zeros((784, 64))
    with pytest.raises(ValueError) as excinfo:
        model.load_state_dict(state)
    assert "9.weight has shape (784, 64), expected (64, 784)" in str(excinfo.value)


# -- to(dtype) ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_casts_parameters_gradients_and_buffers_in_place(dtype):
    model = mnist_cnn()
    params = model.parameters()
    optimizer = SGD(params, lr=0.1)
    assert model.to(dtype) is model
    assert all(a is b for a, b in zip(params, model.parameters()))   # the same Parameters
    assert all(a is b for a, b in zip(optimizer.params, model.parameters()))
    for name, p in model.named_parameters():
        assert p.data.dtype == p.grad.dtype == dtype, name
    for key, value in model.state_dict().items():
        assert value.dtype == dtype, key
    model.train()
    out = model(images().astype(dtype))
    assert out.dtype == dtype
    assert model.backward(np.ones_like(out)).dtype == dtype


def test_to_float32_and_back_keeps_float32_values():
    model = mnist_cnn()
    original = model[0].weight.data.copy()
    model.to(np.float32).to(np.float64)
    np.testing.assert_array_equal(model[0].weight.data, original.astype(np.float32))


# -- train() and eval() ----------------------------------------------------------------------

def test_train_and_eval_reach_every_nested_module():
    inner = Sequential(Linear(2, 2), Dropout(0.5), BatchNorm1d(2))
    model = Sequential(inner, ReLU(), Sequential(Sequential(Dropout(0.2))))
    assert model.eval() is model
    assert not any(m.training for m in model._walk())
    assert model.train() is model
    assert all(m.training for m in model._walk())
    model.train(False)
    assert not any(m.training for m in model._walk())


def test_eval_mode_changes_what_dropout_and_batchnorm_compute():
    model = mnist_cnn()
    x = images(4)
    model.eval()
    first, second = model(x), model(x)
    np.testing.assert_array_equal(first, second)        # deterministic: no dropout mask
    running = model[1].running_mean.copy()
    model.train()
    assert not np.allclose(model(x), first)             # batch statistics and dropout
    assert not np.allclose(model[1].running_mean, running)


# -- gradients ---------------------------------------------------------------------------------

def test_zero_grad_clears_every_gradient():
    model = mnist_cnn()
    out = model(images())
    model.backward(np.ones_like(out))
    assert all(p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


LAYERS_WITH_PARAMETERS = [
    ("Linear", lambda p: p.Linear(3, 2), (4, 3)),
    ("Conv2d", lambda p: p.Conv2d(2, 3, 3, padding=1), (2, 2, 4, 4)),
    ("BatchNorm1d", lambda p: p.BatchNorm1d(3), (4, 3)),
    ("BatchNorm2d", lambda p: p.BatchNorm2d(2), (2, 2, 3, 3)),
]


@pytest.mark.parametrize("package", ["solution", "loops"])
@pytest.mark.parametrize("name, make, shape", LAYERS_WITH_PARAMETERS,
                         ids=[c[0] for c in LAYERS_WITH_PARAMETERS])
def test_backward_adds_into_grad(name, make, shape, package, loops):
    """Two backward passes without zero_grad leave twice the gradient (``+=``, as PyTorch)."""
    layer = make(numpynn if package == "solution" else loops)
    x = np.random.default_rng(5).standard_normal(shape)
    g = np.random.default_rng(6).standard_normal(layer(x).shape)
    layer.backward(g)
    once = [p.grad.copy() for p in layer.parameters()]
    layer(x)
    layer.backward(g)
    for p, first in zip(layer.parameters(), once):
        assert first.any()
        np.testing.assert_allclose(p.grad, 2 * first, rtol=1e-14)


def test_sequential_backward_is_the_chain_of_its_layers():
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    x = np.random.default_rng(7).standard_normal((5, 3))
    g = np.random.default_rng(8).standard_normal((5, 2))
    model(x)
    grad_x = model.backward(g)
    # the same layers, one at a time
    h1 = model[0](x)
    h2 = model[1](h1)
    model[2](h2)
    expected = model[0].backward(model[1].backward(model[2].backward(g)))
    np.testing.assert_array_equal(grad_x, expected)


# -- Sequential, seeds and repr --------------------------------------------------------------

def test_sequential_indexing_length_and_order():
    layers = [Linear(2, 3), ReLU(), Linear(3, 1)]
    model = Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[1] is layers[1] and model[-1] is layers[2]


def test_mnist_cnn_is_reproducible_from_its_seed():
    a, b, c = mnist_cnn(seed=0), mnist_cnn(seed=0), mnist_cnn(seed=1)
    for key in MNIST_CNN_KEYS:
        np.testing.assert_array_equal(a.state_dict()[key], b.state_dict()[key], err_msg=key)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)
    np.testing.assert_array_equal(a(images()), b(images()))      # dropout masks too


def test_new_modules_are_float64():
    assert all(v.dtype == np.float64 for v in mnist_cnn().state_dict().values())


def test_repr_of_mnist_cnn():
    assert repr(mnist_cnn()) == MNIST_CNN_REPR


def test_repr_of_layers_with_options():
    assert repr(Conv2d(2, 4, (3, 1), stride=2, padding=(1, 0), bias=False)) == (
        "Conv2d(2, 4, kernel_size=(3, 1), stride=(2, 2), padding=(1, 0), bias=False)")
    assert repr(Linear(3, 1, bias=False)) == "Linear(in_features=3, out_features=1, bias=False)"
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"
