"""Bad input gives one clear error; good input is never changed; dtypes and layouts are kept.

Every check runs on the solution and on the loop reference, since the loop package is
also the grader's "correct but different" submission and must behave the same way.
"""
import numpy as np
import pytest

import numpynn
import reference


@pytest.fixture(scope="session")
def loops(tmp_path_factory):
    return reference.loops_package(tmp_path_factory)


@pytest.fixture(params=["solution", "loops"])
def pkg(request, loops):
    return numpynn if request.param == "solution" else loops


def message(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text, f"not one line: {text!r}"
    return text


def assert_mentions(excinfo, *parts):
    text = message(excinfo)
    for part in parts:
        assert part in text, f"{part!r} missing from: {text}"


# -- wrong rank and channel mismatch: ValueError naming the layer, expected and got ------

# (make(pkg), bad input shape, what the message must say is expected)
WRONG_RANK = [
    (lambda p: p.Linear(3, 2), (3,), "(N, in_features)"),
    (lambda p: p.Linear(3, 2), (2, 3, 1), "(N, in_features)"),
    (lambda p: p.Conv2d(3, 4, 3), (3, 5, 5), "(N, C, H, W)"),
    (lambda p: p.Conv2d(1, 4, 3), (1, 1, 1, 5, 5), "(N, C, H, W)"),
    (lambda p: p.MaxPool2d(2), (4, 4), "(N, C, H, W)"),
    (lambda p: p.AvgPool2d(2), (1, 4, 4), "(N, C, H, W)"),
    (lambda p: p.BatchNorm1d(3), (2, 3, 4), "(N, C)"),
    (lambda p: p.BatchNorm2d(3), (2, 3), "(N, C, H, W)"),
    (lambda p: p.Flatten(), (), "(N, ...)"),
]


@pytest.mark.parametrize("make, shape, expected", WRONG_RANK,
                         ids=[f"{i}-{s}" for i, (_, s, _) in enumerate(WRONG_RANK)])
def test_wrong_rank(pkg, make, shape, expected):
    layer = make(pkg)
    with pytest.raises(ValueError) as excinfo:
        layer(np.zeros(shape))
    assert_mentions(excinfo, repr(layer), expected, str(shape), f"{len(shape)} dimensions")


CHANNEL_MISMATCH = [
    (lambda p: p.Linear(3, 2), (4, 5), "(N, 3)"),
    (lambda p: p.Conv2d(3, 4, 3), (2, 4, 5, 5), "(N, 3, H, W)"),
    (lambda p: p.Conv2d(1, 4, 3), (2, 3, 5, 5), "(N, 1, H, W)"),
    (lambda p: p.BatchNorm1d(3), (2, 4), "(N, 3)"),
    (lambda p: p.BatchNorm2d(8), (2, 16, 3, 3), "(N, 8, H, W)"),
]


@pytest.mark.parametrize("make, shape, expected", CHANNEL_MISMATCH,
                         ids=[str(s) for _, s, _ in CHANNEL_MISMATCH])
def test_channel_mismatch(pkg, make, shape, expected):
    layer = make(pkg)
    with pytest.raises(ValueError) as excinfo:
        layer(np.zeros(shape))
    assert_mentions(excinfo, repr(layer), f"expected input of shape {expected}", str(shape))


@pytest.mark.parametrize("bad, got", [(np.zeros((2, 3), dtype=np.int64), "dtype int64"),
                                      ([[0.0, 1.0, 2.0]], "list"),
                                      (np.zeros((2, 3), dtype=bool), "dtype bool")])
def test_input_must_be_a_float_array(pkg, bad, got):
    layer = pkg.Linear(3, 2)
    with pytest.raises(TypeError) as excinfo:
        layer(bad)
    assert_mentions(excinfo, repr(layer), "floating-point numpy.ndarray", got)


@pytest.mark.parametrize("make, shape", [
    (lambda p: p.Conv2d(1, 1, 5), (1, 1, 4, 6)),
    (lambda p: p.Conv2d(1, 1, (2, 7), padding=1), (1, 1, 4, 4)),
    (lambda p: p.MaxPool2d(3), (1, 1, 2, 5)),
    (lambda p: p.AvgPool2d((1, 4)), (1, 1, 3, 3)),
])
def test_input_smaller_than_the_kernel(pkg, make, shape):
    layer = make(pkg)
    with pytest.raises(ValueError) as excinfo:
        layer(np.zeros(shape))
    assert_mentions(excinfo, repr(layer), "smaller than the", str(shape[2:]))


@pytest.mark.parametrize("layer, shape", [("BatchNorm1d", (1, 3)), ("BatchNorm2d", (1, 3, 1, 1))])
def test_batchnorm_training_needs_two_values_per_channel(pkg, layer, shape):
    bn = getattr(pkg, layer)(3)
    with pytest.raises(ValueError) as excinfo:
        bn(np.zeros(shape))
    assert_mentions(excinfo, repr(bn), "more than 1 value per channel", str(shape))
    bn.eval()
    assert bn(np.ones(shape)).shape == shape       # evaluation needs no batch statistics


# -- constructor arguments --------------------------------------------------------------------

@pytest.mark.parametrize("make, error, parts", [
    (lambda p: p.Conv2d(1, 1, 2.5), TypeError, ["kernel_size", "2.5"]),
    (lambda p: p.Conv2d(1, 1, (2, 2, 2)), TypeError, ["kernel_size", "(2, 2, 2)"]),
    (lambda p: p.Conv2d(1, 1, 3, stride=0), ValueError, ["stride", "0"]),
    (lambda p: p.Conv2d(1, 1, 0), ValueError, ["kernel_size", "0"]),
    (lambda p: p.Conv2d(1, 1, 3, padding=-1), ValueError, ["padding", "-1"]),
    (lambda p: p.MaxPool2d(2, stride=(1, 0)), ValueError, ["stride", "(1, 0)"]),
    (lambda p: p.MaxPool2d(2, padding=2), ValueError, ["MaxPool2d", "padding", "half"]),
    (lambda p: p.AvgPool2d(3, padding=(0, 2)), ValueError, ["AvgPool2d", "padding", "half"]),
    (lambda p: p.Dropout(1.5), ValueError, ["Dropout", "1.5", "[0, 1]"]),
    (lambda p: p.Dropout(-0.1), ValueError, ["Dropout", "-0.1"]),
    (lambda p: p.SGD([], lr=0.1), ValueError, ["SGD", "empty"]),
    (lambda p: p.Adam([p.Parameter(np.zeros(2))], lr=-1.0), ValueError, ["Adam", "-1.0"]),
])
def test_bad_constructor_arguments(pkg, make, error, parts):
    with pytest.raises(error) as excinfo:
        make(pkg)
    assert_mentions(excinfo, *parts)


# -- losses -------------------------------------------------------------------------------

def test_cross_entropy_targets_must_be_integers(pkg):
    loss = pkg.CrossEntropyLoss()
    with pytest.raises(TypeError) as excinfo:
        loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
    assert_mentions(excinfo, "CrossEntropyLoss", "integer class labels", "float64")


@pytest.mark.parametrize("targets, bad", [([0, 3], "3"), ([-1, 0], "-1"), ([7, 1], "7")])
def test_cross_entropy_label_out_of_range(pkg, targets, bad):
    loss = pkg.CrossEntropyLoss()
    with pytest.raises(ValueError) as excinfo:
        loss(np.zeros((2, 3)), np.array(targets))
    assert_mentions(excinfo, "CrossEntropyLoss", f"label {bad} is out of range", "3 classes",
                    "[0, 3)")


@pytest.mark.parametrize("targets", [np.array([0, 1, 2]), np.array([[0], [1]])])
def test_cross_entropy_targets_shape(pkg, targets):
    loss = pkg.CrossEntropyLoss()
    with pytest.raises(ValueError) as excinfo:
        loss(np.zeros((2, 3)), targets)
    assert_mentions(excinfo, "CrossEntropyLoss", "expected targets of shape (2,)", "(2, 3)",
                    str(targets.shape))


def test_cross_entropy_logits_rank(pkg):
    loss = pkg.CrossEntropyLoss()
    with pytest.raises(ValueError) as excinfo:
        loss(np.zeros(3), np.array([0]))
    assert_mentions(excinfo, "CrossEntropyLoss", "(N, C)", "(3,)")


def test_mse_shape_mismatch(pkg):
    loss = pkg.MSELoss()
    with pytest.raises(ValueError) as excinfo:
        loss(np.zeros((2, 3)), np.zeros((3, 2)))
    assert_mentions(excinfo, "MSELoss", "(3, 2)", "(2, 3)")


# -- backward before forward, and a gradient of the wrong shape ---------------------------

# (name, make(pkg), input shape) for every layer
LAYERS = [
    ("Linear", lambda p: p.Linear(3, 2), (4, 3)),
    ("Conv2d", lambda p: p.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
    ("MaxPool2d", lambda p: p.MaxPool2d(2), (2, 3, 4, 5)),
    ("AvgPool2d", lambda p: p.AvgPool2d(3, 1, 1), (2, 3, 4, 5)),
    ("BatchNorm1d", lambda p: p.BatchNorm1d(3), (4, 3)),
    ("BatchNorm2d", lambda p: p.BatchNorm2d(3), (2, 3, 2, 2)),
    ("BatchNorm2d eval", lambda p: p.BatchNorm2d(3).eval(), (2, 3, 2, 2)),
    ("Dropout", lambda p: p.Dropout(0.5, seed=0), (4, 6)),
    ("Dropout eval", lambda p: p.Dropout(0.5, seed=0).eval(), (4, 6)),
    ("ReLU", lambda p: p.ReLU(), (3, 4)),
    ("LeakyReLU", lambda p: p.LeakyReLU(), (3, 4)),
    ("Sigmoid", lambda p: p.Sigmoid(), (3, 4)),
    ("Tanh", lambda p: p.Tanh(), (3, 4)),
    ("Flatten", lambda p: p.Flatten(), (2, 3, 4)),
    ("Softmax", lambda p: p.Softmax(0), (3, 4)),
    ("Sequential", lambda p: p.Sequential(p.Linear(3, 4), p.ReLU()), (2, 3)),
]
LAYER_IDS = [name for name, _, _ in LAYERS]


@pytest.mark.parametrize("name, make, shape", LAYERS, ids=LAYER_IDS)
def test_backward_before_forward(pkg, name, make, shape):
    layer = make(pkg)
    with pytest.raises(RuntimeError) as excinfo:
        layer.backward(np.ones(shape))
    assert_mentions(excinfo, "backward called before forward")


@pytest.mark.parametrize("loss", ["CrossEntropyLoss", "MSELoss"])
def test_loss_backward_before_forward(pkg, loss):
    with pytest.raises(RuntimeError) as excinfo:
        getattr(pkg, loss)().backward()
    assert_mentions(excinfo, loss, "backward called before forward")


def wrong_shapes(shape):
    """Gradients that do not fit ``shape``: transposed, one row short, and broadcastable."""
    return [tuple(reversed(shape)), (shape[0] + 1,) + tuple(shape[1:]), (1,) + tuple(shape[1:])]


@pytest.mark.parametrize("name, make, shape", [c for c in LAYERS if c[0] != "Sequential"],
                         ids=[i for i in LAYER_IDS if i != "Sequential"])
def test_gradient_of_the_wrong_shape(pkg, name, make, shape):
    layer = make(pkg)
    out = layer(np.random.default_rng(0).standard_normal(shape))
    for bad in wrong_shapes(out.shape):
        if bad == out.shape:
            continue
        with pytest.raises(ValueError) as excinfo:
            layer.backward(np.ones(bad))
        assert_mentions(excinfo, repr(layer), f"expected a gradient of shape {out.shape}",
                        f"got {bad}")


# -- inputs are never changed -------------------------------------------------------------

@pytest.mark.parametrize("name, make, shape", LAYERS, ids=LAYER_IDS)
def test_forward_and_backward_do_not_mutate_their_arguments(pkg, name, make, shape):
    layer = make(pkg)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    x_before = x.copy()
    out = layer(x)
    g = rng.standard_normal(out.shape)
    g_before = g.copy()
    layer.backward(g)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(g, g_before)


def test_losses_do_not_mutate_their_arguments(pkg):
    rng = np.random.default_rng(2)
    logits, targets = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    saved = logits.copy(), targets.copy()
    ce = pkg.CrossEntropyLoss()
    ce(logits, targets)
    ce.backward()
    np.testing.assert_array_equal(logits, saved[0])
    np.testing.assert_array_equal(targets, saved[1])
    prediction, target = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    saved = prediction.copy(), target.copy()
    mse = pkg.MSELoss()
    mse(prediction, target)
    mse.backward()
    np.testing.assert_array_equal(prediction, saved[0])
    np.testing.assert_array_equal(target, saved[1])


# -- dtypes and memory layout -------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, make, shape", LAYERS, ids=LAYER_IDS)
def test_layer_keeps_the_dtype(pkg, name, make, shape, dtype):
    layer = make(pkg).to(dtype)
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    out = layer(x)
    grad_x = layer.backward(np.ones_like(out))
    assert out.dtype == dtype and grad_x.dtype == dtype
    for pname, p in layer.named_parameters():
        assert p.data.dtype == p.grad.dtype == dtype, pname
    for key, value in layer.state_dict().items():
        assert value.dtype == dtype, key


@pytest.mark.parametrize("made, fed", [(np.float64, np.float32), (np.float32, np.float64)])
@pytest.mark.parametrize("name, make, shape", LAYERS, ids=LAYER_IDS)
def test_another_dtype_is_a_type_error_or_kept_never_promoted(pkg, name, make, shape, made, fed):
    """As in PyTorch: a layer with parameters (or buffers) fed another floating dtype raises
    a one-line TypeError naming the layer, both dtypes and the fix; a layer without any
    follows its input. Nothing is ever silently promoted."""
    layer = make(pkg).to(made)
    x = np.random.default_rng(3).standard_normal(shape).astype(fed)
    if layer.state_dict():
        with pytest.raises(TypeError) as excinfo:
            layer(x)
        named = "Linear(" if name == "Sequential" else repr(layer)  # the child that checks
        assert_mentions(excinfo, named, np.dtype(fed).name, np.dtype(made).name,
                        f"model.to(np.{np.dtype(fed).name})")
    else:
        out = layer(x)
        assert out.dtype == fed and layer.backward(np.ones_like(out)).dtype == fed


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_and_optimizers_keep_the_dtype(pkg, dtype):
    rng = np.random.default_rng(4)
    ce = pkg.CrossEntropyLoss()
    assert isinstance(ce(rng.standard_normal((3, 4)).astype(dtype), np.array([0, 1, 3])), float)
    assert ce.backward().dtype == dtype
    mse = pkg.MSELoss()
    assert isinstance(mse(np.ones((2, 2), dtype), np.zeros((2, 2), dtype)), float)
    assert mse.backward().dtype == dtype
    for opt in ("SGD", "Adam"):
        layer = pkg.Linear(3, 2).to(dtype)
        optimizer = getattr(pkg, opt)(layer.parameters(), lr=0.1, weight_decay=0.01)
        for _ in range(2):
            layer.zero_grad()
            layer.backward(np.ones_like(layer(np.ones((4, 3), dtype))))
            optimizer.step()
        assert all(p.data.dtype == p.grad.dtype == dtype for p in layer.parameters()), opt


@pytest.mark.parametrize("kwargs, shape", [
    (dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 5, 5)),
    (dict(in_channels=1, out_channels=4, kernel_size=(2, 3), stride=2, padding=1), (1, 1, 6, 7)),
    (dict(in_channels=3, out_channels=1, kernel_size=1, bias=False), (2, 3, 4, 4)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_output_is_c_contiguous(pkg, kwargs, shape, dtype):
    conv = pkg.Conv2d(**kwargs).to(dtype)
    out = conv(np.random.default_rng(5).standard_normal(shape).astype(dtype))
    assert out.flags["C_CONTIGUOUS"]
    assert out.dtype == dtype
