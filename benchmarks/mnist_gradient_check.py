"""How far honest-but-buggy and forged gradients stray from the true ones, in MNIST training.

The MNIST part checks a random 5% of the steps: each parameter's gradient must have a
cosine similarity of at least programs.mnist.MIN_COSINE with the reference's at the same
point. This script checks EVERY step (and never stops a run) for a set of submissions,
and prints, per submission, the lowest cosine seen for any parameter, the parameter it
was seen on, and the test accuracy the training reached. The rule is sound when every
honest row stays above the threshold and every forged row falls below it.

    python benchmarks/mnist_gradient_check.py [--only NAME ...]

Honest rows: the solution, the loop implementation, typical bugs (BatchNorm backward
without its mean and variance terms, bias gradients averaged over the batch,
log(p + 1e-5), max-pool ties sent to every maximum) and every bug of
tests/corpus/bugs.toml in a file that training uses. Forged rows: the forgeries of
tests/corpus/forgeries.toml (zeros, noise, a push toward weights trained elsewhere in
every layer or only in the convolutions and BatchNorm).
"""
import argparse
import base64
import dataclasses
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder import REPO, grading                              # noqa: E402
from autograder.assignment import load, tomllib                   # noqa: E402
from autograder.programs import mnist                             # noqa: E402

TRAINING_FILES = {"linear.py", "conv.py", "pooling.py", "batchnorm.py", "dropout.py",
                  "activations.py", "flatten.py", "losses.py"}

TYPICAL = [
    ("BatchNorm backward without its mean and variance terms", "batchnorm.py",
     "grad_x = x_hat_rows * np.repeat(-scale * sum_g_x_hat / m, per_sample)\n"
     "            grad_x -= np.repeat(scale * sum_g / m, per_sample)\n"
     "            grad_x += g_rows * np.repeat(scale, per_sample)",
     "grad_x = g_rows * np.repeat(scale, per_sample)"),
    ("bias gradient as a batch mean (Linear)", "linear.py",
     "self.bias.grad += grad_out.sum(axis=0)", "self.bias.grad += grad_out.mean(axis=0)"),
    ("bias gradient as a batch mean (Conv2d)", "conv.py",
     'self.bias.grad += np.einsum("nop->o", g)', 'self.bias.grad += np.einsum("nop->o", g) / len(g)'),
    ("log(p + 1e-5) in the cross-entropy", "losses.py",
     "log_sum_exp = np.log(np.exp(shifted).sum(axis=1))\n"
     "        loss = float(np.mean(log_sum_exp - shifted[np.arange(len(targets)), targets]))",
     "p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)\n"
     "        loss = float(np.mean(-np.log(p[np.arange(len(targets)), targets] + 1e-5)))"),
]

TIES_TO_EVERY_MAXIMUM = '''
def _backward_to_every_maximum(self, grad_out):
    x, _ = self.saved_tensors
    (kh, kw), (n, c, h, w) = self.kernel_size, x.shape
    ho, wo = grad_out.shape[2:]
    windows = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    winners = windows == windows.max(axis=(3, 5), keepdims=True)
    grad_x = np.zeros_like(x)
    grad_x[:, :, :ho * kh, :wo * kw] = (winners * grad_out[:, :, :, None, :, None]).reshape(n, c, ho * kh, wo * kw)
    return grad_x


MaxPool2d.backward = _backward_to_every_maximum
'''


def submission(tmp, name, edit=None, append=""):
    folder = Path(tmp) / name.replace(" ", "_").replace("/", "_")
    shutil.copytree(REPO / "solution" / "numpynn", folder / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        file, old, new = edit
        path = folder / "numpynn" / file
        text = path.read_text()
        assert old in text, f"{name}: the edit no longer matches {file}"
        path.write_text(text.replace(old, new, 1))
    if append:
        file, code = append
        path = folder / "numpynn" / file
        path.write_text(path.read_text() + "\n" + code)
    return folder


def trained_elsewhere(assignment):
    """Weights trained by the solution with the grading's recipe: what a forger embeds."""
    import importlib

    grading.context.reference_package()     # numpynn is the solution from here on
    models, train, data = (importlib.import_module(f"numpynn.{m}") for m in ("models", "train", "data"))
    digits = np.load(REPO / "solution" / "numpynn" / "mnist_subset.npz")
    recipe = assignment.mnist
    model = models.mnist_cnn(seed=recipe.seed + 1).to(np.float32)
    train.fit(model, data.to_float(digits["train_images"], np.float32), digits["train_labels"],
              epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr, seed=recipe.seed + 1,
              progress=False)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v for k, v in model.state_dict().items() if "running" not in k})
    return base64.b64encode(buffer.getvalue()).decode()


