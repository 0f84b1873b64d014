"""python -m numpynn.train: the graded recipe in one command, BLAS threads, seconds per
epoch, and a validation split of the embedded training digits (never the grader's test)."""
import inspect
import json
import os
import subprocess
import sys

import pytest

from autograder import REPO
from autograder.assignment import load
from numpynn import train


def test_the_graded_recipe_is_the_assignments():
    """`--recipe graded` must train exactly as the grader does: assignment.toml's [mnist],
    and fit's default shifts (the worker calls fit without max_shift)."""
    recipe = load().mnist
    assert train.GRADED == {"epochs": recipe.epochs, "batch_size": recipe.batch_size,
                            "optimizer": recipe.optimizer, "lr": recipe.lr, "seed": recipe.seed,
                            "max_shift": inspect.signature(train.fit).parameters["max_shift"].default}


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    """One epoch of the graded recipe, from a fresh Python, with the progress bar on."""
    out = tmp_path_factory.mktemp("train")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-m", "numpynn.train", "--recipe", "graded", "--epochs", "1",
                           "--out", str(out)], cwd=out, capture_output=True, text=True, timeout=300,
                          env={**env, "PYTHONPATH": str(REPO / "solution")})
    assert done.returncode == 0, done.stderr[-2000:]
    return done, out


def test_one_command_reports_the_validation_accuracy(one_epoch):
    done, out = one_epoch
    lines = done.stdout.splitlines()
    assert lines[0].startswith("MNIST: 7000 training and 1000 validation images, float32")
    assert lines[1] == "recipe graded: epochs 1, batch_size 64, optimizer adam, lr 0.002, max_shift 2, seed 0"
    assert lines[-1].startswith("validation accuracy: 0.9"), lines[-1]
    history = json.loads((out / "history.json").read_text())
    assert len(history["validation_accuracy"]) == 1 and "test_accuracy" not in history


def test_blas_runs_one_thread_and_the_bar_shows_seconds_per_epoch(one_epoch):
    done, _ = one_epoch
    assert "BLAS threads: 1" in done.stdout.splitlines()[0]
    assert "s_per_epoch=" in done.stderr            # tqdm writes the bar to stderr
    assert "seconds per epoch: " in done.stdout.splitlines()[-1]


def test_limit_blas_threads_sets_what_threadpoolctl_reports():
    code = ("import numpy; from numpynn.train import limit_blas_threads; "
            "from threadpoolctl import threadpool_info; limit_blas_threads(1); "
            "print(sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO / "solution"),
                               "OPENBLAS_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1]"


def test_validation_zero_trains_on_all_8000_and_claims_no_accuracy(tmp_path):
    done = subprocess.run([sys.executable, "-m", "numpynn.train", "--recipe", "graded", "--epochs", "1",
                           "--batch-size", "500", "--validation", "0", "--no-progress",
                           "--out", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO / "solution")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("MNIST: 8000 training and 0 validation images")
    assert done.stdout.splitlines()[-1].startswith("no held-out digits (--validation 0)")


@pytest.mark.parametrize("args, reason", [
    (["--validation", "9000"], "validation must be between 0 and 7999 of the 8000 embedded digits, got 9000"),
    (["--threads", "0"], "--threads must be 1 or more, got 0"),
])
def test_a_bad_option_is_one_line_that_says_why(tmp_path, args, reason):
    done = subprocess.run([sys.executable, "-m", "numpynn.train", *args, "--out", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO / "solution")})
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"python -m numpynn.train: error: {reason}"
    assert "Traceback" not in done.stderr
