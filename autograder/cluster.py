"""grade-all --cluster tcp://HOST:PORT: each student's grading runs on a dask.distributed worker.

The parent process keeps everything that touches the grades folder (resume, atomic
writes, grades.csv, failed results: ``grade_all``); a task only turns one submission into
its results.json document, by calling ``grade.grade`` on the worker machine, which has the
project and bubblewrap installed.

Submissions travel with their task, so workers need no shared file system: a .zip is sent
as it is, and a folder as a zip made in memory of what the grader reads of it (the folders
where the package may sit and the student-owned files in them), so the payload stays small
whatever else the student left in their folder. The worker unpacks it into a temporary
folder and grades that with the very code a local grading runs.

A worker that dies mid-task (killed, out of memory, machine lost) loses nothing: the
scheduler hands its task to another worker (``distributed.scheduler.allowed-failures``
times, then the student's result says the grading failed and the next run grades them
again). ``retries`` also covers a grading that raised on one worker, e.g. a full disk.

Every worker must run bubblewrap: without it (the jail of ``jail.py`` included) a
student's code shares the machine's network, and could reach the scheduler and run tasks
of its own on every worker. A cluster with such a worker is refused at connection, and a
task that lands on one anyway fails without running any student code.
This module starts no process: it connects to a scheduler someone else started.
"""
import io
import re
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import grade, processes
from .grading.context import grader_version
from .submission import MAX_FILE_BYTES, MAX_ZIP_BYTES, extract

ADDRESS = re.compile(r"tcp://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})")
CONNECT_SECONDS = 10        # to reach the scheduler, and again for a first worker to show up
RETRIES = 2                 # a task that raised is run again this many times
POLL_SECONDS = 0.5          # how often a waiting thread looks whether the batch was interrupted
WAITING_THREADS = 256       # parent threads that wait on tasks; the scheduler does the balancing


class ClusterError(Exception):
    """The cluster cannot be used; the message is one line for the instructor."""


def check_address(text: str) -> str:
    match = ADDRESS.fullmatch(text)
    if not match or not 0 < int(match["port"]) < 65536:
        raise ClusterError(f"--cluster expects tcp://HOST:PORT (a dask scheduler), got {text!r}")
    return text


# -- what crosses to the worker ---------------------------------------------------------
@dataclass(frozen=True)
class Packed:
    """One submission as bytes: the .zip itself, or a zip of the folder's relevant files."""
    name: str               # the submission's file or folder name, as the grader shows it
    is_zip: bool
    data: bytes


def pack(submission: Path, assignment) -> Packed:
    submission = Path(submission)
    if submission.is_file():
        if submission.stat().st_size > MAX_ZIP_BYTES:
            raise ClusterError(f"{submission.name} is larger than {MAX_ZIP_BYTES >> 20} MB, "
                               f"too large to send to a worker")
        return Packed(submission.name, True, submission.read_bytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in places_the_grader_looks(submission, assignment.package):
            relative = path.relative_to(submission).as_posix()
            if path != submission:
                archive.writestr(relative + "/", b"")
            for name in assignment.student_files:
                file = path / name
                if file.is_file() and not file.is_symlink():
                    with open(file, "rb") as f:
                        # One byte past the limit is enough for the grader to refuse the
                        # file with its usual message; the rest need not travel.
                        inside = name if path == submission else f"{relative}/{name}"
                        archive.writestr(inside, f.read(MAX_FILE_BYTES + 1))
    return Packed(submission.name, False, buffer.getvalue())


def places_the_grader_looks(folder: Path, package: str):
    """The folder, its real subfolders, and the ``package`` folder in each
    (``submission.find_package``'s candidates), so that it finds the same one on the worker."""
    def real_dirs(path):
        return [p for p in sorted(path.iterdir()) if p.is_dir() and not p.is_symlink()]

    places = [folder]
    for sub in real_dirs(folder):
        places.append(sub)
        inner = sub / package
        if inner.is_dir() and not inner.is_symlink():
            places.append(inner)
    return places


def unpack(packed: Packed, root: Path) -> Path:
    """The submission rebuilt under ``root``, under its own name."""
    path = root / packed.name
    if packed.is_zip:
        path.write_bytes(packed.data)
    else:
        path.mkdir()
        with tempfile.NamedTemporaryFile(dir=root, suffix=".zip") as archive:
            archive.write(packed.data)
            archive.flush()
            extract(Path(archive.name), path)
    return path


def grade_on_worker(packed: Packed, *, assignment, sandboxed, seed):
    """The task: grade one submission on the worker's machine; returns results.json."""
    available, why = processes.sandbox_available()
    if not (sandboxed and available):
        raise RuntimeError(unsandboxed(why if sandboxed else "--no-sandbox"))
    with tempfile.TemporaryDirectory(prefix="grade-cluster-") as tmp:
        return grade.grade(unpack(packed, Path(tmp)), sandboxed=sandboxed,
                           assignment=assignment, seed=seed)


def unsandboxed(why):
    return (f"a cluster grades only in bubblewrap, and this worker cannot use it ({why}): "
            f"a student's code could reach the scheduler over the network")


# -- the parent's side ------------------------------------------------------------------
class Cluster:
    """A connection to a dask scheduler that grades submissions as tasks.

    ``grade`` has the signature of ``grade.grade`` (plus ``stop``), and blocks the calling
    thread until the task is done, so ``grade_all`` runs it in its thread pool like a local
    grading: only the waiting is local.
    """

    def __init__(self, address: str):
        self.address = check_address(address)
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError("--cluster needs dask: pip install -e '.[cluster]'") from None
        try:
            self.client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"cannot reach the dask scheduler at {address} "
                               f"({type(error).__name__}: {error})".splitlines()[0]) from None
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError):
            self.client.close()
            raise ClusterError(f"no dask worker joined the scheduler at {address} "
                               f"within {CONNECT_SECONDS} s") from None

        refused = {worker: why for worker, (ok, why) in
                   self.client.run(processes.sandbox_available).items() if not ok}
        if refused:
            self.client.close()
            worker, why = next(iter(refused.items()))
            raise ClusterError(f"worker {worker}: {unsandboxed(why)}")

    def waiting_threads(self, tasks: int) -> int:
        return max(1, min(tasks, WAITING_THREADS))

    def grade(self, submission, *, stop: threading.Event, sandboxed=True, assignment, seed):
        packed = pack(submission, assignment)
        future = self.client.submit(grade_on_worker, packed, assignment=assignment,
                                    sandboxed=sandboxed, seed=seed, retries=RETRIES, pure=False,
                                    key=f"grade-{packed.name}-{uuid.uuid4().hex}")
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        while not done.wait(POLL_SECONDS):
            if stop.is_set():
                future.cancel()     # a running grading finishes on its worker, unread
                raise ClusterError("interrupted")
        document = future.result()      # raises what the task raised, or KilledWorker
        theirs, ours = document.get("extra_data", {}).get("grader_version"), grader_version(assignment)
        if theirs != ours:
            raise ClusterError(f"a worker runs another grader (version {theirs}, this one "
                               f"{ours}): install the same project on every worker")
        return document

    def close(self):
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
