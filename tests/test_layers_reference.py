"""The solution against an independent loop implementation, and against values worked out by hand.

Part 1 runs every layer of ``numpynn`` and of the loop reference
(tests/submissions/loops) on the same random inputs and states, and requires the
forward output, the input gradient and every parameter gradient to agree to a
normwise relative error of 1e-10 in float64. The cases are data: one dict per
configuration. Part 2 checks both packages against small cases computed on paper.
"""
import math

import numpy as np
import pytest

import numpynn
import reference
from reference import forward_backward, rel_error

TOL = 1e-10          # float64: the two implementations differ only by rounding
TOL32 = 1e-4         # float32: the same comparison in single precision


@pytest.fixture(scope="session")
def loops(tmp_path_factory):
    return reference.loops_package(tmp_path_factory)


@pytest.fixture(params=["solution", "loops"])
def pkg(request, loops):
    """Each hand-derived case runs on both packages."""
    return numpynn if request.param == "solution" else loops


def case(layer, args=(), x=(), *, kwargs=None, mode="train", inputs="normal", scale=1.0,
         note=""):
    """One configuration: ``layer(*args, **kwargs)`` applied to an input of shape ``x``."""
    kwargs = kwargs or {}
    text = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    name = f"{layer}({text}) x{tuple(x)} {mode}" + (f" {note}" if note else "")
    return pytest.param(dict(layer=layer, args=args, kwargs=kwargs, x=x, mode=mode,
                             inputs=inputs, scale=scale), id=name.replace(" ", "-"))


