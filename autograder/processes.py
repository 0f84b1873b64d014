"""The one module that starts processes: grading workers and helper commands.

A ``Worker`` is one worker process (``autograder/worker.py``), sandboxed as
``autograder/sandbox.py`` plans it, with a pipe for requests and one for replies. The
grader never blocks on a pipe: ``Worker.send`` and ``Worker.receive`` write and read
with ``select`` until a deadline that the caller set, so a worker that hangs, exits, floods its output, never
reads or leaves a grandchild holding a pipe open only raises ``WorkerFailed`` for the
request it was given.
"""
import fcntl
import functools
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import cgroup, frames, sandbox

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
WORKER_FILES = (HERE / "frames.py", HERE / "programs")   # beside the worker, in the sandbox too
STARTUP_SECONDS = 60            # importing numpy and the package, before the first case


def run_python(args, *, cwd=None, env=None, timeout=None) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` with this interpreter and capture its output as text."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, timeout=timeout,
                          capture_output=True, text=True)


@functools.lru_cache(maxsize=None)
def sandbox_available():
    """Whether bubblewrap really runs here (tried once): (True, "") or (False, why not)."""
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


def kept_apart(sandboxed=True):
    """Whether workers started now are kept from each other (sandboxed or jailed):
    (True, "") or (False, why not)."""
    if sandboxed and sandbox_available()[0]:
        return True, ""
    jail_problem = sandbox.jail_problem()
    if jail_problem is None:
        return True, ""
    why = "--no-sandbox" if not sandboxed else sandbox_available()[1]
    return False, (f"without bubblewrap ({why}) and without a jail ({jail_problem}), every "
                   f"student's worker runs as your own user, able to read and kill the others'")


# Every worker alive right now (several when a class is graded in threads), so that an
# interrupted batch can stop them all: unsandboxed ones sit in their own sessions, out
# of reach of the terminal's Ctrl-C.
_running = set()
_running_lock = threading.Lock()
_stopping = threading.Event()


class Stopped(Exception):
    """Grading was cut short by ``stop_all``; its replies mean nothing."""


def stop_all():
    """Kill every running worker and start no new one: the process is shutting down."""
    _stopping.set()
    with _running_lock:
        running = list(_running)
    for worker in running:
        worker.kill()


def _widen(fd, size=1 << 20):
    """A larger pipe buffer (Linux), so a training step's arrays cross in a few writes."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except OSError:
        pass            # above /proc/sys/fs/pipe-max-size: the default still works


class WorkerFailed(Exception):
    """The worker cannot answer this request: the message is one line for the student."""


class Output:
    """Keeps the first ``limit`` bytes of everything the student's code prints."""

    def __init__(self, limit):
        self.limit, self.kept, self.dropped = limit, bytearray(), 0

    def add(self, data):
        room = max(self.limit - len(self.kept), 0)
        self.kept += data[:room]
        self.dropped += max(len(data) - room, 0)

    def text(self):
        kept = frames.text(self.kept.decode("utf-8", "replace"), self.limit)
        return kept + (f"\n[... {self.dropped} more bytes of output dropped]" if self.dropped else "")


class Worker:
    """One worker process serving requests for the package in ``package_root``."""

    def __init__(self, package_root: Path, package: str, limits, output: Output, *, sandboxed):
        if _stopping.is_set():
            raise Stopped("grading was interrupted")
        self.memory = cgroup.WorkerGroup.create(limits.memory_mb)
        try:
            self.launch = sandbox.plan(WORKER, Path(package_root), limits, sandbox=sandboxed,
                                       companions=WORKER_FILES, worker_args=["--package", package],
                                       memory=self.memory)
        except BaseException:
            self._release()
            raise
        self.limits, self.output = limits, output
        self.decoder, self.inbox, self.outbox = frames.Decoder(), [], bytearray()
        requests_read, self.requests = os.pipe()
        self.replies, replies_write = os.pipe()
        for fd in (self.requests, self.replies):
            _widen(fd)
        try:
            self.process = subprocess.Popen(
                self.launch.argv + ["--requests", str(requests_read), "--replies", str(replies_write)],
                env=self.launch.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, pass_fds=(requests_read, replies_write),
                preexec_fn=self.launch.preexec, start_new_session=not self.launch.sandboxed)
        except BaseException:
            for fd in (self.requests, self.replies):
                os.close(fd)
            self._release()
            raise
        finally:
            os.close(requests_read)
            os.close(replies_write)
        os.set_blocking(self.requests, False)
        self.prints = self.process.stdout.fileno()
        with _running_lock:
            _running.add(self)
        if _stopping.is_set():      # stop_all ran while this one was starting
            self.kill()

    @property
    def sandboxed(self):
        return self.launch.sandboxed

    def ready(self, seconds=STARTUP_SECONDS):
        """Wait for the worker to have imported the package."""
        header, _ = self.receive(time.monotonic() + seconds, f"importing your package took over {seconds} s")
        if header.get("event") != "ready":
            raise WorkerFailed("the worker sent a malformed reply before it was ready")

    def send(self, header, arrays):
        """Queue a request and write as much of it as the pipe takes now."""
        self.outbox += frames.encode(header, arrays)
        self._write()

    def receive(self, deadline, late):
        """The next (header, arrays) from the worker, writing what is still to be sent,
        until ``deadline`` (``time.monotonic()``); ``late`` is the message if it passes."""
        while not self.inbox:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise WorkerFailed(late)
            reading = [fd for fd in (self.replies, self.prints) if fd is not None]
            writing = [self.requests] if self.outbox else []
            readable, writable, _ = select.select(reading, writing, [], min(wait, 0.5))
            if writable:
                self._write()
            for fd in readable:
                data = os.read(fd, 1 << 20)
                if fd == self.prints:
                    self._printed(data)
                elif not data:
                    raise WorkerFailed(self.exit_reason(wait=1))
                else:
                    try:
                        self.inbox += self.decoder.feed(data)
                    except frames.BadFrame as error:
                        raise WorkerFailed(f"the worker sent a malformed reply ({error})") from None
            if not readable and not writable and self.process.poll() is not None:
                # Exited while something it started still holds the pipes open.
                raise WorkerFailed(self.exit_reason())
        return self.inbox.pop(0)

    def _write(self):
        try:
            written = os.write(self.requests, self.outbox[:1 << 20])
        except BlockingIOError:
            return
        except BrokenPipeError:
            raise WorkerFailed(self.exit_reason(wait=1)) from None
        del self.outbox[:written]

    def _printed(self, data):
        if data:
            self.output.add(data)
        else:                       # the student's stdout closed
            self.prints = None

    def exit_reason(self, wait=0.0):
        try:
            code = self.process.wait(timeout=wait) if wait else self.process.poll()
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return "the worker stopped answering"
        sig = sandbox.exit_signal(code, self.sandboxed)
        if sig == signal.SIGXCPU:
            return f"CPU time limit ({self.limits.cpu_seconds} s) exceeded"
        if sig == signal.SIGXFSZ:
            return f"file size limit ({self.limits.file_size_mb} MB) exceeded"
        if self.memory and self.memory.oom_kills():
            return (f"memory limit exceeded: your code's processes used over "
                    f"{self.limits.memory_mb} MB together")
        if sig == signal.SIGKILL:
            return "the worker was killed (out of memory or another limit)"
        if sig is not None:
            return f"the worker crashed ({signal.Signals(sig).name})"
        return f"the worker process exited with code {code} (sys.exit, os._exit or a crash)"

    def finish(self, seconds=1.0):
        """End a worker that answered everything: close its requests (it exits by itself),
        keep what it still prints for ``seconds`` (a student's last lines), then stop it."""
        os.close(self.requests)
        self.requests = None
        deadline = time.monotonic() + seconds
        while self.prints is not None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.prints], [], [], max(deadline - time.monotonic(), 0))
            if not ready and self.process.poll() is not None:
                break
            for fd in ready:
                self._printed(os.read(fd, 1 << 20))
        self.stop()

    def kill(self):
        """Kill the worker and everything it started (its PID namespace or its session)."""
        try:
            if self.sandboxed:
                self.process.kill()       # bwrap's --die-with-parent takes the namespace down
            else:
                os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self):
        """Kill it, reap it and close the pipes; safe to call twice."""
        self.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        with _running_lock:
            _running.discard(self)
        for name in ("requests", "replies"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)
        self.process.stdout.close()
        self.prints = None
        self._release()

    def _release(self):
        """What the worker held beyond its process: its jail cell and its cgroup."""
        cell = getattr(getattr(self, "launch", None), "cell", None)
        if cell is not None:
            cell.close()
        if self.memory is not None:
            self.memory.remove()
