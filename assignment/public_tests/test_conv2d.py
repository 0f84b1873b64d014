"""Conv2d: cross-correlation over (N, C, H, W) with zero padding, via im2col/col2im."""
import numpy as np
import pytest

from numpynn import Conv2d
from numpynn.gradcheck import gradcheck


def conv_with(weight, bias=None, **kwargs):
    """A Conv2d whose weight (and bias) are set by hand."""
    weight = np.asarray(weight, dtype=np.float64)
    layer = Conv2d(weight.shape[1], weight.shape[0], weight.shape[2:], bias=bias is not None,
                   **kwargs)
    layer.weight.data[...] = weight
    if bias is not None:
        layer.bias.data[...] = bias
    return layer


def test_im2col_follows_its_docstring(rng):
    from numpynn.conv import im2col  # here, so a Conv2d written without im2col still loads
    x = rng.standard_normal((2, 3, 5, 6))
    (kh, kw), (sh, sw) = (2, 3), (2, 1)
    cols = im2col(x, (kh, kw), (sh, sw))
    ho, wo = (5 - kh) // sh + 1, (6 - kw) // sw + 1
    assert cols.shape == (2, 3 * kh * kw, ho * wo), \
        f"im2col gave shape {cols.shape}, expected (N, C*kh*kw, Ho*Wo) = {(2, 3 * kh * kw, ho * wo)}"
    for n, c, i, j, r, s in np.ndindex(2, 3, kh, kw, ho, wo):
        row, column = (c * kh + i) * kw + j, r * wo + s
        want = x[n, c, r * sh + i, s * sw + j]
        if cols[n, row, column] != want:
            found = np.argwhere(x[n] == cols[n, row, column])
            came = (f"x[{n}, {', '.join(map(str, found[0]))}]" if len(found)
                    else "no element of x[n]")
            raise AssertionError(
                f"cols[{n}, {row}, {column}] should be x[{n}, {c}, {r * sh + i}, {s * sw + j}] "
                f"(channel c={c}, kernel offset (i, j)=({i}, {j}), output position "
                f"(r, s)=({r}, {s}); row (c*kh + i)*kw + j, column r*Wo + s), but it is {came}: "
                f"check the order of the axes before the reshape")


def test_col2im_is_the_adjoint_of_im2col(rng):
    from numpynn.conv import col2im, im2col
    # <im2col(x), c> == <x, col2im(c)> for every x and c: what backward needs.
    x = rng.standard_normal((2, 2, 5, 5))
    (kh, kw), (sh, sw) = (3, 3), (2, 2)
    cols = im2col(x, (kh, kw), (sh, sw))
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x.shape, (kh, kw), (sh, sw))
    assert back.shape == x.shape, f"col2im gave shape {back.shape}, expected padded_shape {x.shape}"
    # What col2im must give, one column entry at a time: each adds onto the pixel it came from.
    ho, wo = (5 - kh) // sh + 1, (5 - kw) // sw + 1
    expected = np.zeros(x.shape)
    for n, ch, i, j, r, s in np.ndindex(2, 2, kh, kw, ho, wo):
        expected[n, ch, r * sh + i, s * sw + j] += c[n, (ch * kh + i) * kw + j, r * wo + s]
    if not np.allclose(back, expected, rtol=1e-10, atol=1e-12):
        pixel = tuple(int(k) for k in np.argwhere(~np.isclose(back, expected, rtol=1e-10, atol=1e-12))[0])
        raise AssertionError(
            f"col2im(cols)[{', '.join(map(str, pixel))}] is {back[pixel]:.6g}, expected "
            f"{expected[pixel]:.6g}: the sum of every column entry that im2col took from that pixel "
            f"(overlapping windows add up; stride {(sh, sw)} places window (r, s) at (r*sh, s*sw))")
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-10)


def test_cross_correlation_not_convolution():
    # A kernel with a single 1 in its top-left corner picks the top-left of each window
    # (a true convolution would flip the kernel and pick the bottom-right).
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y = conv_with([[[[1.0, 0.0], [0.0, 0.0]]]])(x)
    np.testing.assert_array_equal(y, [[[[0.0, 1.0], [3.0, 4.0]]]])


def test_forward_by_hand():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    y = conv_with(np.ones((1, 1, 2, 2)), bias=[0.5])(x)
    np.testing.assert_array_equal(y, [[[[8.5, 12.5], [20.5, 24.5]]]])


def test_zero_padding_keeps_the_size():
    # A 3x3 kernel with 1 in the centre and padding 1 is the identity.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    kernel = np.zeros((1, 1, 3, 3))
    kernel[0, 0, 1, 1] = 1.0
    np.testing.assert_array_equal(conv_with(kernel, padding=1)(x), x)


@pytest.mark.parametrize("kernel, stride, padding, out_hw", [
    (3, 1, 0, (5, 6)), (3, 1, 1, (7, 8)), (3, 2, 1, (4, 4)), ((2, 3), (2, 1), (1, 0), (4, 6)),
])
def test_output_shape(rng, kernel, stride, padding, out_hw):
    layer = Conv2d(2, 4, kernel, stride=stride, padding=padding)
    y = layer(rng.standard_normal((3, 2, 7, 8)))
    assert y.shape == (3, 4) + out_hw


def test_parameters_names_and_repr(rng):
    layer = Conv2d(1, 8, 3, padding=1)
    layer(rng.standard_normal((1, 1, 5, 5)))
    assert [p.shape for p in layer.parameters()] == [(8, 1, 3, 3), (8,)]
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert "Conv2d(1, 8, kernel_size=(3, 3)" in repr(layer)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(check_dtype, rng, dtype):
    check_dtype(Conv2d(2, 3, 3, stride=2, padding=1), rng.standard_normal((2, 2, 6, 6)), dtype)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, padding=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2)),
    dict(kernel_size=2, bias=False),
])
def test_gradcheck(rng, kwargs):
    report = gradcheck(Conv2d(2, 3, **kwargs), rng.standard_normal((2, 2, 5, 5)))
    assert report.ok, f"\n{report}"


def test_bad_input_names_the_layer_and_the_shapes(rng):
    layer = Conv2d(3, 4, 3)
    layer(rng.standard_normal((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"Conv2d.*\(1, 2, 5, 5\)"):
        layer(rng.standard_normal((1, 2, 5, 5)))   # 2 channels instead of 3
    with pytest.raises(ValueError, match="Conv2d"):
        layer(rng.standard_normal((3, 5, 5)))      # no batch axis
    with pytest.raises(ValueError, match="Conv2d"):
        layer(rng.standard_normal((1, 3, 2, 2)))   # smaller than the kernel


def test_never_changes_its_inputs(check_inputs_unchanged, rng):
    """The graders call forward and backward twice on the same arrays: a change in place shows."""
    check_inputs_unchanged(Conv2d(2, 3, 3, stride=2, padding=1), rng.standard_normal((2, 2, 5, 5)))


def test_backward_adds_into_grad(check_accumulates, rng):
    """Two backward calls give twice the gradients: backward adds (+=) into .grad."""
    check_accumulates(Conv2d(2, 3, 3, padding=1), rng.standard_normal((2, 2, 4, 4)))
