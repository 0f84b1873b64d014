"""The one module that starts processes: grading workers and helper commands.

``run_cases`` runs a list of cases in one worker process (``autograder/worker.py``),
sandboxed as ``autograder/sandbox.py`` plans it, and collects the replies it writes on
its private channel. The parent never blocks on a pipe: it waits with ``select`` and a
deadline, so a worker that hangs, exits early, floods its output or leaves a
grandchild holding a pipe open costs only the case it was running. A fresh worker then
carries on from the next case.
"""
import dataclasses
import functools
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WORKER = Path(__file__).resolve().parent / "worker.py"
MAX_FRAME_BYTES = 64 << 20      # no honest reply comes near this
STARTUP_SECONDS = 60            # importing numpy and the package, before the first case


def run_python(args, *, cwd=None, env=None, timeout=None) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` with this interpreter and capture its output as text."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, timeout=timeout,
                          capture_output=True, text=True)


# Every worker alive right now (several when a class is graded in threads), so that an
# interrupted batch can stop them all: unsandboxed ones sit in their own sessions, out
# of reach of the terminal's Ctrl-C.
_running = {}                   # Popen -> sandboxed
_running_lock = threading.Lock()
_stopping = threading.Event()


class Stopped(Exception):
    """Grading was cut short by ``stop_all``; its replies mean nothing."""


def stop_all():
    """Kill every running worker and start no new one: the process is shutting down."""
    _stopping.set()
    with _running_lock:
        running = list(_running.items())
    for process, sandboxed in running:
        _stop(process, sandboxed)


@dataclass
class Reply:
    """What became of one case: the arrays the worker sent, or why there are none."""
    arrays: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Run:
    replies: dict                 # case id -> Reply
    output: str                   # the student's stdout and stderr, truncated
    sandboxed: bool
    workers: int                  # how many worker processes it took
    user: str = ""                # who ran the workers: "nobody", or the grader's user
    user_note: str = ""           # why a root grader's workers ran as root, if they did


class _Output:
    """Keeps the first ``limit`` bytes of everything the student's code prints."""

    def __init__(self, limit):
        self.limit, self.kept, self.dropped = limit, bytearray(), 0

    def add(self, data):
        room = self.limit - len(self.kept)
        self.kept += data[:max(room, 0)]
        self.dropped += max(len(data) - max(room, 0), 0)

    def text(self):
        text = self.kept.decode("utf-8", "replace")
        return text + (f"\n[... {self.dropped} more bytes of output dropped]" if self.dropped else "")


class _Frames:
    """Splits the channel's byte stream into (header, arrays) replies."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data):
        self.buffer += data
        frames = []
        while len(self.buffer) >= 4:
            (size,) = struct.unpack(">I", self.buffer[:4])
            if size > MAX_FRAME_BYTES:
                raise ValueError("a reply header is too large")
            if len(self.buffer) < 4 + size:
                break
            header = json.loads(bytes(self.buffer[4:4 + size]))
            sizes = [int(n) for _, n in header.get("arrays", [])]
            if any(n < 0 for n in sizes) or sum(sizes) > MAX_FRAME_BYTES:
                raise ValueError(f"returned {sum(sizes) / 2**20:.0f} MB of arrays, more than "
                                 f"the {MAX_FRAME_BYTES >> 20} MB a case may return")
            end = 4 + size + sum(sizes)
            if len(self.buffer) < end:
                break
            arrays, offset = {}, 4 + size
            for (name, _), n in zip(header["arrays"], sizes):
                arrays[str(name)] = _load_npy(bytes(self.buffer[offset:offset + n]))
                offset += n
            del self.buffer[:end]
            frames.append((header, arrays))
        return frames


def _load_npy(blob):
    """An array from .npy bytes; never unpickles (object arrays are refused)."""
    import io
    return np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)


def _stop(process, sandboxed):
    """Kill the worker and everything it started (its PID namespace or its session)."""
    try:
        if sandboxed:
            process.kill()            # bwrap's --die-with-parent takes the namespace down
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _drain(process, streams, output, seconds=1.0):
    """Let a worker that answered every case exit by itself, keeping what it still prints
    (a student's last lines); give up after ``seconds``, never waiting on EOF alone."""
    deadline = time.monotonic() + seconds
    fds = [fd for fd, kind in streams.items() if kind == "output"]
    while fds and time.monotonic() < deadline:
        ready, _, _ = select.select(fds, [], [], max(deadline - time.monotonic(), 0))
        for fd in ready:
            data = os.read(fd, 1 << 20)
            if data:
                output.add(data)
            else:
                fds.remove(fd)
        if not ready and process.poll() is not None:
            break


def _exit_reason(returncode, limits, sandboxed):
    from .sandbox import exit_signal

    if returncode is None:
        return "the worker stopped answering"
    sig = exit_signal(returncode, sandboxed)
    if sig == signal.SIGXCPU:
        return f"CPU time limit ({limits.cpu_seconds} s) exceeded"
    if sig == signal.SIGXFSZ:
        return f"file size limit ({limits.file_size_mb} MB) exceeded"
    if sig == signal.SIGKILL:
        return "the worker was killed (out of memory or another limit)"
    if sig is not None:
        return f"the worker crashed ({signal.Signals(sig).name})"
    return f"the worker process exited with code {returncode} (sys.exit, os._exit or a crash)"


@functools.lru_cache(maxsize=None)
def sandbox_available():
    """Whether bubblewrap really runs here (tried once): (True, "") or (False, why not)."""
    from . import sandbox

    reason = sandbox.unavailable_reason()
    if reason:
        return False, reason
    launch = sandbox.probe_launch()
    try:
        done = subprocess.run(launch.argv, env=launch.env, preexec_fn=launch.preexec,
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "bubblewrap did not start within 60 s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"bubblewrap cannot run here: {last}"
    return True, ""


def run_cases(package_root, cases, limits, *, timeouts, sandboxed=True):
    """Run ``cases`` (the job's case list, already written under ``package_root/job``).

    timeouts: case id -> wall-clock seconds for that case.
    Returns a Run whose replies hold one Reply for every case, answered or not.
    """
    from . import sandbox   # planned per worker: bwrap's argv, rlimits, environment

    replies, output, workers, start = {}, _Output(limits.output_kb * 1024), 0, 0
    sandboxed = sandboxed and sandbox_available()[0]
    # Room for the data the worker is sent: MNIST's uint8 images become float32 copies.
    inputs = Path(package_root) / "job" / "inputs.npz"
    data_mb = inputs.stat().st_size >> 20 if inputs.exists() else 0
    limits = sandbox.Limits.of(limits)
    limits = dataclasses.replace(limits, extra_memory_mb=limits.extra_memory_mb + 8 * data_mb)
    used_sandbox, user, user_note = sandboxed, "", ""
    while start < len(cases):
        if _stopping.is_set():
            raise Stopped("grading was interrupted")
        launch = sandbox.plan(WORKER, Path(package_root), limits, sandbox=sandboxed,
                              worker_args=["--start", str(start)])
        used_sandbox, user, user_note = launch.sandboxed, launch.user, launch.user_note
        start = _one_worker(launch, cases, start, replies, output, limits, timeouts)
        workers += 1
    return Run(replies=replies, output=output.text(), sandboxed=used_sandbox, workers=workers,
               user=user, user_note=user_note)


def _one_worker(launch, cases, start, replies, output, limits, timeouts):
    """Run one worker from case ``start``; returns where the next worker must begin."""
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            launch.argv + ["--channel", str(write_end)], env=launch.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(write_end,), preexec_fn=launch.preexec,
            start_new_session=not launch.sandboxed)
    finally:
        os.close(write_end)
    with _running_lock:
        _running[process] = launch.sandboxed
    if _stopping.is_set():      # stop_all ran while this one was starting
        _stop(process, launch.sandboxed)
    frames, current, began = _Frames(), None, time.monotonic()
    deadline = began + STARTUP_SECONDS
    position = start
    streams = {read_end: "channel", process.stdout.fileno(): "output"}
    problem = None
    try:
        while position < len(cases):
            wait = deadline - time.monotonic()
            if wait <= 0:
                problem = (f"time limit ({timeouts[current]:.0f} s) exceeded" if current
                           else f"importing your package took over {STARTUP_SECONDS} s")
                break
            ready, _, _ = select.select(list(streams), [], [], min(wait, 0.5))
            for fd in ready:
                data = os.read(fd, 1 << 20)
                if streams[fd] == "output":
                    if data:
                        output.add(data)
                    else:
                        del streams[fd]
                    continue
                if not data:
                    del streams[fd]
                    continue
                for header, arrays in frames.feed(data):
                    case_id = header.get("case")
                    if header.get("event") == "start" and case_id == cases[position]["id"]:
                        current, began = case_id, time.monotonic()
                        deadline = began + timeouts[case_id]
                    elif header.get("event") == "done" and case_id == current:
                        replies[case_id] = Reply(arrays, header.get("error"),
                                                 time.monotonic() - began)
                        current, position = None, position + 1
                        deadline = time.monotonic() + STARTUP_SECONDS
            if read_end not in streams:   # the channel closed: the worker is ending
                try:
                    code = process.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    code = None
                problem = _exit_reason(code, limits, launch.sandboxed)
                break
            if not ready and process.poll() is not None:
                # Exited while something it started still holds the channel open.
                problem = _exit_reason(process.returncode, limits, launch.sandboxed)
                break
        if position >= len(cases):
            _drain(process, streams, output)
    except ValueError as error:       # a corrupt or oversized reply
        problem = f"the worker's reply was refused: {error}"
    finally:
        _stop(process, launch.sandboxed)
        with _running_lock:
            _running.pop(process, None)
        os.close(read_end)
        process.stdout.close()
    if position >= len(cases):
        return position
    if current is None and position == start:
        # The worker never began a case: the package could not even be loaded.
        for case in cases[position:]:
            replies[case["id"]] = Reply(error=f"{problem} while importing your package")
        return len(cases)
    replies[cases[position]["id"]] = Reply(error=f"{problem} while running this case")
    return position + 1
