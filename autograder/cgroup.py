"""A cgroup for each worker, so that its processes together stay within memory_mb and one CPU.

RLIMIT_AS bounds one process; a worker that forks could hold ``processes`` times as
much, and its children could spin on every core, slowing a classmate graded beside it
(whose MNIST part is judged by its pace). Where the grader may make cgroups (root on
cgroup v1's memory and cpu hierarchies, or a cgroup v2 folder whose
``cgroup.subtree_control`` enables both, as a delegated one does), each worker gets a
child of the grader's own cgroups: memory capped at memory_mb with no swap, CPU at one
core's time (the worker computes on one thread). It joins them before it runs anything
(``join_argv``), so everything it starts is counted too. Nothing escapes: a process
cannot leave a cgroup it cannot write to, and the worker's users write nothing here.

Elsewhere ``WorkerGroup.create`` returns None, and sandbox.py falls back to a process
limit of one: the worker alone, within its address space, is one process among the
machine's. ``describe`` says which, for results.json.
"""
from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from pathlib import Path

PREFIX = "numpynn-worker-"
CONTROLLERS = ("memory", "cpu")
CPU_PERIOD_US = 100_000        # the quota per period is one period: one core's time
_names = itertools.count()


@functools.cache
def _homes() -> dict[str, tuple[int, Path]] | None:
    """{controller: (cgroup version, the grader's own cgroup folder)} where children can be
    made for every one of CONTROLLERS, or None."""
    try:
        memberships = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    paths = {}
    for line in memberships:
        _, controllers, path = line.split(":", 2)
        paths[controllers] = path
    homes = {}
    for line in mounts:
        fields = line.split()
        root, point = fields[3], fields[4]
        fstype, options = fields[fields.index("-") + 1], fields[-1].split(",")
        for controller in CONTROLLERS:
            if controller in homes:
                continue
            if fstype == "cgroup" and controller in options:
                version = 1
                path = next((p for c, p in paths.items() if controller in c.split(",")), None)
            elif fstype == "cgroup2" and "" in paths:
                version, path = 2, paths[""]
            else:
                continue
            if path is None or not (path + "/").startswith(root.rstrip("/") + "/"):
                continue
            folder = Path(point) / path[len(root.rstrip("/")):].lstrip("/")
            if version == 2 and controller not in _read(folder / "cgroup.subtree_control").split():
                continue
            if os.access(folder, os.W_OK):
                homes[controller] = (version, folder)
    return homes if set(homes) == set(CONTROLLERS) else None


def available() -> bool:
    """Whether workers get a cgroup here."""
    return _homes() is not None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class WorkerGroup:
    """One worker's cgroups: ``create`` them, put ``join_argv`` before the worker's argv,
    ``remove`` them once the worker is gone."""

    def __init__(self, folders: dict[str, tuple[int, Path]], limit_mb: int):
        self.folders, self.limit_mb = folders, limit_mb   # controller -> (version, folder)

    @property
    def version(self) -> int:
        return self.folders["memory"][0]

    @classmethod
    def create(cls, limit_mb: int) -> WorkerGroup | None:
        homes = _homes()
        if homes is None:
            return None
        _remove_stale(homes)
        name = f"{PREFIX}{os.getpid()}-{next(_names)}"
        group = cls({}, limit_mb)
        try:
            for controller, (version, parent) in homes.items():
                folder = parent / name
                if folder not in (f for _, f in group.folders.values()):   # v2: one folder
                    folder.mkdir()
                group.folders[controller] = (version, folder)
            group._limit(limit_mb)
        except OSError:
            group.remove()
            return None
        return group

    def _limit(self, limit_mb):
        memory = str(limit_mb << 20)
        cpu_version, cpu = self.folders["cpu"]
        if self.version == 1:      # memsw (memory + swap) must not be below the memory limit
            (self._folder("memory") / "memory.limit_in_bytes").write_text(memory)
            _write_if_there(self._folder("memory") / "memory.memsw.limit_in_bytes", memory)
        else:
            (self._folder("memory") / "memory.max").write_text(memory)
            _write_if_there(self._folder("memory") / "memory.swap.max", "0")
        if cpu_version == 1:
            (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(CPU_PERIOD_US))
        else:
            (cpu / "cpu.max").write_text(f"{CPU_PERIOD_US} {CPU_PERIOD_US}")

    def _folder(self, controller) -> Path:
        return self.folders[controller][1]

    def _distinct(self) -> list[Path]:
        return list(dict.fromkeys(folder for _, folder in self.folders.values()))

    def join_argv(self) -> list[str]:
        """Run before the worker's argv: the process joins every group, then execs the rest."""
        script = 'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *(str(f / "cgroup.procs") for f in self._distinct()), "--"]

    def oom_kills(self) -> int:
        """How many of the worker's processes the kernel killed for going over the limit."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in _read(self._folder("memory") / name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def kill(self):
        """SIGKILL every process in the group, until none is left (or a second passes)."""
        kill_until_gone(lambda: {int(p) for f in self._distinct()
                                 for p in _read(f / "cgroup.procs").split()}, 1.0)

    def remove(self):
        """Kill what is left in it and remove it (safe to call twice)."""
        self.kill()
        for folder in self._distinct():
            for _ in range(100):      # the killed processes leave it once they are reaped
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def kill_until_gone(find, seconds):
    """SIGKILL the pids ``find()`` returns, again and again (a fork may add some), until it
    returns none or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pids = find()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)


def _write_if_there(path: Path, value: str):
    try:
        path.write_text(value)
    except OSError:
        pass            # no swap accounting here: the memory limit alone


def _remove_stale(homes):
    """Groups left by a grader that was killed: their processes are killed, the groups removed."""
    for controller, (version, parent) in homes.items():
        for folder in parent.glob(f"{PREFIX}*"):
            pid = folder.name[len(PREFIX):].split("-")[0]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                WorkerGroup({controller: (version, folder)}, 0).remove()


def describe(group: WorkerGroup | None, limit_mb: int, processes: int | None) -> str:
    """How the worker's memory and CPU are bounded, in one line for results.json."""
    if group is not None:
        count = f", up to {processes} processes" if processes else ""
        return (f"{limit_mb} MB and one CPU for all of the worker's processes together "
                f"(cgroup v{group.version}{count})")
    if processes == 1:
        return f"{limit_mb} MB of address space, for the worker's only process (no cgroup here)"
    return (f"{limit_mb} MB of address space per process (no cgroup here, and no process "
            f"limit for the grader's own user)")
