"""The MNIST part measures real training: forgeries score 0, honest bugs keep their tier.

Every run here is the real grader on the MNIST part alone: the grader holds the
parameters and the optimizer, the sandboxed worker computes gradients with the
submission's layers, and the reference checks a random tenth of the steps.
"""
import base64
import dataclasses
import hashlib
import importlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import REPO, grade
from autograder.assignment import load
from autograder.grading.context import reference_package

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ASSIGNMENT = load()
MNIST_ONLY = dataclasses.replace(ASSIGNMENT, parts=tuple(p for p in ASSIGNMENT.parts if p.id == "mnist"))
FORGERIES = tomllib.loads((Path(__file__).parent / "corpus" / "forgeries.toml").read_text())


def solution_with(folder: Path, file, code="", replace=None):
    shutil.copytree(REPO / "solution" / "numpynn", folder / "numpynn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "numpynn" / file
    text = path.read_text()
    if replace:
        assert replace[0] in text, f"the edit no longer matches {file}"
        text = text.replace(*replace, 1)
    path.write_text(text + code)
    return folder


@pytest.fixture(scope="module")
def trained_elsewhere():
    """Weights the solution trained in one epoch, as base64 .npz: what a forger embeds."""
    reference_package()
    models, train, data = (importlib.import_module(f"numpynn.{m}") for m in ("models", "train", "data"))
    digits = np.load(REPO / "solution" / "numpynn" / "mnist_subset.npz")
    model = models.mnist_cnn(seed=7).to(np.float32)
    train.fit(model, data.to_float(digits["train_images"], np.float32), digits["train_labels"],
              epochs=1, lr=2e-3, seed=7, progress=False)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v for k, v in model.state_dict().items() if "running" not in k})
    return base64.b64encode(buffer.getvalue()).decode()


def mnist_test(document):
    (test,) = document["tests"]
    return test


@pytest.mark.parametrize("forgery", FORGERIES["submission"], ids=lambda f: f["name"])
def test_a_forgery_gets_nothing(tmp_path, forgery, trained_elsewhere):
    code = f"\nTARGET = {trained_elsewhere!r}\n" + FORGERIES["prelude"] + forgery["code"]
    folder = solution_with(tmp_path, "linear.py", code)
    document = grade.grade(folder, assignment=MNIST_ONLY, seed=11)
    test = mnist_test(document)
    assert test["score"] == 0, test["output"]
    assert "\n" not in test["output"] and "gradient" in test["output"], test["output"]
    assert document["leaderboard"] == []


@pytest.mark.parametrize("reply", FORGERIES["malformed"], ids=lambda f: f["name"])
def test_a_reply_the_grader_cannot_use_costs_only_the_mnist_case(tmp_path, reply):
    folder = solution_with(tmp_path, "linear.py", FORGERIES["malformed_prelude"] + reply["code"] + "\n")
    document = grade.grade(folder, assignment=MNIST_ONLY, seed=11)
    test = mnist_test(document)
    assert test["score"] == 0 and "\n" not in test["output"], test["output"]
    assert reply["expect"] in test["output"], test["output"]
    assert "grader failed" not in document["output"]


# Honest training, but the worker's channel reports forged losses: 1e308 and -1e308 as
# the only finite values of the first two epochs, NaN for the rest of them.
FORGED_LOSSES = """
import numpy as _np
try:
    import programs.mnist as _mnist
except ImportError:
    _mnist = None
class _Forging:
    def __init__(self, channel):
        self.channel, self.steps = channel, 0
    def __getattr__(self, name):
        return getattr(self.channel, name)
    def reply(self, arrays=()):
        if isinstance(arrays, dict) and "loss" in arrays:
            self.steps += 1
            if self.steps <= 250:
                arrays["loss"] = _np.array({1: 1e308, 126: -1e308}.get(self.steps, _np.nan))
        return self.channel.reply(arrays)
if _mnist is not None:
    _run = _mnist.Mnist.run
    _mnist.Mnist.run = lambda self, case, package, inputs, channel: _run(self, case, package, inputs, _Forging(channel))
"""


def test_forged_losses_reach_neither_the_results_nor_the_page(tmp_path):
    folder = solution_with(tmp_path / "sub", "linear.py", FORGED_LOSSES)
    out = tmp_path / "out" / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--results",
                           str(out), "--html"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    losses = json.loads(out.read_text())["extra_data"]["mnist_loss"]
    assert all(v is None or 0 <= v <= 1e3 for v in losses), losses
    assert (out.parent / "feedback.html").stat().st_size > 0


def test_a_batchnorm_backward_without_its_mean_and_variance_terms_keeps_its_tier(tmp_path):
    folder = solution_with(tmp_path, "batchnorm.py", replace=(
        "grad_x = x_hat_rows * np.repeat(-scale * sum_g_x_hat / m, per_sample)\n"
        "            grad_x -= np.repeat(scale * sum_g / m, per_sample)\n"
        "            grad_x += g_rows * np.repeat(scale, per_sample)",
        "grad_x = g_rows * np.repeat(scale, per_sample)"))
    document = grade.grade(folder, assignment=MNIST_ONLY, seed=11)
    test = mnist_test(document)
    accuracy = document["leaderboard"][0]["value"]
    assert test["output"].startswith(f"test accuracy {accuracy:.2%}"), test["output"]
    assert test["score"] == pytest.approx(ASSIGNMENT.mnist.fraction(accuracy) * test["max_score"])
    assert test["score"] >= 0.75 * test["max_score"]


def test_the_same_seed_trains_the_same_model(tmp_path):
    runs = [grade.grade(REPO / "solution", assignment=MNIST_ONLY, seed=3) for _ in range(2)]
    assert runs[0]["tests"] == runs[1]["tests"]
    assert runs[0]["leaderboard"] == runs[1]["leaderboard"]
    assert runs[0]["tests"][0]["score"] == runs[0]["tests"][0]["max_score"]
    other = grade.grade(REPO / "solution", assignment=MNIST_ONLY, seed=4)
    assert other["extra_data"]["mnist_loss"] != runs[0]["extra_data"]["mnist_loss"]   # other batches


def test_the_hidden_test_digits_never_reach_the_release():
    def digests(images):
        return {hashlib.sha256(image.tobytes()).hexdigest() for image in images}

    with np.load(REPO / "autograder" / "mnist_test.npz") as hidden:
        test = digests(hidden["test_images"])
        assert len(test) > 1900 and hidden["test_labels"].shape == (len(hidden["test_images"]),)
    shipped = set()
    for path in (REPO / "release").rglob("*.npz"):
        with np.load(path) as data:
            for key in data.files:
                if data[key].ndim == 3 and data[key].shape[1:] == (28, 28):
                    shipped |= digests(data[key])
    assert shipped and not shipped & test
