"""Train ``mnist_cnn`` on MNIST: ``fit``, ``evaluate`` and ``python -m numpynn.train``.

    python -m numpynn.train                      # the long recipe, embedded digits
    python -m numpynn.train --recipe graded      # exactly the graded run's recipe
    python -m numpynn.train --data-dir DIR       # the full 60k/10k MNIST from IDX files
    python -m numpynn.train --epochs 2 --optimizer sgd --lr 0.05 --out runs/sgd

On the embedded digits it trains on the first 7,000 of the 8,000 and reports the
accuracy on the last 1,000, a validation split (``--validation N`` holds out N instead;
0 trains on all 8,000, as the grader does, and reports no held-out accuracy). The
graded run's own 2,000 test digits are only on the grader. With ``--data-dir`` or
``--download`` it trains on the official 60,000 and reports the official 10,000 test.

The run is reproducible from ``--seed``: initial weights, batch order, shifts and
dropout masks all come from it. Weights are saved as a ``state_dict`` .npz and the
loss/accuracy history as JSON in ``--out``.

BLAS threads: the network's matrices are small, so NumPy's BLAS gains nothing from
several threads and loses a lot on a busy machine (a student measured 89 s for 4 epochs
with OpenBLAS's default threads on a shared 2-core machine, 11.3 s with one). Training
runs with ``--threads`` BLAS threads (default 1), set through threadpoolctl.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .data import VALIDATION, load_mnist, to_float
from .losses import CrossEntropyLoss
from .models import mnist_cnn
from .optim import SGD, Adam

#: The graded run's recipe (assignment.toml's [mnist]; fit's default 2-pixel shifts).
GRADED = {"epochs": 4, "batch_size": 64, "optimizer": "adam", "lr": 2e-3, "max_shift": 2,
          "seed": 0}
#: The default recipe, for a better model: 98.60% on the 1,000 validation digits when
#: trained on the other 7,000 (seed 0); trained on all 8,000, 98.55-98.9% on the graded
#: run's 2,000 test digits over seeds 0-4, where 15 epochs at lr 2e-3 with 2-pixel shifts
#: reached 98.25% and 3-pixel shifts cost accuracy (97.9%).
LONG = {**GRADED, "epochs": 25, "lr": 3e-3, "max_shift": 1}
RECIPES = {"long": LONG, "graded": GRADED}


def limit_blas_threads(threads=1):
    """Let NumPy's BLAS use at most ``threads`` threads, for the rest of the process.

    Returns the thread count now in effect, or None (and says why on stderr) when
    threadpoolctl is not installed: ``pip install threadpoolctl``.
    """
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        print("numpynn: threadpoolctl is not installed, so NumPy's BLAS keeps its default "
              "threads (slow on a busy machine): pip install threadpoolctl", file=sys.stderr)
        return None
    threadpool_limits(limits=threads, user_api="blas")
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=threads)


def predict(model, images, batch_size=500):
    """Logits (N, 10) for float images (N, 1, 28, 28), in evaluation mode."""
    was_training = model.training
    model.eval()
    logits = np.concatenate([model(images[i:i + batch_size])
                             for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return logits


def evaluate(model, images, labels, batch_size=500):
    """Fraction of ``images`` whose predicted class equals ``labels``."""
    return float(np.mean(predict(model, images, batch_size).argmax(axis=1) == labels))


def random_shift(images, rng, max_shift):
    """Shift each image by up to ``max_shift`` pixels in each direction, filling with the
    background value (a cheap augmentation that MNIST digits tolerate well)."""
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (max_shift,) * 2, (max_shift,) * 2),
                    mode="constant", constant_values=images.min())
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    out = np.empty_like(images)
    for i in range(n):
        out[i] = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
    return out


def make_optimizer(name, params, lr):
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
    raise ValueError(f"unknown optimizer {name!r}: choose 'adam' or 'sgd'")


def fit(model, images, labels, *, epochs=10, batch_size=64, optimizer="adam", lr=2e-3,
        max_shift=2, seed=0, test=None, progress=True):
    """Train ``model`` in place with cross-entropy and a cosine learning-rate decay.

    images: float (N, 1, 28, 28), labels: int (N,); ``test`` is an optional
    (images, labels) pair evaluated after every epoch.
    Returns the history: per-step loss, and per-epoch mean loss, train accuracy,
    test accuracy and seconds.
    """
    rng = np.random.default_rng(seed)
    criterion = CrossEntropyLoss()
    opt = make_optimizer(optimizer, model.parameters(), lr)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    total_steps, step = epochs * steps_per_epoch, 0
    history = {"step_loss": [], "loss": [], "train_accuracy": [], "test_accuracy": [],
               "seconds": []}
    bar = None
    if progress:
        from tqdm.auto import tqdm  # only the interactive path needs it
        bar = tqdm(total=total_steps, unit="batch", desc="training")
    model.train()
    for epoch in range(epochs):
        start, seen, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
        done_in_epoch = 0
        order = rng.permutation(len(images))
        for first in range(0, len(images), batch_size):
            batch = order[first:first + batch_size]
            x, y = random_shift(images[batch], rng, max_shift), labels[batch]
            opt.lr = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            opt.zero_grad()
            logits = model(x)
            loss = criterion(logits, y)
            model.backward(criterion.backward())
            opt.step()
            step += 1
            seen += len(batch)
            correct += int(np.sum(logits.argmax(axis=1) == y))
            loss_sum += loss * len(batch)
            history["step_loss"].append(loss)
            done_in_epoch += 1
            if bar is not None:
                # Seconds per epoch, projected from this epoch's batches so far: a slow
                # epoch shows at once (see the handout for what to do about it).
                per_epoch = (time.perf_counter() - start) * steps_per_epoch / done_in_epoch
                bar.update(1)
                bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{loss_sum / seen:.3f}",
                                acc=f"{correct / seen:.3f}", s_per_epoch=f"{per_epoch:.1f}")
        history["loss"].append(loss_sum / seen)
        history["train_accuracy"].append(correct / seen)
        if test is not None:
            history["test_accuracy"].append(evaluate(model, *test))
        history["seconds"].append(time.perf_counter() - start)
    if bar is not None:
        bar.close()
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m numpynn.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="long",
                        help="long: 25 epochs, lr 3e-3, 1-pixel shifts (the default); graded: "
                             "the graded run's 4 epochs, lr 2e-3, 2-pixel shifts. The options "
                             "below override single values of the recipe.")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, help="peak learning rate (cosine decay)")
    parser.add_argument("--optimizer", choices=["adam", "sgd"])
    parser.add_argument("--max-shift", type=int,
                        help="random shift augmentation in pixels (0 turns it off)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--validation", type=int, default=VALIDATION,
                        help="embedded digits only: hold out the last N of the 8,000 "
                             f"(default {VALIDATION}; 0 trains on all 8,000, as the grader does)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: the fastest for this small network)")
    parser.add_argument("--data-dir", type=Path, help="folder with the four MNIST IDX files")
    parser.add_argument("--download", action="store_true",
                        help="download the full MNIST (falls back to the embedded digits)")
    parser.add_argument("--out", type=Path, default=Path("runs/mnist_cnn"),
                        help="where to save weights.npz and history.json")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    recipe = {key: value if getattr(args, key) is None else getattr(args, key)
              for key, value in RECIPES[args.recipe].items()}

    if args.threads < 1:
        parser.error(f"--threads must be 1 or more, got {args.threads}")
    threads = limit_blas_threads(args.threads)
    try:
        data = load_mnist(data_dir=args.data_dir, download=args.download,
                          validation=args.validation)
    except (OSError, ValueError) as error:  # a missing IDX file, a bad --validation
        parser.error(str(error))
    dtype = np.dtype(args.dtype)
    train_x, test_x = to_float(data.train_images, dtype), to_float(data.test_images, dtype)
    print(f"MNIST: {len(train_x)} training and {len(test_x)} {data.held_out} images, {dtype}; "
          f"BLAS threads: {threads if threads is not None else 'default'}")
    print("recipe " + args.recipe + ": " + ", ".join(f"{k} {v}" for k, v in recipe.items()))
    model = mnist_cnn(seed=recipe["seed"]).to(dtype)
    start = time.perf_counter()
    history = fit(model, train_x, data.train_labels, epochs=recipe["epochs"],
                  batch_size=recipe["batch_size"], optimizer=recipe["optimizer"], lr=recipe["lr"],
                  max_shift=recipe["max_shift"], seed=recipe["seed"], progress=not args.no_progress)
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, test_x, data.test_labels) if len(test_x) else None
    history.pop("test_accuracy")  # fit's per-epoch list, empty here: name what was held out
    history[f"{data.held_out}_accuracy"] = [accuracy] if accuracy is not None else []
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "weights.npz", **model.state_dict())
    (args.out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    per_epoch = ", ".join(f"{t:.1f}" for t in history["seconds"])
    result = (f"{data.held_out} accuracy: {accuracy:.4f}" if accuracy is not None
              else "no held-out digits (--validation 0)")
    print(f"{result} ({seconds:.1f} s of training, seconds per epoch: {per_epoch}; "
          f"weights and history in {args.out})")
    return accuracy


if __name__ == "__main__":
    main()
