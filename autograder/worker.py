"""The grading worker: runs hidden cases against one ``numpynn`` package and reports outputs.

It runs in its own process (inside the sandbox when there is one) and is the only
grader file that process can see. It imports the standard library, numpy and the
package under test, nothing of the grader, and it never sees an expected value: it is
given inputs and sends back outputs.

    python -I -S worker.py --lib LIBDIR --root ROOT [--start K] [--channel FD]

ROOT holds the package (``ROOT/numpynn``) and the job (``ROOT/job/job.json`` with the
case list, ``ROOT/job/inputs.npz`` with their input arrays, keyed ``"<case id>/<name>"``).
Cases run in order from position K.

Replies go to file descriptor FD (default 3), a pipe that only the parent reads (student prints go to
stdout/stderr, which the parent keeps apart and never parses). Each reply is a frame:
a 4-byte big-endian length, a JSON header, then the arrays the header lists
(``"arrays": [[name, nbytes], ...]``), each in .npy format written with
``allow_pickle=False``. Headers: ``{"event": "start", "case": ID}`` before a case and
``{"event": "done", "case": ID, "error": null | "one line", "arrays": [...]}`` after it.
"""
import argparse
import importlib
import io
import json
import os
import struct
import sys
import time
import traceback
import types

CHANNEL_FD = 3


class CaseError(Exception):
    """A problem the worker found in what the student's code returned or defined."""


# -- replies ---------------------------------------------------------------------------
def send(header, arrays=()):
    import numpy as np

    blobs = []
    for name, array in arrays:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
        blobs.append(buffer.getvalue())
    header = dict(header, arrays=[[name, len(blob)] for (name, _), blob in zip(arrays, blobs)])
    head = json.dumps(header).encode()
    data = memoryview(struct.pack(">I", len(head)) + head + b"".join(blobs))
    while data:
        data = data[os.write(CHANNEL_FD, data):]


# -- finding the student's code ----------------------------------------------------------
def load_package(root, name):
    """Import the package; if its ``__init__`` fails, an empty package object instead, so
    that each submodule can still be imported (and fail) on its own."""
    try:
        return importlib.import_module(name), None
    except BaseException as error:  # noqa: BLE001 - any failure must become a message
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(root, name)]
        sys.modules[name] = package
        return package, describe(error, root)


def find_class(package, spec):
    module = importlib.import_module(f"{package.__name__}.{spec['module']}")
    cls = getattr(module, spec["cls"], None)
    if not isinstance(cls, type):
        raise CaseError(f"{spec['module']}.py defines no class {spec['cls']}")
    return cls


def describe(error, root):
    """One line for a student: what went wrong and where in their code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(f.filename).startswith(os.path.abspath(root) + os.sep)]
    where = ""
    if frames:
        frame = frames[-1]
        code = _code_of(error, frame)
        function = getattr(code, "co_qualname", frame.name) if code else frame.name
        if isinstance(error, NotImplementedError) and not str(error):
            return f"NotImplementedError: {function} is not written yet"
        where = f" (in {function}, {os.path.basename(frame.filename)} line {frame.lineno})"
    if isinstance(error, SyntaxError):
        return (f"SyntaxError: {error.msg} ({os.path.basename(error.filename or '?')} "
                f"line {error.lineno})")
    if isinstance(error, SystemExit):
        return f"the code called sys.exit({error.code!r}){where}"
    if isinstance(error, MemoryError):
        return f"MemoryError: out of memory{where}"
    if isinstance(error, RecursionError):
        return f"RecursionError: maximum recursion depth exceeded{where}"
    message = str(error).splitlines()[0][:300] if str(error) else ""
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"


def _code_of(error, frame_summary):
    tb = error.__traceback__
    found = None
    while tb is not None:
        if (tb.tb_frame.f_code.co_filename == frame_summary.filename
                and tb.tb_lineno == frame_summary.lineno):
            found = tb.tb_frame.f_code
        tb = tb.tb_next
    return found


def plain(value, what):
    """``value`` if it is a plain ndarray of real numbers; a CaseError saying why not."""
    import numpy as np

    if type(value) is not np.ndarray:
        raise CaseError(f"{what} returned {type(value).__name__}, expected a numpy.ndarray")
    if value.dtype.kind not in "fiub":
        raise CaseError(f"{what} returned an array of dtype {value.dtype}, expected floats")
    return value


# -- the programs: one per kind of case -------------------------------------------------
def build(cls, spec, dtype):
    layer = cls(*spec.get("args", []), **spec.get("kwargs", {}))
    return layer.to(dtype)


def load_parameters(layer, inputs, name):
    """Give the layer the case's parameter values, so that results do not depend on its
    initialisation; the shapes must match the reference's."""
    own = dict(layer.named_parameters())
    given = {k[len("param."):]: v for k, v in inputs.items() if k.startswith("param.")}
    for missing in given.keys() - own.keys():
        raise CaseError(f"{name} has no parameter {missing!r}")
    for extra in own.keys() - given.keys():
        raise CaseError(f"{name} has an unexpected parameter {extra!r}")
    for key, value in given.items():
        p = own[key]
        if p.data.shape != value.shape:
            raise CaseError(f"{name}.{key} has shape {tuple(p.data.shape)}, expected {value.shape}")
        p.data = value.copy()
        p.grad = value * 0
    for key, value in inputs.items():
        if key.startswith("buffer."):
            setattr(layer, key[len("buffer."):], value.copy())


