"""grade-all --cluster: a real dask scheduler and two real worker processes on 127.0.0.1.

The scheduler and the workers are started here as `python -m dask ...` commands, each in
its own process group, and stopped by the fixture's finalizer whatever happens. The
class is small and graded without the MNIST part: the solution, the untouched release,
a buggy solution zipped one folder down and a corrupt zip.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from autograder import REPO, grade_all, processes
from autograder.cluster import Cluster, pack, unpack
from test_grade_all import (JOBS, QUICK, copy_package, hang_in_linear_forward, processes_naming,
                            quick_toml, read, wait_until, zip_folder)

pytest.importorskip("distributed")
# In CI, where bubblewrap is installed, a missing sandbox fails these instead.
needs_sandbox = pytest.mark.skipif(
    not processes.sandbox_available()[0] and not os.environ.get("CI"),
    reason=f"a cluster grades only in bubblewrap: {processes.sandbox_available()[1]}")

SEED = 20240611
STUDENTS = ["alice", "bob", "carol", "dave", "erin"]
BUG = ("out = x @ self.weight.data.T", "out = x @ self.weight.data")


def make_class(root):
    """alice: the solution; bob: the release; carol.zip: the solution with Linear's weight
    not transposed, one folder down; dave.zip: not a zip; erin: the solution hanging in
    Linear.forward, whose grading takes ten seconds or so (the worker to kill runs it)."""
    copy_package(REPO / "solution", root / "alice")
    copy_package(REPO / "release", root / "bob")
    carol = copy_package(REPO / "solution", root.parent / "carol-src")
    linear = carol / "numpynn" / "linear.py"
    assert BUG[0] in linear.read_text(), "Linear.forward changed; update this test"
    linear.write_text(linear.read_text().replace(*BUG, 1))
    zip_folder(carol, root / "carol.zip", "hw3")
    (root / "dave.zip").write_bytes(b"PK\x03\x04 certainly not a zip")
    hang_in_linear_forward(copy_package(REPO / "solution", root / "erin"))
    return root


class Dask:
    """A scheduler and two single-threaded workers, started as commands."""

    def __init__(self, tmp):
        self.tmp, self.processes = tmp, []
        self.marker = tmp / "workers-tmp"      # in every grading process's command line
        self.marker.mkdir()
        self.file = tmp / "scheduler.json"
        self.start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(self.file))
        assert wait_until(self.file.exists, 60), "the scheduler did not start"
        import json
        self.address = json.loads(self.file.read_text())["address"]
        for name in ("w1", "w2"):
            self.start("worker", self.address, "--name", name, "--nworkers", "1",
                       "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                       "--local-directory", str(tmp / name))
        from distributed import Client
        self.client = Client(self.address, timeout=30, set_as_default=False)
        self.client.wait_for_workers(2, timeout=60)

    def start(self, *args):
        env = {**os.environ, "TMPDIR": str(self.marker)}
        log = open(self.tmp / f"dask-{len(self.processes)}.log", "wb")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "dask", *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    def executing(self):
        """{worker address: keys of the tasks it is running right now}."""
        return self.client.run(lambda dask_worker: [str(t.key) for t in dask_worker.state.executing])

    def close(self):
        try:
            self.client.close()
        finally:
            for process in reversed(self.processes):     # workers first, then the scheduler
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in self.processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            for pid in processes_naming(str(self.marker)):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    cluster = Dask(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The class and its grades.csv graded here, with --jobs 2 and the test's seed."""
    root = tmp_path_factory.mktemp("class")
    submissions = make_class(root / "submissions")
    out = root / "local"
    summary = grade_all.grade_all(submissions, out, jobs=JOBS, assignment=QUICK, seed=SEED,
                                  progress=False)
    assert summary.failed == [] and sorted(summary.graded) == STUDENTS
    return submissions, (out / "grades.csv").read_text()


def cli(submissions, out, *extra, tmp):
    argv = [sys.executable, "-m", "autograder", "grade-all", str(submissions), "--out", str(out),
            "--assignment", str(quick_toml(tmp / "quick.toml")), *extra]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)