def rows(tmp, assignment):
    yield "honest", "the solution", submission(tmp, "solution")
    yield "honest", "the loop implementation", REPO / "tests" / "submissions" / "loops"
    for name, *edit in TYPICAL:
        yield "honest", name, submission(tmp, name, edit)
    yield "honest", "max-pool ties sent to every maximum", submission(
        tmp, "ties", append=("pooling.py", TIES_TO_EVERY_MAXIMUM))
    corpus = tomllib.loads((REPO / "tests" / "corpus" / "bugs.toml").read_text())["submission"]
    for bug in corpus:
        if bug["file"] in TRAINING_FILES and "replace" in bug:
            yield "honest", "corpus: " + bug["name"], submission(tmp, bug["name"], (bug["file"], *bug["replace"]))
    target = trained_elsewhere(assignment)
    forgeries = tomllib.loads((REPO / "tests" / "corpus" / "forgeries.toml").read_text())
    for forgery in forgeries["submission"]:
        code = f"\nTARGET = {target!r}\n" + forgeries["prelude"] + forgery["code"]
        yield "forged", forgery["name"], submission(tmp, forgery["name"], append=("linear.py", code))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="substrings of the rows to run")
    args = parser.parse_args()
    full = load()
    assignment = dataclasses.replace(full, parts=tuple(p for p in full.parts if p.id == "mnist"))
    rules = mnist.MIN_COSINE, mnist.MIN_LAYER_COSINE
    # Check every step, and stop no run: the rows show what the rules would see.
    mnist.CHECK_FRACTION, mnist.MIN_COSINE, mnist.MIN_LAYER_COSINE = 1.0, -2.0, -2.0
    print(f"the rules: all parameters >= {rules[0]} at every checked step, each layer's "
          f"mean >= {rules[1]}\n")
    print("cosine with the true gradient over every step: of all parameters together (min, mean),")
    print("and of the layer whose mean is lowest (its mean and min)")
    print(f"{'kind':<7} {'all min':>7} {'all mean':>8}  {'layer':>5} {'mean':>6} {'min':>6} "
          f"{'accuracy':>8} {'s':>5}  submission")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, name, folder in rows(tmp, assignment):
            if args.only and not any(o in name for o in args.only):
                continue
            started = time.monotonic()
            context = grading.Grading(assignment, seed=0)
            got = grading.collect(folder, context)
            reply = got.run.replies[got.cases[0].id]
            if reply.error:
                print(f"{kind:<7} {'-':>7} {'-':>8}  {'-':>5} {'-':>6} {'-':>6} {'-':>8} "
                      f"{time.monotonic() - started:5.0f}  {name}: {reply.error[:80]}")
                continue
            steps = reply.got["cosines"]
            keys = list(dict.fromkeys(k for c in steps for k in c))
            mean = {k: float(np.mean([c[k] for c in steps if k in c])) for k in keys}
            low = {k: float(np.min([c[k] for c in steps if k in c])) for k in keys}
            layer = min((k for k in keys if k != "all"), key=mean.get, default="-")
            accuracy = reply.got["accuracy"]
            accuracy = "-" if accuracy is None else f"{accuracy:.2%}"
            problem = f" ({reply.got['problem'][:60]})" if reply.got["problem"] else ""
            print(f"{kind:<7} {low['all']:>7.2f} {mean['all']:>8.2f}  {layer:>5} {mean[layer]:>6.2f} "
                  f"{low[layer]:>6.2f} {accuracy:>8} {time.monotonic() - started:5.0f}  {name}{problem}",
                  flush=True)


if __name__ == "__main__":
    main()
