"""CrossEntropyLoss and MSELoss: scalar losses with a ``backward()`` that takes no argument."""
import numpy as np

from .module import Module


class CrossEntropyLoss(Module):
    """Mean cross-entropy of raw logits against integer class labels, as in PyTorch.

    Shapes: logits (N, C) floats, targets (N,) integers in [0, C) -> a Python float.

        loss = mean_n( logsumexp(logits[n]) - logits[n, targets[n]] )
        logsumexp(z) = max(z) + log(sum(exp(z - max(z))))      (stable for any logits)

    Gradient (``backward()``, no argument): dL/dlogits = (softmax(logits) - onehot(targets)) / N,
    of the logits' shape and dtype.
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
        top = np.max(logits, axis=1)
        z = logits - top[:, None]
        lse = top + np.log(np.sum(np.exp(z), axis=1))
        picked = logits[np.arange(logits.shape[0]), targets]
        loss = float(np.sum(lse - picked) / logits.shape[0])
        self.save_for_backward(logits, targets)
        return loss

    def __call__(self, logits, targets):
        return self.forward(logits, targets)

    def backward(self, grad_out=None):
        logits, targets = self.saved_tensors
        count = logits.shape[0]
        p = np.exp(logits - np.max(logits, axis=1, keepdims=True))
        p /= np.sum(p, axis=1, keepdims=True)
        onehot = np.zeros_like(p)
        onehot[np.arange(count), targets] = 1
        grad_logits = (p - onehot) / count
        return grad_logits


class MSELoss(Module):
    """Mean squared error over all elements, as ``torch.nn.MSELoss()``.

    Shapes: prediction and target of the same shape -> a Python float.
        loss = mean((prediction - target)**2)
    Gradient (``backward()``): dL/dprediction = 2 * (prediction - target) / prediction.size
    """

    def forward(self, prediction, target):
        self.check_input(prediction)
        if np.shape(target) != prediction.shape:
            raise ValueError(f"{self!r}: target shape {np.shape(target)} does not match "
                             f"prediction shape {prediction.shape}")
        diff = prediction - target
        loss = float(np.square(diff).sum() / diff.size)
        self.save_for_backward(diff)
        return loss

    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def backward(self, grad_out=None):
        (diff,) = self.saved_tensors
        grad_prediction = diff * (2.0 / diff.size)
        return grad_prediction
