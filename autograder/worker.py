"""The grading worker: runs hidden cases against one ``numpynn`` package, on request.

It runs in its own process, inside the sandbox when there is one, and sees only this
file, ``frames.py`` and ``programs/`` of the grader. It imports the standard library,
numpy and the package under test, and it never sees an expected value, the grading's
seed or the hidden test digits: it is sent inputs and sends back outputs.

    python -I -S worker.py --lib LIBDIR --root ROOT --package numpynn --requests FD --replies FD

The grader writes requests on one pipe and reads replies on another (student prints go
to stdout/stderr, which the grader keeps apart and never parses). Both carry frames
(``frames.py``). After importing the package the worker says ``{"event": "ready"}``.
Then each case starts with a request ``{"case": {"id", "program", "spec", ...}}``
carrying its inputs; its program may exchange more requests and ``{"event": "reply"}``
frames (``Channel``), and the case ends with ``{"event": "done", "case": ID, "error":
null | "one line"}`` and its output arrays. End of file on the requests ends the worker.
"""
import argparse
import importlib
import os
import sys
import traceback
import types


class Channel:
    """The worker's end of the two pipes."""

    def __init__(self, requests_fd, replies_fd):
        import frames

        self.frames, self.requests, self.replies = frames, requests_fd, replies_fd
        self.decoder, self.waiting, self.case = frames.Decoder(), [], None

    def send(self, header, arrays=()):
        data = memoryview(self.frames.encode(header, arrays))
        while data:
            data = data[os.write(self.replies, data):]

    def reply(self, arrays=()):
        """A reply within the current case (programs that converse)."""
        self.send({"event": "reply", "case": self.case}, arrays)

    def receive(self):
        """The next request, as (header, arrays); the grader closing the pipe ends the worker."""
        while not self.waiting:
            data = os.read(self.requests, 1 << 20)
            if not data:
                os._exit(0)
            self.waiting += self.decoder.feed(data)
        return self.waiting.pop(0)


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


# -- the loop -----------------------------------------------------------------------------
def serve(channel, root, package_name):
    import programs

    package, import_error = load_package(root, package_name)
    channel.send({"event": "ready"})
    while True:
        header, inputs = channel.receive()
        case = header.get("case")
        channel.case = case["id"]
        outputs, error = {}, None
        try:
            outputs = programs.kind(case["program"]).run(case, package, inputs, channel)
        except programs.CaseError as problem:
            error = str(problem)
        except BaseException as problem:  # noqa: BLE001 - SystemExit included, on purpose
            error = describe(problem, root)
            if import_error and isinstance(problem, (ImportError, AttributeError)):
                error = f"{error}; importing the package failed: {import_error}"
        try:
            channel.send({"event": "done", "case": case["id"], "error": error}, outputs)
        except (TypeError, ValueError):   # not arrays: an object array, a str...
            channel.send({"event": "done", "case": case["id"],
                          "error": "your code returned something that is not a numeric array"})


def main():
    parser = argparse.ArgumentParser()
    for option in ("--lib", "--root", "--package"):
        parser.add_argument(option, required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--replies", type=int, required=True)
    args = parser.parse_args()
    # -I keeps the script's folder off sys.path: put it there, after numpy and the package.
    sys.path[:0] = [args.lib, args.root, os.path.dirname(os.path.abspath(__file__))]
    sys.dont_write_bytecode = True
    # Line by line, so that what a student prints before a crash or a kill is not lost.
    sys.stdout.reconfigure(line_buffering=True)
    serve(Channel(args.requests, args.replies), args.root, args.package)


if __name__ == "__main__":
    main()