def numbered(stem, k):
    return stem if k == 0 else f"{stem}{k}"


def run_layer(cls, spec, inputs, dtype):
    import numpy as np

    layer = build(cls, spec, dtype)
    load_parameters(layer, inputs, cls.__name__)
    layer.train(spec.get("mode", "train") == "train")
    outputs, given, forwards, backwards = {}, [], 0, 0
    for step in spec.get("steps", ["forward", "backward"]):
        if step in ("train", "eval"):
            layer.train(step == "train")
            continue
        stem, out_stem, call = (("x", "out", layer.forward) if step == "forward"
                                else ("grad_out", "grad_x", layer.backward))
        k = forwards if step == "forward" else backwards
        arg = inputs[numbered(stem, k)].copy()
        given.append((arg, arg.copy()))
        # A copy: a layer may legally reuse its output buffer at the next call.
        outputs[numbered(out_stem, k)] = plain(call(arg), f"{cls.__name__}.{step}").copy()
        if step == "forward":
            forwards += 1
        else:
            backwards += 1
    for name, p in layer.named_parameters():
        outputs[f"grad_{name}"] = plain(p.grad, f"{cls.__name__}.{name}.grad")
    for name in getattr(layer, "_buffers", {}):
        outputs[name] = plain(np.asarray(getattr(layer, name)), f"{cls.__name__}.{name}")
    outputs["input_changed"] = changed(given)
    return outputs


def changed(given):
    """The largest change made in place to any array handed to the student's code."""
    import numpy as np

    return np.array(max((float(np.max(np.abs(a - b), initial=0)) for a, b in given), default=0.0))


def run_loss(cls, spec, inputs, dtype):
    import numpy as np

    loss_fn = cls()
    x, target = inputs["x"].copy(), inputs["target"].copy()
    given = [(x, x.copy()), (target, target.copy())]
    loss = loss_fn.forward(x, target)
    loss = np.asarray(loss)
    if loss.size != 1 or loss.dtype.kind not in "fiu":
        raise CaseError(f"{cls.__name__}.forward returned {loss.shape} {loss.dtype}, expected a number")
    grad = plain(loss_fn.backward(), f"{cls.__name__}.backward")
    return {"loss": loss.reshape(()).astype(np.float64), "grad_x": grad,
            "input_changed": changed(given)}


def run_optim(cls, spec, inputs, dtype, package):
    import numpy as np

    from_module = importlib.import_module(f"{package.__name__}.module")
    count = sum(1 for k in inputs if k.startswith("p") and k[1:].isdigit())
    params = [from_module.Parameter(inputs[f"p{i}"].copy()) for i in range(count)]
    optimizer = cls(params, **spec.get("kwargs", {}))
    trajectories = [[] for _ in params]
    for step in range(int(spec.get("steps", 5))):
        for i, p in enumerate(params):
            p.grad[...] = inputs[f"g{step}_{i}"]
        optimizer.step()
        for i, p in enumerate(params):
            trajectories[i].append(plain(p.data, f"{cls.__name__}.step").copy())
    return {f"trajectory{i}": np.stack(t) for i, t in enumerate(trajectories)}


def run_dropout(cls, spec, inputs, dtype):
    layer = build(cls, spec, dtype).train()
    x, grad_out = inputs["x"].copy(), inputs["grad_out"].copy()
    given = [(x, x.copy()), (grad_out, grad_out.copy())]
    out = plain(layer.forward(x), "Dropout.forward").copy()
    grad_x = plain(layer.backward(grad_out), "Dropout.backward")
    out1 = plain(layer.forward(x), "Dropout.forward")
    return {"out": out, "grad_x": grad_x, "out1": out1, "input_changed": changed(given)}