@needs_sandbox
def test_the_cluster_grades_like_the_local_pool_and_resumes(dask_cluster, local, tmp_path):
    submissions, expected = local
    out = tmp_path / "grades"
    started = time.monotonic()
    done = cli(submissions, out, "--cluster", dask_cluster.address, "--seed", str(SEED), tmp=tmp_path)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "graded 5, skipped 0 (up to date), failed 0" in done.stdout, done.stdout
    assert (out / "grades.csv").read_text() == expected
    assert read(out, "carol")["score"] < QUICK.total_points == read(out, "alice")["score"]
    assert all(read(out, s)["extra_data"]["seed"] == SEED for s in STUDENTS)
    assert seconds < 120, f"the cluster took {seconds:.0f} s"

    before = {s: (out / s / "results.json").stat().st_mtime_ns for s in STUDENTS}
    again = cli(submissions, out, "--cluster", dask_cluster.address, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "graded 0, skipped 5 (up to date), failed 0" in again.stdout, again.stdout
    assert {s: (out / s / "results.json").stat().st_mtime_ns for s in STUDENTS} == before
    assert (out / "grades.csv").read_text() == expected


@needs_sandbox
def test_a_worker_killed_mid_grading_costs_no_student_their_result(dask_cluster, local, tmp_path):
    submissions, expected = local
    out = tmp_path / "grades"
    finished = {}

    def batch():
        with Cluster(dask_cluster.address) as cluster:
            finished["summary"] = grade_all.grade_all(submissions, out, assignment=QUICK,
                                                      seed=SEED, cluster=cluster, progress=False)

    thread = threading.Thread(target=batch, daemon=True)
    thread.start()

    def grading_erin():
        return [a for a, keys in dask_cluster.executing().items()
                if any(k.startswith("grade-erin-") for k in keys)]

    assert wait_until(grading_erin, 60, step=0.2), "no worker started erin's grading"
    time.sleep(1)                           # well inside it: her first case hangs for 3 s
    victim, = grading_erin()
    pid = dask_cluster.client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)            # the worker process; its nanny starts another
    thread.join(timeout=180)
    assert not thread.is_alive(), "the batch did not finish within 3 minutes"
    summary = finished["summary"]
    assert summary.failed == [] and sorted(summary.graded) == STUDENTS, summary
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10), "the victim lives on"
    assert (out / "grades.csv").read_text() == expected


def test_a_folder_travels_as_what_the_grader_reads(tmp_path):
    folder = copy_package(REPO / "solution", tmp_path / "erin")
    (folder / "notes").mkdir()
    (folder / "notes" / "big.bin").write_bytes(os.urandom(1 << 20))     # left behind
    (folder / "numpynn" / "linear.py").write_bytes(b"#" * (2 << 20))   # too large: refused
    packed = pack(folder, QUICK)
    assert not packed.is_zip and len(packed.data) < 1 << 20
    there = tmp_path / "there"
    there.mkdir()
    rebuilt = unpack(packed, there)
    assert rebuilt == there / "erin" and not (rebuilt / "notes" / "big.bin").exists()
    assert (rebuilt / "numpynn" / "conv.py").read_bytes() == (folder / "numpynn" / "conv.py").read_bytes()
    assert (rebuilt / "numpynn" / "linear.py").stat().st_size == (1 << 20) + 1

def test_bad_cluster_addresses_get_one_line_and_exit_2(local, tmp_path):
    submissions, _ = local
    for address, message in [("localhost:8786", "--cluster expects tcp://HOST:PORT"),
                             ("tcp://127.0.0.1:99999", "--cluster expects tcp://HOST:PORT"),
                             ("tcp://127.0.0.1:9", "cannot reach the dask scheduler at")]:
        done = cli(submissions, tmp_path / "grades", "--cluster", address, tmp=tmp_path)
        assert done.returncode == 2 and message in done.stderr, (address, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = cli(submissions, tmp_path / "grades", "--cluster", "tcp://127.0.0.1:9", "--jobs", "2",
               tmp=tmp_path)
    assert done.returncode == 2 and "--jobs" in done.stderr
    assert not (tmp_path / "grades").exists() or not any((tmp_path / "grades").iterdir())


@needs_sandbox
def test_an_interrupted_cluster_batch_stops_promptly_and_leaves_grades_csv_alone(
        dask_cluster, tmp_path):
    """Last in the file: the workers go on with the cancelled hanging gradings for a while."""
    submissions = tmp_path / "submissions"
    for name in ("hang1", "hang2"):
        hang_in_linear_forward(copy_package(REPO / "solution", submissions / name))
    out = tmp_path / "grades"
    argv = [sys.executable, "-m", "autograder", "grade-all", str(submissions), "--out", str(out),
            "--assignment", str(quick_toml(tmp_path / "slow.toml", case_seconds=30)),
            "--cluster", dask_cluster.address]
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert wait_until(lambda: sum(map(len, dask_cluster.executing().values())) == 2, 60), \
            "the workers never started both gradings"
        process.terminate()
        stopped = time.monotonic()
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr, stderr
        assert time.monotonic() - stopped < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert list(out.glob("*/results.json")) == [] and not (out / "grades.csv").exists()