LAYER_CASES = [
    # Linear: odd sizes, batch of 1, no bias
    case("Linear", (5, 3), (4, 5)),
    case("Linear", (1, 1), (1, 1)),
    case("Linear", (7, 2), (3, 7), kwargs=dict(bias=False)),
    case("Linear", (6, 9), (1, 6)),
    # Conv2d: odd sizes, stride > kernel, padding > 0, batch of 1, non-square kernels and inputs
    case("Conv2d", (3, 4, 3), (2, 3, 7, 6)),
    case("Conv2d", (2, 3, (2, 3)), (2, 2, 8, 9), kwargs=dict(stride=(3, 2), padding=(1, 2))),
    case("Conv2d", (1, 2, 4), (1, 1, 11, 9), kwargs=dict(stride=5)),
    case("Conv2d", (2, 2, 1), (3, 2, 4, 5), kwargs=dict(bias=False)),
    case("Conv2d", (3, 2, (3, 1)), (1, 3, 5, 3), kwargs=dict(padding=(0, 2))),
    case("Conv2d", (2, 5, 5), (2, 2, 5, 5), kwargs=dict(padding=2)),
    case("Conv2d", (4, 3, 2), (2, 4, 6, 7), kwargs=dict(stride=(1, 3), padding=(1, 0))),
    case("Conv2d", (1, 1, 3), (1, 1, 1, 1), kwargs=dict(stride=2, padding=1)),
    case("Conv2d", (2, 3, (1, 4)), (3, 2, 5, 4), kwargs=dict(stride=(2, 1), bias=False)),
    # MaxPool2d: tiling, windows that do not tile, overlap, padding, ties
    case("MaxPool2d", (2,), (2, 3, 6, 6)),
    case("MaxPool2d", (2,), (2, 2, 7, 5), note="not-tiling"),
    case("MaxPool2d", (3,), (1, 2, 7, 8), kwargs=dict(stride=2, padding=1)),
    case("MaxPool2d", ((2, 3),), (2, 1, 8, 7), kwargs=dict(stride=(3, 1))),
    case("MaxPool2d", (3,), (1, 2, 5, 6), kwargs=dict(stride=1)),
    case("MaxPool2d", ((3, 2),), (2, 2, 6, 9), kwargs=dict(stride=(2, 4), padding=(1, 1))),
    case("MaxPool2d", (2,), (2, 2, 5, 5), kwargs=dict(stride=1), inputs="ties", note="ties"),
    case("MaxPool2d", (2,), (2, 3, 6, 7), inputs="ties", note="ties"),
    case("MaxPool2d", (2,), (1, 2, 5, 4), kwargs=dict(padding=1), inputs="ties", note="ties"),
    case("MaxPool2d", (3,), (2, 2, 6, 7), kwargs=dict(stride=2, padding=1), inputs="ties",
         note="ties"),
    # AvgPool2d: the same shapes; padding counts as zeros
    case("AvgPool2d", (2,), (2, 3, 6, 6)),
    case("AvgPool2d", (2,), (2, 2, 7, 5), note="not-tiling"),
    case("AvgPool2d", (3,), (1, 2, 7, 8), kwargs=dict(stride=2, padding=1)),
    case("AvgPool2d", ((2, 3),), (2, 1, 8, 7), kwargs=dict(stride=(3, 1))),
    case("AvgPool2d", (3,), (1, 2, 5, 6), kwargs=dict(stride=1)),
    case("AvgPool2d", ((3, 2),), (2, 2, 6, 9), kwargs=dict(stride=(2, 4), padding=(1, 1))),
    # BatchNorm in both modes (random gamma, beta and running statistics)
    case("BatchNorm1d", (3,), (4, 3)),
    case("BatchNorm1d", (3,), (4, 3), mode="eval"),
    case("BatchNorm1d", (5,), (2, 5), kwargs=dict(eps=1e-3, momentum=0.3)),
    case("BatchNorm1d", (1,), (7, 1), scale=100.0),
    case("BatchNorm2d", (3,), (2, 3, 4, 5)),
    case("BatchNorm2d", (3,), (2, 3, 4, 5), mode="eval"),
    case("BatchNorm2d", (2,), (1, 2, 3, 3), note="batch-of-1"),
    case("BatchNorm2d", (4,), (3, 4, 1, 2), kwargs=dict(eps=0.1, momentum=0.5)),
    case("BatchNorm2d", (2,), (1, 2, 3, 5), mode="eval", note="batch-of-1"),
    # elementwise activations, including saturated ones
    case("ReLU", (), (3, 4)),
    case("ReLU", (), (2, 3, 4, 5), inputs="ties", note="exact-zeros"),
    case("LeakyReLU", (), (3, 4)),
    case("LeakyReLU", (0.2,), (2, 3, 4, 5)),
    case("Sigmoid", (), (3, 4)),
    case("Sigmoid", (), (2, 3, 4, 5), scale=50.0, note="saturated"),
    case("Tanh", (), (3, 4)),
    case("Tanh", (), (2, 3, 4, 5), scale=20.0, note="saturated"),
    case("Flatten", (), (2, 3, 4, 5)),
    case("Flatten", (), (1, 7)),
    case("Flatten", (), (3, 2, 1, 1)),
    # Softmax along several axes, with large logits
    case("Softmax", (), (4, 5)),
    case("Softmax", (0,), (4, 5)),
    case("Softmax", (1,), (2, 3, 4)),
    case("Softmax", (2,), (2, 3, 4, 5)),
    case("Softmax", (-2,), (2, 3, 4, 5), scale=30.0, note="large"),
    case("Softmax", (), (1, 1)),
    # Dropout in evaluation mode is the identity; training is compared below
    case("Dropout", (0.5,), (3, 4), mode="eval"),
]


def make_input(spec, seed):
    rng = np.random.default_rng(seed)
    if spec["inputs"] == "ties":     # small integers: many exact ties and zeros
        return rng.integers(-2, 3, spec["x"]).astype(np.float64)
    return rng.standard_normal(spec["x"]) * spec["scale"]


def build_pair(spec, loops, dtype=np.float64, seed=0):
    def make(pkg):
        return getattr(pkg, spec["layer"])(*spec["args"], **spec["kwargs"])
    ours, theirs = reference.twin(make, numpynn, loops)
    reference.randomize(ours, seed)
    theirs.load_state_dict(ours.state_dict())
    ours.to(dtype).train(spec["mode"] == "train")
    theirs.to(dtype).train(spec["mode"] == "train")
    return ours, theirs


def assert_close(ours, theirs, tolerance, what):
    error = rel_error(ours, theirs)
    assert error <= tolerance, f"{what}: relative error {error:.2e} > {tolerance:.0e}"


@pytest.mark.parametrize("spec", LAYER_CASES)
def test_layer_matches_loops_float64(spec, loops):
    ours, theirs = build_pair(spec, loops)
    x = make_input(spec, seed=1)
    out, grad_x, grads = forward_backward(ours, x)
    ref_out, ref_grad_x, ref_grads = forward_backward(theirs, x)
    assert_close(out, ref_out, TOL, "forward output")
    assert_close(grad_x, ref_grad_x, TOL, "input gradient")
    assert grads.keys() == ref_grads.keys()
    for name in grads:
        assert_close(grads[name], ref_grads[name], TOL, f"gradient of {name}")
    for name, value in ours.state_dict().items():   # running statistics, when training
        assert_close(value, theirs.state_dict()[name], TOL, name)


