"""A memory cgroup for each worker, so that its processes together stay within memory_mb.

RLIMIT_AS bounds one process; a worker that forks could hold ``processes`` times as
much. Where the grader may make cgroups (root on a cgroup v1 memory hierarchy, or a
cgroup v2 folder whose ``cgroup.subtree_control`` enables memory, as a delegated one
does), each worker gets a child of the grader's own memory cgroup, capped at memory_mb
with no swap, and joins it before it runs anything (``join_argv``), so everything it
starts is counted too. Nothing escapes: a process cannot leave a cgroup it cannot write
to, and the worker's users write nothing here.

Elsewhere ``MemoryGroup.create`` returns None, and sandbox.py falls back to a process
limit of one: the worker alone, within its address space. ``describe`` says which.
"""
from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from pathlib import Path

PREFIX = "numpynn-worker-"
_names = itertools.count()


@functools.cache
def _home() -> tuple[int, Path] | None:
    """(cgroup version, the grader's own memory cgroup folder) where children can be made."""
    try:
        memberships = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    paths = {}
    for line in memberships:
        _, controllers, path = line.split(":", 2)
        paths[controllers] = path
    for line in mounts:
        fields = line.split()
        root, point = fields[3], fields[4]
        fstype, options = fields[fields.index("-") + 1], fields[-1].split(",")
        if fstype == "cgroup" and "memory" in options:
            version, path = 1, next((p for c, p in paths.items() if "memory" in c.split(",")), None)
        elif fstype == "cgroup2" and "" in paths:
            version, path = 2, paths[""]
        else:
            continue
        if path is None or not (path + "/").startswith(root.rstrip("/") + "/"):
            continue
        folder = Path(point) / path[len(root.rstrip("/")):].lstrip("/")
        if version == 2 and "memory" not in _read(folder / "cgroup.subtree_control").split():
            continue
        if os.access(folder, os.W_OK):
            return version, folder
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class MemoryGroup:
    """One worker's cgroup: ``create`` it, put ``join_argv`` before the worker's argv,
    ``remove`` it once the worker is gone."""

    def __init__(self, version: int, folder: Path, limit_mb: int):
        self.version, self.folder, self.limit_mb = version, folder, limit_mb

    @classmethod
    def create(cls, limit_mb: int) -> MemoryGroup | None:
        home = _home()
        if home is None:
            return None
        version, parent = home
        _remove_stale(parent)
        folder = parent / f"{PREFIX}{os.getpid()}-{next(_names)}"
        limit = str(limit_mb << 20)
        try:
            folder.mkdir()
        except OSError:
            return None
        group = cls(version, folder, limit_mb)
        try:
            if version == 1:     # memsw (memory + swap) must not be below the memory limit
                (folder / "memory.limit_in_bytes").write_text(limit)
                group._write_if_there("memory.memsw.limit_in_bytes", limit)
            else:
                (folder / "memory.max").write_text(limit)
                group._write_if_there("memory.swap.max", "0")
        except OSError:
            group.remove()
            return None
        return group

    def _write_if_there(self, name, value):
        try:
            (self.folder / name).write_text(value)
        except FileNotFoundError:
            pass        # no swap accounting here: the memory limit alone
        except OSError:
            pass

    def join_argv(self) -> list[str]:
        """Run before the worker's argv: the process joins the group, then execs the rest."""
        return ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', str(self.folder / "cgroup.procs")]

    def oom_kills(self) -> int:
        """How many of the worker's processes the kernel killed for going over the limit."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in _read(self.folder / name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def kill(self):
        """SIGKILL every process in the group, until none is left (or a second passes)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            pids = [int(p) for p in _read(self.folder / "cgroup.procs").split()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def remove(self):
        """Kill what is left in it and remove it (safe to call twice)."""
        self.kill()
        for _ in range(100):      # the killed processes leave it once they are reaped
            try:
                self.folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)


def _remove_stale(parent: Path):
    """Groups left by a grader that was killed: their processes are killed, the groups removed."""
    for folder in parent.glob(f"{PREFIX}*"):
        pid = folder.name[len(PREFIX):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            MemoryGroup(_home()[0], folder, 0).remove()


def describe(group: MemoryGroup | None, limit_mb: int, processes: int | None) -> str:
    """How the worker's memory is bounded, in one line for results.json."""
    if group is not None:
        count = f", up to {processes} processes" if processes else ""
        return (f"{limit_mb} MB for all of the worker's processes together "
                f"(a cgroup v{group.version} memory limit{count})")
    if processes == 1:
        return f"{limit_mb} MB of address space, for the worker's only process (no cgroup here)"
    return (f"{limit_mb} MB of address space per process (no cgroup here, and no process "
            f"limit for the grader's own user)")
