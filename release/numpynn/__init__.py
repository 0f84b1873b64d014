"""numpynn: a small neural-network library in pure NumPy, with PyTorch's conventions.

Every layer has ``forward(x)`` and ``backward(grad_out)``; ``backward`` returns the
gradient with respect to the input and ADDS parameter gradients into ``Parameter.grad``.
"""
from .activations import LeakyReLU, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .losses import CrossEntropyLoss, MSELoss
from .module import Module, Parameter, Sequential, manual_seed
from .optim import SGD, Adam
from .pooling import AvgPool2d, MaxPool2d
from .softmax import Softmax

__all__ = [
    "Parameter", "Module", "Sequential", "manual_seed",
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "Dropout", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Flatten", "Softmax",
    "CrossEntropyLoss", "MSELoss", "SGD", "Adam",
]
