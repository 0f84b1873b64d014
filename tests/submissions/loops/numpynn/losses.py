"""CrossEntropyLoss (one sample at a time) and MSELoss; ``backward()`` takes no argument."""
import numpy as np

from .module import Module


class CrossEntropyLoss(Module):
    """Mean cross-entropy of raw logits against integer class labels, as in PyTorch.

    Shapes: logits (N, C) floats, targets (N,) integers in [0, C) -> a Python float.

    For sample n with logits z and label t, using the largest logit M so that exp never
    overflows:
        log_softmax(z) = z - M - log(sum(exp(z - M)))
        loss_n = -log_softmax(z)[t],   loss = sum(loss_n) / N
    and, differentiating, dloss_n/dz = softmax(z) - onehot(t), so dL/dz = that / N.
    """

    def forward(self, logits, targets):
        self.check_input(logits, "(N, C)")
        targets = np.asarray(targets)
        if targets.dtype.kind not in "iu":
            raise TypeError(f"{self!r}: targets must be integer class labels, got dtype "
                            f"{targets.dtype}")
        if targets.shape != logits.shape[:1]:
            raise ValueError(f"{self!r}: expected targets of shape ({logits.shape[0]},) to "
                             f"match logits {tuple(logits.shape)}, got {tuple(targets.shape)}")
        if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
            bad = targets[(targets < 0) | (targets >= logits.shape[1])][0]
            raise ValueError(f"{self!r}: label {bad} is out of range for "
                             f"{logits.shape[1]} classes (labels must be in [0, {logits.shape[1]}))")
        log_probs = np.empty(logits.shape, dtype=logits.dtype)
        total = 0.0
        for n, (z, t) in enumerate(zip(logits, targets)):
            shifted = z - z.max()
            log_probs[n] = shifted - np.log(np.exp(shifted).sum())
            total -= float(log_probs[n, t])
        self.save_for_backward(log_probs, targets)
        return total / len(targets)

    def __call__(self, logits, targets):
        return self.forward(logits, targets)

    def backward(self, grad_out=None):
        log_probs, targets = self.saved_tensors
        count = len(targets)
        grad_logits = np.empty(log_probs.shape, dtype=log_probs.dtype)
        for n, t in enumerate(targets):
            grad_logits[n] = np.exp(log_probs[n]) / count
            grad_logits[n, t] -= 1 / count
        return grad_logits


class MSELoss(Module):
    """Mean squared error over all elements, as ``torch.nn.MSELoss()``.

    Shapes: prediction and target of the same shape -> a Python float.
        loss = sum((prediction - target)**2) / size
        dL/dprediction = 2 * (prediction - target) / size
    """

    def forward(self, prediction, target):
        self.check_input(prediction)
        if np.shape(target) != prediction.shape:
            raise ValueError(f"{self!r}: target shape {np.shape(target)} does not match "
                             f"prediction shape {prediction.shape}")
        diff = (prediction - np.asarray(target, dtype=prediction.dtype)).ravel()
        self.save_for_backward(diff, prediction.shape)
        return float(diff @ diff) / diff.size

    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def backward(self, grad_out=None):
        diff, shape = self.saved_tensors
        return (2 * diff / diff.size).reshape(shape)
