"""Helpers for the tests that compare the solution with an independent reference.

The reference is ``tests/submissions/loops/numpynn``: the student-owned files written
again from the formulas, with explicit loops. It holds only those files, as a student
submission does, so ``loops_package`` assembles a complete package in a temporary folder
(the solution's given files plus the loop files) and imports it as ``loops_numpynn``,
next to the solution's ``numpynn`` in the same process.
"""
import importlib.util
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np

import numpynn

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = Path(numpynn.__file__).resolve().parent
LOOPS = ROOT / "tests" / "submissions" / "loops" / "numpynn"
LOOPS_NAME = "loops_numpynn"


def student_files():
    """The file names (inside numpynn/) that students own, from assignment.toml."""
    with open(ROOT / "assignment" / "assignment.toml", "rb") as f:
        return list(tomllib.load(f)["assignment"]["student_files"])


def assemble(submission, folder):
    """Write a complete package to ``folder/numpynn``: given files from the solution,
    student files from ``submission``. Returns the package folder."""
    package = Path(folder) / "numpynn"
    package.mkdir(parents=True)
    owned = set(student_files())
    for source in SOLUTION.iterdir():
        if source.is_file() and source.name not in owned and source.suffix in (".py", ".npz"):
            shutil.copy(source, package / source.name)
    for name in owned:
        shutil.copy(Path(submission) / name, package / name)
    return package


def import_package(package, name):
    """Import the package folder ``package`` under the top-level module name ``name``."""
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def loops_package(tmp_path_factory):
    """The loop reference as an imported package, built once per test session."""
    if LOOPS_NAME not in sys.modules:
        import_package(assemble(LOOPS, tmp_path_factory.mktemp("loops_pkg")), LOOPS_NAME)
    return sys.modules[LOOPS_NAME]


def rel_error(actual, expected):
    """Normwise relative error max|a - b| / max|b| (absolute when b is all zeros)."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    diff = np.max(np.abs(actual - expected), initial=0.0)
    scale = np.max(np.abs(expected), initial=0.0)
    return float(diff / scale) if scale else float(diff)


def twin(make, solution_pkg, reference_pkg, dtype=np.float64):
    """The same layer built from both packages (``make(pkg)``), with equal state in ``dtype``."""
    ours = make(solution_pkg).to(dtype)
    theirs = make(reference_pkg).to(dtype)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def forward_backward(layer, x, grad_out_seed=1234):
    """Run forward then backward with a seeded random gradient.

    Returns (out, grad_x, {parameter name: grad}) as copies, gradients zeroed first.
    The gradient's seed differs from the inputs' seeds: a gradient equal to x would
    make BatchNorm's exact input gradient nearly zero, and its relative error noise.
    """
    layer.zero_grad()
    out = layer(x.copy())
    g = np.random.default_rng(grad_out_seed).standard_normal(out.shape).astype(out.dtype)
    grad_x = layer.backward(g)
    grads = {name: p.grad.copy() for name, p in layer.named_parameters()}
    return out.copy(), grad_x.copy(), grads


def randomize(layer, seed):
    """Give every parameter and buffer of ``layer`` random values (variances stay positive),
    so that no test passes because gamma is 1, beta is 0 or the running mean is 0."""
    rng = np.random.default_rng(seed)
    state = {name: (rng.uniform(0.5, 2.0, value.shape) if name.endswith("running_var")
                    else rng.standard_normal(value.shape))
             for name, value in layer.state_dict().items()}
    layer.load_state_dict(state)
    return layer
