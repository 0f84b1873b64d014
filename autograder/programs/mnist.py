"""``program = "mnist"``: train ``mnist_cnn`` with the student's layers; test it here.

The grader, not the student's process, holds the parameters and the optimizer (the
reference Adam with assignment.toml's recipe, as ``numpynn.train.fit`` runs it). For
each batch it sends the worker the current parameters and buffers and the batch; the
worker builds ``mnist_cnn`` from the student's layers, computes the loss and every
parameter's gradient with the student's forward and backward (and the student's
CrossEntropyLoss), and sends back the gradients, the loss, the BatchNorm buffers its
forward updated and the mask its Dropout drew. The grader takes the step. At the end the
reference model computes the accuracy on the hidden test digits, which never leave the
grader, from the trained parameters and buffers.

The batch order and shifts come from the grading's seed, so no submission knows its
batches before it is asked. Gradients are checked: after each reply, the grader decides
at random (from the seed, which the worker never sees) whether to recompute that step's
gradients with the reference layers at the same parameters, buffers, batch and dropout
mask. Two rules, by cosine similarity with the true gradient:

- all parameters together, at every checked step: at least MIN_COSINE;
- each layer's parameters, on average over the checked steps: at least MIN_LAYER_COSINE.

Honest bugs keep the direction: a bias gradient averaged over the batch is the right
direction at 1/N the size, and BatchNorm without its mean and variance terms still
points downhill on average. Gradients unrelated to the batch's loss (zeros, noise, a
push toward weights trained elsewhere, in every layer or only in the hard ones) do not.
The measurements behind both thresholds are in benchmarks/README.md ("MNIST gradient
check"), made with benchmarks/mnist_gradient_check.py.
"""
import dataclasses
import importlib
import math
import time
from pathlib import Path

import numpy as np

from .base import BUILDING, CaseError, Program

CHECK_FRACTION = 0.1      # of the steps, verified with the reference (about 50 of 500)
MIN_COSINE = 0.5          # all parameters together, at every checked step
MIN_LAYER_COSINE = 0.25   # each layer's parameters, on average over the checked steps
NOISE = 1e-4              # a reference gradient this small next to the largest one is rounding noise
MAX_LOSS = 1e3            # a batch's loss above this (ln 10 = 2.3 at the start) is not drawn
FIRST_STEP_SECONDS = 10   # the first batch may take this long (imports, caches) before it counts as hung
CHECK_STREAM, BATCH_STREAM = 0x6D6E, 0x6D6F   # keep these draws apart from the cases' inputs
TEST_DIGITS = Path(__file__).resolve().parent.parent / "mnist_test.npz"


class Mnist(Program):
    audited = False     # the mutation audit leaves it out: minutes of training, judged by an accuracy

    def seconds(self, case, limits):
        return limits.mnist_seconds

    def wire(self, case, grading):
        with BUILDING:
            model = _Reference(grading.reference).models.mnist_cnn(seed=0)
        return dict(case.wire, recipe=dataclasses.asdict(grading.assignment.mnist),
                    layout=Layout.of(model).wire())

    def draw(self, case, rng, grading):
        return {}     # the grader's own data, read in converse

    def expect(self, case, inputs, grading):
        return None   # judged by the accuracy, against the tiers

    def converse(self, session, case, inputs, grading):
        return Training(session, grading).run()

    def judge(self, case, got, expected, inputs, grading):
        if got["problem"]:
            return 0.0, got["problem"]
        recipe = grading.assignment.mnist
        fraction = recipe.fraction(got["accuracy"])
        tiers = ", ".join(f"{floor:.0%} -> {share:.0%}" for floor, share in recipe.tiers)
        return fraction, (f"test accuracy {got['accuracy']:.2%} after {recipe.epochs} epochs "
                          f"({got['checked']} steps' gradients checked): "
                          f"{fraction:.0%} of the points (tiers: {tiers})")

    def extras(self, case, got):
        """(leaderboard entries, extra_data) for results.json."""
        extra = {"mnist_loss": got.get("loss", []), "mnist_seconds": round(got.get("seconds", 0), 1)}
        if got.get("accuracy") is None:
            return [], extra
        return [{"name": "MNIST test accuracy", "value": round(got["accuracy"], 4)}], extra

    # -- in the worker ----------------------------------------------------------------
    def run(self, case, package, inputs, channel):
        name = package.__name__
        models = importlib.import_module(f"{name}.models")
        losses = importlib.import_module(f"{name}.losses")
        data = importlib.import_module(f"{name}.data")
        model = models.mnist_cnn(seed=case["recipe"]["seed"]).to(np.float32)
        criterion = losses.CrossEntropyLoss()
        layers = list(model)
        params = dict(model.named_parameters())
        layout = Layout(case["layout"])
        model.load_state_dict(layout.unflatten(inputs["params"], inputs["buffers"]))  # checks the shapes
        buffers = [(model[int(key.split(".")[0])], key.split(".")[1]) for key in layout.buffers]
        while True:
            # Views into the request's vectors: no copies (the grader keeps its own).
            for param, value in zip((params[k] for k in layout.params),
                                    layout.split(inputs["params"], layout.params).values()):
                param.data = value
            for (module, attribute), value in zip(buffers, layout.split(inputs["buffers"], layout.buffers).values()):
                object.__setattr__(module, attribute, value)
            model.train()
            model.zero_grad()
            reply, seconds, h = {}, [], data.to_float(inputs["images"], np.float32)
            for i, layer in enumerate(layers):
                start = time.perf_counter()
                out = layer.forward(h)
                if type(layer).__name__ == "Dropout":
                    reply[f"mask.{i}"] = (np.asarray(out) != 0) | (h == 0)
                seconds.append(time.perf_counter() - start)
                h = out
            reply["loss"] = np.asarray(criterion.forward(h, inputs["labels"]), dtype=np.float64)
            g = criterion.backward()
            for i in reversed(range(len(layers))):
                start = time.perf_counter()
                g = layers[i].backward(g)
                seconds[i] += time.perf_counter() - start
            reply["grads"] = layout.flatten({k: p.grad for k, p in params.items()}, layout.params)
            reply["buffers"] = np.concatenate([np.asarray(getattr(module, attribute), np.float32).ravel()
                                               for module, attribute in buffers])
            reply["seconds"] = np.array(seconds)
            channel.reply(reply)
            header, inputs = channel.receive()
            if header.get("end"):
                return {}


