"""The assignment's reference network for MNIST."""
from .activations import ReLU
from .batchnorm import BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .module import Sequential, manual_seed
from .pooling import MaxPool2d


def mnist_cnn(seed=0):
    """Two conv blocks and a two-layer classifier: (N, 1, 28, 28) -> logits (N, 10).

    conv 3x3 (1->8) - BN - ReLU - maxpool 2     -> (N, 8, 14, 14)
    conv 3x3 (8->16) - BN - ReLU - maxpool 2    -> (N, 16, 7, 7)
    flatten - linear 784->64 - ReLU - dropout 0.1 - linear 64->10
    ``seed`` fixes the initial weights and the dropout masks. New models are float64;
    call ``.to(np.float32)`` to train in single precision.
    """
    manual_seed(seed)
    return Sequential(
        Conv2d(1, 8, 3, padding=1), BatchNorm2d(8), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1), BatchNorm2d(16), ReLU(), MaxPool2d(2),
        Flatten(), Linear(16 * 7 * 7, 64), ReLU(), Dropout(0.1, seed=seed), Linear(64, 10),
    )