@pytest.mark.parametrize("spec", LAYER_CASES)
def test_layer_matches_loops_float32(spec, loops):
    """The same in float32: every output and gradient stays float32 in both packages."""
    ours, theirs = build_pair(spec, loops, dtype=np.float32)
    x = make_input(spec, seed=2).astype(np.float32)
    results = forward_backward(ours, x), forward_backward(theirs, x)
    for out, grad_x, grads in results:
        assert out.dtype == grad_x.dtype == np.float32
        assert all(g.dtype == np.float32 for g in grads.values())
    (out, grad_x, grads), (ref_out, ref_grad_x, ref_grads) = results
    assert_close(out, ref_out, TOL32, "forward output")
    assert_close(grad_x, ref_grad_x, TOL32, "input gradient")
    for name in grads:
        assert_close(grads[name], ref_grads[name], TOL32, f"gradient of {name}")


BATCHNORM_RUNS = [
    pytest.param("BatchNorm1d", (4, 3), {}, id="BatchNorm1d"),
    pytest.param("BatchNorm1d", (2, 5), dict(momentum=0.3, eps=1e-3), id="BatchNorm1d-momentum"),
    pytest.param("BatchNorm2d", (2, 3, 4, 5), {}, id="BatchNorm2d"),
    pytest.param("BatchNorm2d", (1, 2, 3, 3), dict(momentum=0.5), id="BatchNorm2d-batch-of-1"),
]


@pytest.mark.parametrize("layer, shape, kwargs", BATCHNORM_RUNS)
def test_batchnorm_running_statistics_after_three_steps(layer, shape, kwargs, loops):
    ours, theirs = reference.twin(lambda p: getattr(p, layer)(shape[1], **kwargs), numpynn, loops)
    rng = np.random.default_rng(3)
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        forward_backward(ours, x)
        forward_backward(theirs, x)
        assert_close(ours.running_mean, theirs.running_mean, TOL, f"running_mean, step {step}")
        assert_close(ours.running_var, theirs.running_var, TOL, f"running_var, step {step}")
    assert not np.allclose(ours.running_var, 1.0)     # the statistics did move
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    for got, want in zip(forward_backward(ours, x)[:2], forward_backward(theirs, x)[:2]):
        assert_close(got, want, TOL, "evaluation with the running statistics")


@pytest.mark.parametrize("p, shape", [(0.0, (3, 4)), (0.3, (5, 6)), (0.5, (2, 3, 4, 5)),
                                      (0.9, (64, 8)), (1.0, (3, 4))])
def test_dropout_same_seed_same_mask(p, shape, loops):
    ours, theirs = numpynn.Dropout(p, seed=7), loops.Dropout(p, seed=7)
    x = np.random.default_rng(4).standard_normal(shape)
    g = np.random.default_rng(5).standard_normal(shape)
    for _ in range(2):           # the second draw continues the same stream in both
        out, ref_out = ours(x), theirs(x)
        grad_x, ref_grad_x = ours.backward(g), theirs.backward(g)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(grad_x, ref_grad_x)
        # each element is dropped (0) or kept and scaled by 1/(1-p), in both directions
        kept = out != 0
        if p < 1:
            np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)
        np.testing.assert_array_equal(grad_x[~kept], 0)
        np.testing.assert_allclose(grad_x[kept], g[kept] * out[kept] / x[kept], rtol=1e-14)


LOSS_CASES = [
    pytest.param(4, 3, 1.0, id="N4-C3"),
    pytest.param(1, 5, 1.0, id="N1-C5"),
    pytest.param(6, 10, 1e4, id="logits-1e4"),
    pytest.param(3, 2, 50.0, id="logits-50"),
    pytest.param(8, 1, 1.0, id="one-class"),
]


