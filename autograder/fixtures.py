"""``python -m autograder fixtures``: compute every hidden case's inputs and expected outputs.

The inputs are drawn from each case's seed; the expected outputs come from running the
same worker programs that grade students (``autograder/worker.py``) on the solution's
``numpynn``. Both are stored in ``autograder/fixtures/cases.npz`` (compressed), keyed
``"<case id>/in/<name>"`` and ``"<case id>/out/<name>"``, next to ``manifest.json``, which
records a digest of the solution and the case specs so that stale fixtures are caught.
The MNIST and speed cases need no fixture: MNIST's inputs are the embedded digits and
its accuracy is judged against assignment.toml's tiers; speed is timed against the
reference in the same grading run.
"""
import hashlib
import importlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from . import REPO, worker
from .assignment import load
from .specs import CASES_DIR, load_cases

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
SOLUTION = REPO / "solution"
NO_FIXTURE = {"mnist", "speed"}   # judged without stored inputs or outputs


def solution_package():
    """The solution's numpynn, imported from ``solution/`` whatever else is installed."""
    loaded = sys.modules.get("numpynn")
    if loaded is None or Path(loaded.__file__).resolve().parent != SOLUTION / "numpynn":
        for name in [m for m in sys.modules if m == "numpynn" or m.startswith("numpynn.")]:
            del sys.modules[name]
        sys.path.insert(0, str(SOLUTION))
        try:
            loaded = importlib.import_module("numpynn")
        finally:
            sys.path.remove(str(SOLUTION))
    return loaded


def make_inputs(case, package):
    """The case's input arrays, drawn from its seed (shapes from the reference layer)."""
    spec, dtype = case.spec, np.dtype(case.dtype)
    rng = np.random.default_rng(case.seed)
    scale = float(spec.get("scale", 1.0))

    def draw(shape):
        if spec.get("ties"):
            return rng.integers(-2, 3, size=shape).astype(dtype)
        values = rng.standard_normal(shape)
        return (np.abs(values) * scale if scale < 0 else values * scale).astype(dtype)

    if case.program == "optim":
        inputs = {f"p{i}": draw(shape) for i, shape in enumerate(spec["x"])}
        for step in range(int(spec.get("steps", 5))):
            inputs.update({f"g{step}_{i}": draw(shape) for i, shape in enumerate(spec["x"])})
        return inputs
    if case.program == "loss":
        x = draw(spec["x"])
        if spec["cls"] == "CrossEntropyLoss":
            return {"x": x, "target": rng.integers(0, spec["x"][1], size=spec["x"][0])}
        return {"x": x, "target": draw(spec["x"])}

    cls = worker.find_class(package, spec)
    layer = worker.build(cls, spec, dtype)
    inputs = {f"param.{name}": draw(p.data.shape) for name, p in layer.named_parameters()}
    for name in layer._buffers:
        # Random running statistics make the momentum form and eval mode visible.
        low = 0.5 if name == "running_var" else -1.0
        inputs[f"buffer.{name}"] = rng.uniform(low, 1.0 + abs(low), np.shape(getattr(layer, name))).astype(dtype)
    steps = spec.get("steps", ["forward", "backward"])
    if case.program == "dropout":
        steps = ["forward", "backward"]
    x = draw(spec["x"])
    out_shape = layer.eval().forward(x.copy()).shape
    for k in range(sum(s == "forward" for s in steps)):
        inputs[worker.numbered("x", k)] = x if k == 0 else draw(spec["x"])
    for k in range(sum(s == "backward" for s in steps)):
        inputs[worker.numbered("grad_out", k)] = draw(out_shape)
    return inputs


def compute(assignment=None):
    """{case id: (inputs, expected outputs)} for every case that has fixtures."""
    assignment = assignment or load()
    package = solution_package()
    results = {}
    for case in load_cases(assignment):
        if case.program in NO_FIXTURE:
            continue
        inputs = make_inputs(case, package)
        job = {"package": "numpynn"}
        outputs = worker.run_case({"id": case.id, "program": case.program, "spec": case.spec},
                                  package, {k: v.copy() for k, v in inputs.items()}, job)
        if case.program == "dropout":
            outputs = {}   # masks are random: judged by their statistics, not by values
        results[case.id] = (inputs, {k: np.asarray(v) for k, v in outputs.items()})
    return results


def digest():
    """A digest of everything the fixtures depend on: the solution's package and the cases."""
    h = hashlib.sha256()
    for path in sorted((SOLUTION / "numpynn").glob("*.py")) + sorted(CASES_DIR.glob("*.toml")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def write(results, directory=FIXTURES_DIR):
    """Store the fixtures reproducibly (fixed zip timestamps, sorted keys)."""
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for case_id in sorted(results):
            for kind, arrays in zip(("in", "out"), results[case_id]):
                for name in sorted(arrays):
                    npy = io.BytesIO()
                    np.lib.format.write_array(npy, np.asarray(arrays[name]), allow_pickle=False)
                    info = zipfile.ZipInfo(f"{case_id}/{kind}/{name}.npy", (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, npy.getvalue())
    (directory / "cases.npz").write_bytes(buffer.getvalue())
    manifest = {"digest": digest(), "cases": sorted(results)}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def read(directory=FIXTURES_DIR):
    """{case id: (inputs, expected)} as stored by ``write``."""
    path = directory / "cases.npz"
    if not path.exists():
        raise FileNotFoundError(f"no fixtures at {path}: run `python -m autograder fixtures`")
    results = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            case_id, kind, name = key.rsplit("/", 2)
            entry = results.setdefault(case_id, ({}, {}))
            entry[0 if kind == "in" else 1][name] = archive[key]
    return results


def is_stale(directory=FIXTURES_DIR):
    manifest = directory / "manifest.json"
    return not manifest.exists() or json.loads(manifest.read_text())["digest"] != digest()


def add_arguments(parser):
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR,
                        help="folder for cases.npz and manifest.json (default: %(default)s)")


def main(args):
    results = compute()
    write(results, args.out)
    arrays = sum(len(i) + len(o) for i, o in results.values())
    print(f"fixtures: {len(results)} cases, {arrays} arrays -> {args.out / 'cases.npz'}")
    return 0
