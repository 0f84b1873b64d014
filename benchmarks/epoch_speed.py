"""Time one training epoch of ``mnist_cnn`` in numpynn, and in PyTorch if it is installed.

    python benchmarks/epoch_speed.py                 # 10,000 images, batch 64, float32, 5 repeats
    python benchmarks/epoch_speed.py --repeats 3 --images 2000
    OPENBLAS_NUM_THREADS=1 python benchmarks/epoch_speed.py

One epoch is forward, cross-entropy, backward and an Adam step for every batch, with no
augmentation. The two frameworks train the same network from the same initial weights on
the same batches, with the same number of threads, and their epochs are interleaved
(numpy, torch, numpy, torch, ...) so that a busy machine slows both alike. The script
prints every epoch's seconds, the medians, and their ratio. It asserts nothing: it is a
measurement, not a test.
"""
import argparse
import os
import statistics
import time

import numpy as np

from numpynn.data import load_mnist, to_float
from numpynn.losses import CrossEntropyLoss
from numpynn.models import mnist_cnn
from numpynn.optim import Adam


def blas_threads():
    """How many threads NumPy's BLAS uses (threadpoolctl if present, else the usual defaults)."""
    try:
        from threadpoolctl import threadpool_info
        counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def load_average():
    """The 1-minute load average, or "n/a": timings mean little on a busy machine."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def epoch_images(count):
    """``count`` float32 digits (N, 1, 28, 28) and labels, cycling through the embedded 8,000."""
    data = load_mnist()
    images = np.concatenate([data.train_images, data.test_images])
    labels = np.concatenate([data.train_labels, data.test_labels])
    index = np.arange(count) % len(images)
    return to_float(images[index], np.float32), labels[index]


class NumpyRun:
    """numpynn's ``mnist_cnn`` in float32 with Adam; ``epoch(batches)`` trains one epoch."""

    name = "numpynn"

    def __init__(self, lr):
        self.model = mnist_cnn(seed=0).to(np.float32)
        self.criterion = CrossEntropyLoss()
        self.opt = Adam(self.model.parameters(), lr=lr)

    def epoch(self, batches):
        for x, y in batches:
            self.opt.zero_grad()
            self.criterion(self.model(x), y)
            self.model.backward(self.criterion.backward())
            self.opt.step()


class TorchRun:
    """The same network in PyTorch (CPU, float32), starting from numpynn's initial weights."""

    name = "pytorch"

    def __init__(self, lr, state, threads):
        import torch
        from torch import nn
        torch.set_num_threads(threads)
        self.torch = torch
        self.model = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 10),
        )
        weights = self.model.state_dict()  # keeps torch's extra num_batches_tracked
        weights.update({key: torch.from_numpy(value) for key, value in state.items()})
        self.model.load_state_dict(weights)  # strict: every numpynn name must match torch's
        self.model.train()
        self.criterion = nn.CrossEntropyLoss()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)

    def convert(self, batches):
        return [(self.torch.from_numpy(x), self.torch.from_numpy(y)) for x, y in batches]

    def epoch(self, batches):
        for x, y in batches:
            self.opt.zero_grad()
            self.criterion(self.model(x), y).backward()
            self.opt.step()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10_000, help="images per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per framework")
    parser.add_argument("--lr", type=float, default=2e-3)
    args = parser.parse_args(argv)

    load_before = load_average()
    threads = blas_threads()
    x, y = epoch_images(args.images)
    order = np.random.default_rng(0).permutation(len(x))
    # Batches are cut before timing, so both frameworks time only the training step.
    batches = [(x[order[i:i + args.batch_size]], y[order[i:i + args.batch_size]])
               for i in range(0, len(x), args.batch_size)]

    runs = [NumpyRun(args.lr)]
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: timing numpynn alone")
    else:
        runs.append(TorchRun(args.lr, runs[0].model.state_dict(), threads))
        print(f"PyTorch {torch.__version__}, torch.set_num_threads({threads})")
    feeds = {run.name: run.convert(batches) if hasattr(run, "convert") else batches
             for run in runs}
    print(f"NumPy {np.__version__} with {threads} BLAS thread(s); one epoch = {args.images} "
          f"images in {len(batches)} batches of {args.batch_size}, float32, no augmentation")

    for run in runs:  # warm-up: first-call allocations, BLAS thread start-up
        run.epoch(feeds[run.name][:5])
    seconds = {run.name: [] for run in runs}
    for repeat in range(args.repeats):
        line = [f"epoch {repeat + 1}/{args.repeats}:"]
        for run in runs:
            start = time.perf_counter()
            run.epoch(feeds[run.name])
            seconds[run.name].append(time.perf_counter() - start)
            line.append(f"{run.name} {seconds[run.name][-1]:.3f} s")
        print("  ".join(line), flush=True)

    medians = {name: statistics.median(times) for name, times in seconds.items()}
    print("median epoch: " + "  ".join(f"{name} {m:.3f} s" for name, m in medians.items()))
    print("best epoch:   " + "  ".join(f"{name} {min(t):.3f} s" for name, t in seconds.items()))
    if "pytorch" in medians:
        print(f"numpynn / pytorch = {medians['numpynn'] / medians['pytorch']:.2f}x (medians), "
              f"{min(seconds['numpynn']) / min(seconds['pytorch']):.2f}x (best)")
    print(f"load average before and after: {load_before}, {load_average()}")


if __name__ == "__main__":
    main()