@pytest.mark.parametrize("n, classes, scale", LOSS_CASES)
def test_cross_entropy_matches_loops(n, classes, scale, loops):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((n, classes)) * scale
    targets = rng.integers(0, classes, n)
    ours, theirs = numpynn.CrossEntropyLoss(), loops.CrossEntropyLoss()
    loss, ref_loss = ours(logits, targets), theirs(logits, targets)
    assert isinstance(loss, float) and math.isfinite(loss)
    assert_close(loss, ref_loss, TOL, "loss")
    grad, ref_grad = ours.backward(), theirs.backward()
    assert np.all(np.isfinite(grad))
    assert_close(grad, ref_grad, TOL, "gradient of the logits")


@pytest.mark.parametrize("shape", [(4, 3), (1, 1), (2, 3, 4, 5)])
def test_mse_matches_loops(shape, loops):
    rng = np.random.default_rng(7)
    prediction, target = rng.standard_normal(shape), rng.standard_normal(shape)
    ours, theirs = numpynn.MSELoss(), loops.MSELoss()
    assert_close(ours(prediction, target), theirs(prediction, target), TOL, "loss")
    assert_close(ours.backward(), theirs.backward(), TOL, "gradient of the prediction")


OPTIMIZER_CASES = [
    pytest.param("SGD", dict(lr=0.1), id="SGD-plain"),
    pytest.param("SGD", dict(lr=0.05, momentum=0.9), id="SGD-momentum"),
    pytest.param("SGD", dict(lr=0.01, momentum=0.5, weight_decay=0.1), id="SGD-momentum-decay"),
    pytest.param("SGD", dict(lr=0.1, weight_decay=0.01), id="SGD-decay"),
    pytest.param("Adam", dict(), id="Adam-default"),
    pytest.param("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
                 id="Adam-decay"),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES)
def test_optimizer_trajectory_matches_loops(name, kwargs, loops):
    """Five steps whose gradients depend on the current parameters: p**3 - p + noise."""
    rng = np.random.default_rng(8)
    start = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    noise = [[rng.standard_normal(p.shape) for p in start] for _ in range(5)]
    trajectories = []
    for pkg in (numpynn, loops):
        params = [pkg.Parameter(p) for p in start]
        opt = getattr(pkg, name)(params, **kwargs)
        path = []
        for step in range(5):
            opt.zero_grad()
            for p, n in zip(params, noise[step]):
                p.grad += p.data ** 3 - p.data + n
            opt.step()
            path.append([p.data.copy() for p in params])
        trajectories.append(path)
    for step, (ours, theirs) in enumerate(zip(*trajectories)):
        for k, (p, q) in enumerate(zip(ours, theirs)):
            assert_close(p, q, TOL, f"parameter {k} after step {step + 1}")
    assert not np.allclose(trajectories[0][-1][0], start[0])   # the parameters did move


def test_loops_submission_holds_only_student_files():
    """The loop folder is a student submission: exactly the files students own."""
    files = {p.name for p in reference.LOOPS.iterdir() if p.name != "__pycache__"}
    assert files == set(reference.student_files())


# ---------------------------------------------------------------------------------------
# Part 2: tiny cases whose values were worked out on paper.

def test_hand_conv_2x2_kernel_on_3x3(pkg):
    # x = 1..9 in a 3x3 grid, w = [[1, 2], [3, 4]], b = 0.5:
    # y[0,0] = 1*1 + 2*2 + 3*4 + 4*5 + 0.5 = 37.5, and so on one step right / down.
    conv = pkg.Conv2d(1, 1, 2)
    conv.weight.data[...] = [[[[1, 2], [3, 4]]]]
    conv.bias.data[...] = 0.5
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(conv(x), [[[[37.5, 47.5], [67.5, 77.5]]]], rtol=1e-15)
    grad_x = conv.backward(np.ones((1, 1, 2, 2)))
    # dL/dw[i,j] = sum of the 2x2 block of x at offset (i, j); dL/db = 4 outputs
    np.testing.assert_allclose(conv.weight.grad, [[[[12, 16], [24, 28]]]], rtol=1e-15)
    np.testing.assert_allclose(conv.bias.grad, [4.0], rtol=1e-15)
    # each input pixel collects the weights that touched it
    np.testing.assert_allclose(grad_x, [[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]], rtol=1e-15)


def test_hand_conv_stride_2_padding_1(pkg):
    # kernel of ones, padding 1, stride 2 on 3x3: windows cover rows {-1,0} and {1,2}
    conv = pkg.Conv2d(1, 1, 2, stride=2, padding=1, bias=False)
    conv.weight.data[...] = 1.0
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(conv(x), [[[[1, 2 + 3], [4 + 7, 5 + 6 + 8 + 9]]]], rtol=1e-15)
    grad_x = conv.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_allclose(grad_x, [[[[1, 2, 2], [3, 4, 4], [3, 4, 4]]]], rtol=1e-15)