def run_speed(cls, spec, inputs, dtype):
    import numpy as np

    layer = build(cls, spec, dtype)
    rng = np.random.default_rng(0)   # timing only: any fixed input will do
    x = rng.standard_normal(spec["x"]).astype(dtype)
    grad_out = rng.standard_normal(layer.forward(x).shape).astype(dtype)
    best = [float("inf"), float("inf")]
    for _ in range(5):
        start = time.perf_counter()
        layer.forward(x)
        middle = time.perf_counter()
        layer.backward(grad_out)
        end = time.perf_counter()
        best = [min(best[0], middle - start), min(best[1], end - middle)]
    return {"seconds": np.array(best)}


def run_mnist(package, spec, inputs, job):
    """Train mnist_cnn built from the student's layers; return logits for the test images."""
    import numpy as np

    name = package.__name__
    models = importlib.import_module(f"{name}.models")
    train = importlib.import_module(f"{name}.train")
    data = importlib.import_module(f"{name}.data")
    recipe, limit = job["mnist"], job["mnist_seconds"]
    images = data.to_float(inputs["train_images"], np.float32)
    labels = inputs["train_labels"]
    model = models.mnist_cnn(seed=recipe["seed"]).to(np.float32)
    check_pace(model, images[:recipe["batch_size"]], labels[:recipe["batch_size"]],
               len(images) * recipe["epochs"] / recipe["batch_size"], limit, package)
    history = train.fit(model, images, labels, epochs=recipe["epochs"],
                        batch_size=recipe["batch_size"], optimizer=recipe["optimizer"],
                        lr=recipe["lr"], seed=recipe["seed"], progress=False)
    logits = train.predict(model, data.to_float(inputs["test_images"], np.float32))
    return {"logits": plain(logits, "the trained model"),
            "loss": np.asarray(history["loss"], dtype=np.float64)}


def check_pace(model, x, y, steps, limit, package):
    """Time one training step layer by layer; refuse to train if it cannot finish in time,
    naming the slowest layer, rather than letting the run hit a silent timeout."""
    losses = importlib.import_module(f"{package.__name__}.losses")
    layers = list(model)
    seconds = [0.0] * len(layers)
    h = x
    for i, layer in enumerate(layers):
        start = time.perf_counter()
        h = layer.forward(h)
        seconds[i] += time.perf_counter() - start
    criterion = losses.CrossEntropyLoss()
    criterion.forward(h, y)
    g = criterion.backward()
    for i in reversed(range(len(layers))):
        start = time.perf_counter()
        g = layers[i].backward(g)
        seconds[i] += time.perf_counter() - start
    projected = sum(seconds) * steps * 1.2
    if projected > 0.8 * limit:
        slowest = max(range(len(layers)), key=seconds.__getitem__)
        raise CaseError(
            f"too slow to train: one batch takes {sum(seconds):.2f} s, so training would take "
            f"about {projected:.0f} s (limit {limit:.0f} s); "
            f"{type(layers[slowest]).__name__} takes {seconds[slowest]:.2f} s of it - "
            f"vectorise it (no Python loops over pixels)")


PROGRAMS = {"layer": run_layer, "loss": run_loss, "dropout": run_dropout, "speed": run_speed}


def run_case(case, package, inputs, job):
    import numpy as np

    spec = case["spec"]
    if case["program"] == "mnist":
        return run_mnist(package, spec, inputs, job)
    cls = find_class(package, spec)
    dtype = np.dtype(spec.get("dtype", "float64"))
    if case["program"] == "optim":
        return run_optim(cls, spec, inputs, dtype, package)
    return PROGRAMS[case["program"]](cls, spec, inputs, dtype)


def main():
    global CHANNEL_FD
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--channel", type=int, default=CHANNEL_FD)
    args = parser.parse_args()
    CHANNEL_FD = args.channel
    sys.path[:0] = [args.lib, args.root]
    sys.dont_write_bytecode = True
    # Line by line, so that what a student prints before a crash or a kill is not lost.
    sys.stdout.reconfigure(line_buffering=True)
    import numpy as np

    job_dir = os.path.join(args.root, "job")
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    archive = np.load(os.path.join(job_dir, "inputs.npz"), allow_pickle=False)
    package, import_error = load_package(args.root, job["package"])
    for case in job["cases"][args.start:]:
        send({"event": "start", "case": case["id"]})
        prefix = case["id"] + "/"
        inputs = {k[len(prefix):]: archive[k] for k in archive.files if k.startswith(prefix)}
        arrays, error = [], None
        try:
            arrays = list(run_case(case, package, inputs, job).items())
        except CaseError as problem:
            error = str(problem)
        except BaseException as problem:  # noqa: BLE001 - SystemExit included, on purpose
            error = describe(problem, args.root)
            if import_error and isinstance(problem, (ImportError, AttributeError)):
                error = f"{error}; importing the package failed: {import_error}"
        send({"event": "done", "case": case["id"], "error": error}, arrays)


if __name__ == "__main__":
    main()
