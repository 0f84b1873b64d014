"""Window geometry shared by convolution and pooling (given: nothing here is yours to write)."""
import numpy as np


def pair(value, name="value"):
    """``3 -> (3, 3)``; ``(3, 2) -> (3, 2)``: kernel sizes, strides and paddings."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def output_size(size, kernel, stride, padding):
    """Output length along one axis: ``(size + 2*padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1