def test_hand_maxpool_tie_goes_to_first_in_row_major_order(pkg):
    pool = pkg.MaxPool2d(2)
    x = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [3.0, 2.0, 1.0, 3.0]]]])
    np.testing.assert_array_equal(pool(x), [[[[3.0, 3.0]]]])
    grad_x = pool.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(grad_x, [[[[0, 5, 7, 0], [0, 0, 0, 0]]]])


def test_hand_maxpool_padding_is_minus_infinity(pkg):
    # all inputs negative: zero padding would wrongly win every border window
    pool = pkg.MaxPool2d(2, stride=1, padding=1)
    x = np.array([[[[-1.0, -2.0], [-3.0, -4.0]]]])
    np.testing.assert_array_equal(pool(x), [[[[-1, -1, -2], [-1, -1, -2], [-3, -3, -4]]]])
    grad_x = pool.backward(np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(grad_x, [[[[4, 2], [2, 1]]]])


def test_hand_avgpool_padding_counts_as_zero(pkg):
    pool = pkg.AvgPool2d(2, stride=2, padding=1)
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # each window holds one real pixel and three padding zeros, divided by 4
    np.testing.assert_allclose(pool(x), [[[[0.25, 0.5], [0.75, 1.0]]]], rtol=1e-15)
    np.testing.assert_allclose(pool.backward(np.ones((1, 1, 2, 2))), np.full((1, 1, 2, 2), 0.25),
                               rtol=1e-15)


def test_hand_batchnorm_on_1_2_3(pkg):
    bn = pkg.BatchNorm1d(1, eps=0.0)
    x = np.array([[1.0], [2.0], [3.0]])
    # mean 2, biased variance 2/3: x_hat = (x - 2) * sqrt(3/2)
    r = math.sqrt(1.5)
    np.testing.assert_allclose(bn(x), [[-r], [0.0], [r]], rtol=1e-14, atol=1e-15)
    # running: 0.9 * 0 + 0.1 * 2 and 0.9 * 1 + 0.1 * (unbiased variance 1)
    np.testing.assert_allclose(bn.running_mean, [0.2], rtol=1e-15)
    np.testing.assert_allclose(bn.running_var, [1.0], rtol=1e-15)
    # g = (1, 0, 0): (g - mean g - x_hat * mean(g x_hat)) / sigma = (1/6, -1/3, 1/6) * sqrt(3/2)
    grad_x = bn.backward(np.array([[1.0], [0.0], [0.0]]))
    np.testing.assert_allclose(grad_x, [[r / 6], [-r / 3], [r / 6]], rtol=1e-14)
    np.testing.assert_allclose(bn.weight.grad, [-r], rtol=1e-14)    # sum(g * x_hat)
    np.testing.assert_allclose(bn.bias.grad, [1.0], rtol=1e-15)     # sum(g)


def test_hand_batchnorm_running_statistics_and_eval(pkg):
    bn = pkg.BatchNorm1d(1)
    x = np.array([[0.0], [2.0], [4.0]])      # mean 2, unbiased variance 4
    for _ in range(3):
        bn(x)
    # after 3 steps: (1 - 0.9**3) * 2 and 0.9**3 * 1 + (1 - 0.9**3) * 4
    np.testing.assert_allclose(bn.running_mean, [0.542], rtol=1e-14)
    np.testing.assert_allclose(bn.running_var, [1.813], rtol=1e-14)
    bn.eval()
    out = bn(np.array([[0.542], [1.542]]))
    np.testing.assert_allclose(out, [[0.0], [1 / math.sqrt(1.813 + 1e-5)]], atol=1e-15)
    np.testing.assert_allclose(bn.running_mean, [0.542], rtol=1e-14)   # eval: no update
    grad_x = bn.backward(np.array([[1.0], [2.0]]))
    np.testing.assert_allclose(grad_x, np.array([[1.0], [2.0]]) / math.sqrt(1.813 + 1e-5),
                               rtol=1e-14)


def test_hand_linear(pkg):
    layer = pkg.Linear(2, 3)
    layer.weight.data[...] = [[1, 0], [0, 1], [1, 1]]
    layer.bias.data[...] = [0, 0, 1]
    np.testing.assert_array_equal(layer(np.array([[1.0, 2.0]])), [[1, 2, 4]])
    grad_x = layer.backward(np.ones((1, 3)))
    np.testing.assert_array_equal(grad_x, [[2, 2]])
    np.testing.assert_array_equal(layer.weight.grad, [[1, 2], [1, 2], [1, 2]])
    np.testing.assert_array_equal(layer.bias.grad, [1, 1, 1])


def test_hand_cross_entropy(pkg):
    loss = pkg.CrossEntropyLoss()
    assert loss(np.array([[0.0, 0.0]]), np.array([0])) == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[-0.5, 0.5]], rtol=1e-15)
    # logits +-1e4: log-sum-exp is 1e4 (exp(-2e4) vanishes), so the loss is 1e4 - (-1e4)
    assert loss(np.array([[1e4, -1e4], [0.0, 0.0]]), np.array([1, 1])) == pytest.approx(
        (2e4 + math.log(2)) / 2, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[0.5, -0.5], [0.25, -0.25]], rtol=1e-15)


