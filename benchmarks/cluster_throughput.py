"""Is grade-all --cluster as fast as the local pool at the same core count?

    python benchmarks/cluster_throughput.py                    # 6 copies of the solution, 2 rounds
    python benchmarks/cluster_throughput.py --copies 10 --rounds 3 --without-mnist

A class of copies of the solution (MNIST included unless --without-mnist) is graded
with --jobs 2 here and with --cluster on a dask scheduler and 2 local workers of 1
thread each, which this script starts on 127.0.0.1 and stops at the end. The runs are
interleaved (local, cluster, local, cluster, ...), each into a fresh output folder, so
that a change in the machine's load hits both alike. It prints every run's wall time,
the medians and their ratio, and the load average: on a busy machine the numbers mean
little. It asserts nothing: it is a measurement, not a test.
"""
import argparse
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import REPO, grade_all
from autograder.assignment import load
from autograder.cluster import Cluster


def make_class(root: Path, copies: int) -> Path:
    submissions = root / "submissions"
    for i in range(copies):
        shutil.copytree(REPO / "solution" / "numpynn", submissions / f"student{i:02d}" / "numpynn",
                        ignore=shutil.ignore_patterns("__pycache__"))
    return submissions


def start_dask(tmp: Path, workers: int):
    """A scheduler and ``workers`` single-threaded workers; returns (address, processes)."""
    def start(*args):
        log = open(tmp / f"dask-{len(processes)}.log", "wb")
        processes.append(subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=REPO,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        log.close()

    processes, file = [], tmp / "scheduler.json"
    start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
          "--scheduler-file", str(file))
    deadline = time.monotonic() + 60
    while not file.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the scheduler did not start")
        time.sleep(0.2)
    address = json.loads(file.read_text())["address"]
    for i in range(workers):
        start("worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
              "--host", "127.0.0.1", "--local-directory", str(tmp / f"w{i}"))
    return address, processes


def stop_dask(processes):
    for process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--without-mnist", action="store_true",
                        help="leave the MNIST training out of every grading")
    args = parser.parse_args()

    assignment = load()
    if args.without_mnist:
        assignment = dataclasses.replace(
            assignment, parts=tuple(p for p in assignment.parts if p.id != "mnist"))
    print(f"{args.copies} copies of the solution, MNIST "
          f"{'excluded' if args.without_mnist else 'included'}, {os.cpu_count()} CPUs; "
          f"--jobs 2 against --cluster with 2 workers of 1 thread")
    print(f"load average before: {load_average()}", flush=True)
    times = {"--jobs 2": [], "--cluster": []}
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        tmp = Path(tmp)
        submissions = make_class(tmp, args.copies)
        address, processes = start_dask(tmp, workers=2)
        try:
            with Cluster(address) as cluster:
                cluster.client.wait_for_workers(2, timeout=60)
                for round in range(args.rounds):
                    for mode in times:
                        out = tmp / f"grades-{round}-{mode.strip('-').replace(' ', '')}"
                        start = time.perf_counter()
                        summary = grade_all.grade_all(
                            submissions, out, assignment=assignment, progress=False,
                            **({"jobs": 2} if mode == "--jobs 2" else {"cluster": cluster}))
                        seconds = time.perf_counter() - start
                        times[mode].append(seconds)
                        print(f"round {round + 1}, {mode:9}: {seconds:6.1f} s "
                              f"({seconds / args.copies:.2f} s per student); "
                              f"mean score {summary.mean:.2f}/{summary.total_points:g}, "
                              f"failed {len(summary.failed)}; load average {load_average()}",
                              flush=True)
        finally:
            stop_dask(processes)
    local, remote = (statistics.median(t) for t in times.values())
    print(f"median: --jobs 2 {local:.1f} s, --cluster {remote:.1f} s; "
          f"--cluster takes {remote / local:.2f}x the time of --jobs 2")


if __name__ == "__main__":
    main()