class Layout:
    """The model's parameters and buffers as two flat float32 vectors, in the grader's
    order (names and shapes from the reference model): a few large arrays cross the pipe
    instead of dozens of small ones."""

    def __init__(self, entries):
        self.shapes = {key: tuple(shape) for key, shape, _ in entries}
        self.params = [key for key, _, kind in entries if kind == "param"]
        self.buffers = [key for key, _, kind in entries if kind == "buffer"]

    @classmethod
    def of(cls, model):
        params = {k for k, _ in model.named_parameters()}
        return cls([[k, list(v.shape), "param" if k in params else "buffer"]
                    for k, v in model.state_dict().items()])

    def wire(self):
        return [[k, list(self.shapes[k]), "param" if k in self.params else "buffer"]
                for k in self.params + self.buffers]

    def flatten(self, arrays, keys):
        for key in keys:
            if np.shape(arrays[key]) != self.shapes[key]:
                raise CaseError(f"{key} has shape {np.shape(arrays[key])}; the reference's is "
                                f"{self.shapes[key]}")
        return np.concatenate([np.asarray(arrays[k], dtype=np.float32).ravel() for k in keys])

    def split(self, vector, keys):
        """{key: array} from a flat vector, or None if its size is not the layout's."""
        sizes = [int(np.prod(self.shapes[k])) for k in keys]
        if vector is None or vector.ndim != 1 or vector.size != sum(sizes):
            return None
        parts = np.split(vector, np.cumsum(sizes)[:-1])
        return {k: part.reshape(self.shapes[k]) for k, part in zip(keys, parts)}

    def unflatten(self, params, buffers):
        state = self.split(params, self.params) or {}
        state.update(self.split(buffers, self.buffers) or {})
        return state


