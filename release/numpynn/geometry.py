"""Window geometry shared by convolution and pooling (given: nothing here is yours to write)."""
import numpy as np


def pair(value, name="value", minimum=1):
    """``3 -> (3, 3)``; ``(3, 2) -> (3, 2)``: kernel sizes, strides and paddings.

    Each entry must be at least ``minimum`` (1 for sizes and strides, 0 for padding).
    """
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    if not (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, (int, np.integer)) for v in value)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value[0]), int(value[1])


def output_size(size, kernel, stride, padding):
    """Output length along one axis: ``(size + 2*padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1
