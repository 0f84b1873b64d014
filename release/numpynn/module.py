"""Parameter, Module and Sequential: the bookkeeping every layer shares.

This file is given: nothing in it is yours to write. It mirrors ``torch.nn.Module``
closely enough that ``state_dict()`` keys match PyTorch's ("0.weight",
"1.running_mean", ...), but gradients are computed by each layer's own
``backward`` instead of by autograd.
"""
from collections import OrderedDict

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Seed the generator that initialises new layers' weights (like ``torch.manual_seed``)."""
    global _rng
    _rng = np.random.default_rng(seed)


def init_rng():
    """The generator that layer constructors draw their initial weights from."""
    return _rng


class Parameter:
    """A trainable array and its gradient.

    ``data`` is the value; ``grad`` has the same shape and dtype and starts at zeros.
    ``Module.backward`` ADDS into ``grad`` (as PyTorch accumulates into ``.grad``), so
    call ``zero_grad()`` before each backward pass.
    """

    def __init__(self, data):
        data = np.array(data)  # a copy, so the caller's array is never changed in place
        self.data = data if data.dtype.kind == "f" else data.astype(np.float64)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self):
        return self.data.shape

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every layer: parameters, buffers, children, modes and the cache.

    Subclasses call ``super().__init__()`` first, then assign ``Parameter``s and child
    ``Module``s as attributes; they are registered in assignment order. Buffers (state that
    is not trained, such as BatchNorm's running statistics) are registered with
    ``register_buffer``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_saved", None)
        self.training = True

    def __setattr__(self, name, value):
        # A buffer stays registered when reassigned (``self.running_mean = ...``).
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """Keep ``array`` as non-trainable state: saved in ``state_dict``, cast by ``to``."""
        object.__setattr__(self, name, array)
        self._buffers[name] = None  # the value lives on the attribute; this keeps the order

    # -- the computation -------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, x):
        return self.forward(x)

    def save_for_backward(self, *arrays):
        """Keep what ``backward`` needs from the last ``forward`` (as in torch.autograd)."""
        object.__setattr__(self, "_saved", arrays)

    @property
    def saved_tensors(self):
        """What the last ``forward`` saved; a RuntimeError if ``forward`` has not run."""
        if self._saved is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        return self._saved

    # -- input checks shared by the layers ------------------------------------------------
    def check_input(self, x, expected="(...)", channels=None, channel_axis=1):
        """Raise a clear error naming this layer unless ``x`` fits the ``expected`` shape.

        ``expected`` is a pattern such as ``"(N, C, H, W)"`` (exactly that rank) or
        ``"(N, ...)"`` (at least the named axes). ``channels``, if given, is the required
        size of ``channel_axis``. ``x`` must be a floating-point ``numpy.ndarray``, of the
        dtype of this layer's parameters if it has any: a float64 layer fed float32 would
        silently compute (twice as slowly) in float64, so it is a TypeError, as in PyTorch.
        """
        names = expected.strip("()").split(", ")
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            got = f"dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
            raise TypeError(f"{self!r}: expected a floating-point numpy.ndarray of shape "
                            f"{expected}, got {got}")
        own = self.dtype
        if own is not None and x.dtype != own:
            raise TypeError(f"{self!r}: input is {x.dtype} but the layer's parameters are {own}; "
                            f"cast the model with model.to(np.{x.dtype.name}) "
                            f"(or the input with x.astype(np.{own.name}))")
        rank = len(names) - 1 if names[-1] == "..." else len(names)
        if x.ndim < rank or (names[-1] != "..." and x.ndim != rank):
            raise ValueError(f"{self!r}: expected input of shape {expected}, "
                             f"got {tuple(x.shape)} ({x.ndim} dimensions instead of {rank})")
        if channels is not None and x.shape[channel_axis] != channels:
            want = list(names)
            want[channel_axis] = str(channels)
            raise ValueError(f"{self!r}: expected input of shape ({', '.join(want)}), "
                             f"got {tuple(x.shape)}")

    def check_grad(self, grad_out, shape):
        """Raise a ValueError unless ``grad_out`` has the shape of the last forward's output."""
        if np.shape(grad_out) != tuple(shape):
            raise ValueError(f"{self!r}: backward expected a gradient of shape {tuple(shape)} "
                             f"(the last forward's output), got {tuple(np.shape(grad_out))}")

    # -- parameters, modes, dtype, state ----------------------------------------------------
    @property
    def dtype(self):
        """The dtype this layer computes in: that of its own parameters (or buffers), or
        None for a layer without any (ReLU, Flatten, ...), which follows its input."""
        for p in self._parameters.values():
            return p.data.dtype
        for name in self._buffers:
            return np.asarray(getattr(self, name)).dtype
        return None

    def children(self):
        return list(self._modules.values())

    def named_parameters(self, prefix=""):
        for name, p in self._parameters.items():
            yield prefix + name, p
        for name, child in self._modules.items():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        """Every Parameter of this module and its children, in registration order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode=True):
        self.training = mode
        for child in self._modules.values():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, dtype):
        """Cast every parameter, gradient and buffer in place; returns ``self``."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = p.grad.astype(dtype)
        for module in self._walk():
            for name in module._buffers:
                object.__setattr__(module, name, getattr(module, name).astype(dtype))
        return self

    def _walk(self):
        yield self
        for child in self._modules.values():
            yield from child._walk()

    def state_dict(self, prefix=""):
        """Parameters then buffers, with PyTorch's names, as copies."""
        state = OrderedDict()
        for name, p in self._parameters.items():
            state[prefix + name] = p.data.copy()
        for name in self._buffers:
            state[prefix + name] = np.array(getattr(self, name), copy=True)
        for name, child in self._modules.items():
            state.update(child.state_dict(prefix + name + "."))
        return state

    def load_state_dict(self, state):
        """Copy arrays from ``state`` (as made by ``state_dict``) into this module."""
        own = self.state_dict()
        # PyTorch's BatchNorm also saves a step counter that numpynn does not keep.
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
        missing = own.keys() - state.keys()
        unexpected = state.keys() - own.keys()
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing keys {sorted(missing)}, "
                           f"unexpected keys {sorted(unexpected)}")
        for key, value in state.items():
            if np.shape(value) != own[key].shape:
                raise ValueError(f"load_state_dict: {key} has shape {np.shape(value)}, "
                                 f"expected {own[key].shape}")
            *path, name = key.split(".")
            module = self
            for step in path:
                module = module._modules[step]
            if name in module._parameters:
                p = module._parameters[name]
                p.data = np.asarray(value, dtype=p.data.dtype).copy()
            else:
                current = getattr(module, name)
                object.__setattr__(module, name, np.asarray(value, dtype=current.dtype).copy())

    def extra_repr(self):
        return ""

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        return head + "\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order; ``backward`` runs them in reverse.

    Children are named "0", "1", ... as in PyTorch, so ``state_dict`` keys match.
    """

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_out):
        for module in reversed(self._modules.values()):
            grad_out = module.backward(grad_out)
        return grad_out