class Training:
    """The grader's side of one training run: batches, steps, checks, the test."""

    def __init__(self, session, grading):
        self.session, self.grading = session, grading
        self.recipe = grading.assignment.mnist
        self.ref = _Reference(grading.reference)
        self.limit = session.seconds
        with np.load(Path(self.ref.__file__).parent / "mnist_subset.npz", allow_pickle=False) as train:
            self.images = train["train_images"][:, None]     # uint8 (N, 1, 28, 28), shifted as is
            self.labels = train["train_labels"]
        self.model = self._model()                 # holds the parameters being trained
        self.checker = None                        # the reference model that verifies steps
        self.params = dict(self.model.named_parameters())
        self.layout = Layout.of(self.model)
        self.optimizer = self.ref.train.make_optimizer(self.recipe.optimizer,
                                                       self.model.parameters(), self.recipe.lr)
        self.checks = np.random.default_rng([grading.seed, CHECK_STREAM])
        self.checked, self.cosines = 0, []   # {parameter: cosine} of each checked step
        self.pending = None                  # a step to check, while the worker computes the next

    def _model(self):
        with BUILDING:
            return self.ref.models.mnist_cnn(seed=self.recipe.seed).to(np.float32)

    def run(self):
        recipe = self.recipe
        started = time.monotonic()
        # Batch order and shifts as fit draws them, but from the grading's seed, so that no
        # submission can know its batches (or their gradients) before it is asked.
        rng = np.random.default_rng([self.grading.seed, BATCH_STREAM])
        steps_per_epoch = math.ceil(len(self.images) / recipe.batch_size)
        total, step, epoch_losses = recipe.epochs * steps_per_epoch, 0, []
        try:
            for _ in range(recipe.epochs):
                order, losses = rng.permutation(len(self.images)), []
                for first in range(0, len(self.images), recipe.batch_size):
                    batch = order[first:first + recipe.batch_size]
                    x = self.ref.train.random_shift(self.images[batch], rng, recipe.max_shift)
                    self.optimizer.lr = recipe.lr * 0.5 * (1 + math.cos(math.pi * step / total))
                    losses.append(self.step(step, total, x, self.labels[batch]))
                    step += 1
                # A cross-entropy is >= 0, and far below MAX_LOSS until training has diverged.
                sane = [v for v in losses if 0 <= v <= MAX_LOSS]
                epoch_losses.append(round(sum(sane) / len(sane), 5) if sane else None)
            self.session.send(end=True)
            self.check_pending()
            self.session.receive()
            self.judge_layers()
        except Verdict as verdict:
            return {"problem": str(verdict), "accuracy": None, "loss": epoch_losses,
                    "seconds": time.monotonic() - started, "cosines": self.cosines}
        accuracy = self.test()
        problem = None if accuracy is not None else (
            "the trained parameters contain NaN or inf: training diverged")
        return {"problem": problem, "accuracy": accuracy, "loss": epoch_losses,
                "seconds": time.monotonic() - started, "checked": self.checked,
                "cosines": self.cosines}

    def step(self, step, total, images, y):
        """One batch: the worker's gradients, checked at random, then the grader's step.
        The previous step's check runs while the worker computes this one's gradients."""
        layout = self.layout
        state = self.model.state_dict()
        request = {"params": layout.flatten(state, layout.params),
                   "buffers": layout.flatten(state, layout.buffers),
                   "images": np.ascontiguousarray(images[:, 0]), "labels": y}
        start = time.monotonic()
        self.session.send(request)
        self.check_pending()
        reply = self.session.receive(within=FIRST_STEP_SECONDS if step == 0 else None)
        if step == 0:
            self.pace(time.monotonic() - start, total, reply.get("seconds"))
        x = self.ref.data.to_float(request["images"], np.float32)
        grads, buffers, masks, loss = self.read(reply, x)
        if self.checks.random() < CHECK_FRACTION:     # decided after the reply
            self.pending = (step, state, x, y, masks, grads)
        for key, p in self.params.items():
            p.grad = grads[key]
        self.optimizer.step()
        for key, value in buffers.items():
            module, name = key.rsplit(".", 1)
            object.__setattr__(self.model[int(module)], name, value)
        return loss

    def read(self, reply, x):
        """The reply's gradients, buffers, masks and loss, or a Verdict saying what is wrong."""
        layout = self.layout
        grads = layout.split(_floats(reply.get("grads")), layout.params)
        buffers = layout.split(_floats(reply.get("buffers")), layout.buffers)
        for what, got in (("the gradients", grads), ("the BatchNorm buffers", buffers)):
            if got is None:
                raise Verdict(f"{what} your layers returned do not have the reference's shapes")
            if not all(np.all(np.isfinite(v)) for v in got.values()):
                raise Verdict(f"{what} contain NaN or inf: training diverged")
        masks = {}
        for i, layer in enumerate(self.model):
            if type(layer).__name__ == "Dropout":
                mask = reply.get(f"mask.{i}")
                if mask is None or mask.dtype != np.bool_ or mask.shape[:1] != x.shape[:1]:
                    raise Verdict("the Dropout layer's mask could not be read")
                masks[i] = mask
        loss = reply.get("loss")
        loss = float(loss) if loss is not None and loss.size == 1 and loss.dtype.kind == "f" else math.nan
        return grads, buffers, masks, loss

    def pace(self, seconds, total, layer_seconds):
        """Refuse to train what cannot finish in time, naming the slowest layer."""
        projected = seconds * total * 1.2
        if projected <= 0.8 * self.limit:
            return
        slowest = ""
        layers = list(self.model)
        if (layer_seconds is not None and layer_seconds.shape == (len(layers),)
                and layer_seconds.dtype.kind == "f" and np.all(np.isfinite(layer_seconds))):
            i = int(np.argmax(layer_seconds))
            slowest = f"; {type(layers[i]).__name__} takes {float(layer_seconds[i]):.2f} s of it"
        raise Verdict(f"too slow to train: one batch takes {seconds:.2f} s, so training would "
                      f"take about {projected:.0f} s (limit {self.limit:.0f} s){slowest} - "
                      f"vectorise it (no Python loops over pixels)")

    def check_pending(self):
        if self.pending is not None:
            self.check(*self.pending)
            self.pending = None

    def check(self, step, state, x, y, masks, grads):
        """The reference's gradients at the same point must point the same way as the reply's."""
        self.checked += 1
        if self.checker is None:
            self.checker = self._model()
        model = self.checker
        model.load_state_dict(state)
        model.train()
        model.zero_grad()
        layers, h = list(model), x
        for i, layer in enumerate(layers):
            if i in masks and masks[i].shape != h.shape:    # else it would broadcast, unbounded
                raise Verdict(f"the Dropout layer's mask has shape {masks[i].shape}; its input "
                              f"has shape {h.shape}")
            h = h * masks[i] / np.float32(1 - layer.p) if i in masks else layer.forward(h)
        criterion = self.ref.losses.CrossEntropyLoss()
        criterion.forward(h, y)
        g = criterion.backward()
        for i in reversed(range(len(layers))):
            g = g * masks[i] / np.float32(1 - layers[i].p) if i in masks else layers[i].backward(g)
        reference = dict(model.named_parameters())
        largest = max(float(np.linalg.norm(p.grad)) for p in reference.values())
        # A zero gradient, such as a conv bias that BatchNorm cancels, has no direction.
        live = [k for k, p in reference.items() if np.linalg.norm(p.grad) > NOISE * largest]
        cosines = {"all": _cosine(grads, reference, live)}
        for layer in dict.fromkeys(k.rsplit(".", 1)[0] for k in live):
            cosines[layer] = _cosine(grads, reference, [k for k in live if k.startswith(layer + ".")])
        self.cosines.append(cosines)
        if cosines["all"] < MIN_COSINE:
            raise Verdict(f"the gradients your layers returned at step {step + 1} are not "
                          f"gradients of that batch's loss (cosine similarity "
                          f"{cosines['all']:.2f} with the true gradient; at least {MIN_COSINE} needed)")

    def judge_layers(self):
        """Each layer's gradients must point, on average, the way the true gradient does."""
        layers = dict.fromkeys(k for c in self.cosines for k in c if k != "all")
        for layer in layers:
            values = [c[layer] for c in self.cosines if layer in c]
            mean = sum(values) / len(values)
            if mean < MIN_LAYER_COSINE:
                kind = type(self.model[int(layer)]).__name__
                raise Verdict(f"the gradients of layer {layer} ({kind}) are not gradients of the "
                              f"batches' loss (mean cosine similarity {mean:.2f} with the true "
                              f"gradient over {len(values)} checked steps; at least "
                              f"{MIN_LAYER_COSINE} needed)")

    def test(self):
        """The accuracy of the trained model on the hidden test digits, or None if diverged."""
        state = self.model.state_dict()
        if not all(np.all(np.isfinite(v)) for v in state.values()):
            return None
        with np.load(TEST_DIGITS, allow_pickle=False) as test:
            images = self.ref.data.to_float(test["test_images"], np.float32)
            labels = test["test_labels"]
        return float(self.ref.train.evaluate(self.model, images, labels))


class _Reference:
    """The reference package's modules that training needs, by name."""

    def __init__(self, package):
        self.__file__ = package.__file__
        for name in ("data", "losses", "models", "train"):
            setattr(self, name, importlib.import_module(f"{package.__name__}.{name}"))


def _floats(array):
    """A float32 copy of ``array`` if it is a floating-point array, else None."""
    return array.astype(np.float32) if array is not None and array.dtype.kind == "f" else None


class Verdict(CaseError):
    """Why the training run earns nothing: one line."""


def _cosine(grads, reference, keys):
    """Cosine similarity of the reply's gradients and the reference's, over ``keys``."""
    a = np.concatenate([grads[k].astype(np.float64).ravel() for k in keys])
    b = np.concatenate([reference[k].grad.astype(np.float64).ravel() for k in keys])
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 0.0 if na == 0 else float(a @ b / (na * nb))


PROGRAM = Mnist()