def test_hand_mse(pkg):
    loss = pkg.MSELoss()
    assert loss(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]])) == pytest.approx(2.5, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[1.0, -2.0]], rtol=1e-15)


def test_hand_softmax(pkg):
    softmax = pkg.Softmax()
    np.testing.assert_allclose(softmax(np.array([[0.0, math.log(3)]])), [[0.25, 0.75]], rtol=1e-15)
    # J = diag(y) - y y^T = [[3/16, -3/16], [-3/16, 3/16]]; J^T (1, 0) = (3/16, -3/16)
    np.testing.assert_allclose(softmax.backward(np.array([[1.0, 0.0]])), [[3 / 16, -3 / 16]],
                               rtol=1e-14)


def test_hand_activations_at_known_points(pkg):
    x = np.array([[-1000.0, -1.0, 0.0, 2.0, 1000.0]])
    relu, leaky, sigmoid, tanh = pkg.ReLU(), pkg.LeakyReLU(0.1), pkg.Sigmoid(), pkg.Tanh()
    np.testing.assert_array_equal(relu(x), [[0, 0, 0, 2, 1000]])
    np.testing.assert_array_equal(relu.backward(np.ones_like(x)), [[0, 0, 0, 1, 1]])
    np.testing.assert_allclose(leaky(x), [[-100, -0.1, 0, 2, 1000]], rtol=1e-15)
    np.testing.assert_allclose(leaky.backward(np.ones_like(x)), [[0.1, 0.1, 0.1, 1, 1]],
                               rtol=1e-15)
    with np.errstate(over="raise", invalid="raise"):    # no overflow at +-1000
        y = sigmoid(x)
    e = math.exp(-1)
    np.testing.assert_allclose(y, [[0, e / (1 + e), 0.5, 1 / (1 + math.exp(-2)), 1]],
                               rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(sigmoid.backward(np.ones_like(x))[0, 2], 0.25, rtol=1e-15)
    np.testing.assert_allclose(tanh(x)[0, 2:], [0, math.tanh(2), 1], rtol=1e-15)
    np.testing.assert_allclose(tanh.backward(np.ones_like(x))[0, 2], 1.0, rtol=1e-15)


def test_hand_sgd_momentum_two_steps(pkg):
    p = pkg.Parameter(np.array([1.0]))
    opt = pkg.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    p.grad[...] = 0.5
    opt.step()      # g = 0.5 + 0.1*1 = 0.6, v = 0.6, p = 1 - 0.06
    np.testing.assert_allclose(p.data, [0.94], rtol=1e-15)
    opt.step()      # g = 0.5 + 0.094 = 0.594, v = 0.54 + 0.594 = 1.134, p = 0.94 - 0.1134
    np.testing.assert_allclose(p.data, [0.8266], rtol=1e-15)


def test_hand_adam_first_step(pkg):
    # first step: m_hat = g and v_hat = g**2, so p moves by lr * g / (|g| + eps)
    p = pkg.Parameter(np.array([1.0, -2.0]))
    opt = pkg.Adam([p], lr=0.1)
    p.grad[...] = [0.5, -4.0]
    opt.step()
    np.testing.assert_allclose(p.data, [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 * 4 / (4 + 1e-8)],
                               rtol=1e-15)
