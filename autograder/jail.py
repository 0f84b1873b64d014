"""Without bubblewrap, as root: each worker in a chroot of copies, as a user of its own.

Docker's default profile forbids the namespaces bubblewrap needs, but leaves root
CAP_SYS_CHROOT, CAP_SETUID and CAP_SETGID. So the grader builds, once per process, a
tree holding only what a worker runs, hard-linked where it can (else copied), owned by
root and read-only to others, and gives each worker a *cell* in it:

    <tmp>/numpynn-jail-<grader pid>-XXXX/     root 0755: the tree
        <the interpreter, its stdlib, the shared libraries the grader has loaded, at their host paths>
        site/numpy, site/numpy.libs            numpy (the worker's --lib)
        cells/<uid>/                           root:<uid> 0750: only its worker enters
            worker/                            the worker script and its companions
            root/numpynn/                      the package under test (root-owned, 0640)

A worker runs as a uid of its own, drawn at random from ``WORKER_UIDS`` among those no
account, no running process and no cell has: ``chroot --userspec`` (coreutils) enters
the tree and drops root there, and the tree holds no setuid program to regain it. So a
worker cannot see the host's files (the solution, the hidden digits, other students'
submissions and results), cannot read another worker's cell or signal its processes,
and nothing of it outlives its cell: every process of its uid is killed, its System V
IPC objects removed. A grader killed mid-run leaves its tree behind: the next grader
deletes it first, with its processes.

Not isolated: the network (any TCP or UDP service the machine can reach, as the worker's
own uid), and System V IPC while the worker runs (its objects are removed with its
cell). Nothing in the jail is writable: without a tmpfs (which needs CAP_SYS_ADMIN) a
writable folder would let a worker fill the host's disk, 16 MB a file. /proc and /dev
are not there; a standard-library extension module whose shared library the grader
itself has not loaded fails to import.
"""
from __future__ import annotations

import atexit
import functools
import os
import pwd
import grp
import random
import shutil
import stat
import struct
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .cgroup import kill_until_gone

WORKER_UIDS = range(40000, 60000)
PREFIX = "numpynn-jail-"
SKIPPED = {"site-packages", "dist-packages", "test", "tests", "idlelib", "tkinter",
           "turtledemo", "ensurepip", "lib2to3", "__phello__"}
NEEDED_CAPABILITIES = {"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SYS_CHROOT": 18}

_building = threading.Lock()
_lock = threading.Lock()          # the uids taken by this process's cells
_taken: set[int] = set()


def problem(tool) -> str | None:
    """None when workers can be jailed here, else why not, in one line.
    tool: finds a system program by name (sandbox._tool)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "only root can jail a worker"
    missing = [name for name in ("chroot", "prlimit") if tool(name) is None]
    if missing:
        return f"{' and '.join(missing)} not found in /usr/bin or /bin"
    lacking = [name for name, bit in NEEDED_CAPABILITIES.items() if not _effective() >> bit & 1]
    if lacking:
        return f"root here lacks {', '.join(lacking)}, which jailing a worker needs"
    return None


def _effective() -> int:
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("CapEff:")), 16)
    except (OSError, StopIteration, ValueError):
        return 0


@dataclass(frozen=True)
class Tree:
    folder: Path
    library_path: str           # LD_LIBRARY_PATH inside: the loaded libraries' folders


def tree(runtime) -> Tree:
    """The runtime tree (runtime: sandbox's _Runtime), built at the first call of this
    process and removed at its exit."""
    with _building:
        return _build(runtime)


@functools.cache
def _build(runtime) -> Tree:
    import numpy  # noqa: F401  (loaded, so that its shared libraries are among the mapped files)

    _remove_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    atexit.register(_remove_tree, folder)
    folder.chmod(0o755)
    # Not the grader's installed packages' extension modules: only the system's libraries.
    loaded = [p for p in loaded_files() if not any(_under(p, d) for d in runtime.numpy_dirs)
              and not any(_under(p, d) for d in runtime.stdlib_dirs)
              and not any(part.endswith("-packages") for part in p.parts)]
    interpreter = elf_interpreter(runtime.executable)
    for path in [runtime.executable, *loaded, *_other_names(loaded),
                 *([interpreter] if interpreter else [])]:
        _place(path, folder / path.relative_to("/"))
    for stdlib in runtime.stdlib_dirs:
        _place(stdlib, folder / stdlib.relative_to("/"))
    for d in runtime.numpy_dirs:
        _place(d, folder / "site" / d.name)
    (folder / "cells").mkdir(mode=0o755)
    folders = dict.fromkeys(str(p.parent) for p in loaded if ".so" in p.name)
    return Tree(folder, ":".join(folders))


@dataclass
class Cell:
    """One worker's place in the tree and its uid; ``close`` it when the worker is gone."""
    tree: Path
    uid: int

    @property
    def folder(self) -> Path:
        return self.tree / "cells" / str(self.uid)

    def inside(self, path: Path) -> str:
        return "/" + str(Path(path).relative_to(self.tree))

    @property
    def root(self) -> Path:
        return self.folder / "root"

    @property
    def worker(self) -> Path:
        return self.folder / "worker"

    def close(self):
        """Kill every process of its uid, remove its System V IPC objects, delete the cell,
        free the uid (safe twice)."""
        kill_user(self.uid)
        remove_ipc(self.uid)
        shutil.rmtree(self.folder, ignore_errors=True)
        with _lock:
            _taken.discard(self.uid)


def open_cell(jail: Tree, package_root: Path, worker_files) -> Cell:
    """A new cell holding a copy of ``package_root`` and the worker's files (the script
    and its companions) that only its uid can read."""
    _remove_stale()      # a grader killed since this one started: before any uid is drawn
    with _lock:
        uid = _free_uid()
        _taken.add(uid)
    cell = Cell(jail.folder, uid)
    try:
        cell.folder.mkdir(mode=0o750)
        os.chown(cell.folder, 0, uid)
        shutil.copytree(package_root, cell.root, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        for path in [cell.root, *cell.root.rglob("*")]:
            os.chown(path, 0, uid, follow_symlinks=False)
            if not path.is_symlink():
                path.chmod(0o750 if path.is_dir() else 0o640)
        for f in map(Path, worker_files):
            _place(f, cell.worker / f.name)
    except BaseException:
        cell.close()
        raise
    return cell


def kill_user(uid: int, seconds=2.0):
    """SIGKILL every process whose real or effective uid is ``uid``, until none is left."""
    kill_until_gone(lambda: _processes_of(uid), seconds)


IPC_RMID = 0
SYSV_IPC = {"shm": ("shmid", "shmctl"), "msg": ("msqid", "msgctl"), "sem": ("semid", "semctl")}


def remove_ipc(uid: int):
    """Remove the System V shared memory, message queues and semaphores that ``uid`` owns
    or created: they would outlive the worker (holding memory, or notes for a later
    student), since the jail has no IPC namespace of its own."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for kind, (id_column, control) in SYSV_IPC.items():
        try:
            header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        columns = header.split()
        for row in rows:
            fields = dict(zip(columns, row.split()))
            if str(uid) in (fields.get("uid"), fields.get("cuid")):
                if kind == "sem":
                    libc.semctl(int(fields[id_column]), 0, IPC_RMID)
                else:
                    getattr(libc, control)(int(fields[id_column]), IPC_RMID, None)


def _processes_of(uid) -> list[int]:
    return [pid for pid, uids in _process_uids().items() if uid in uids]


def _process_uids() -> dict[int, tuple[int, ...]]:
    """pid -> (real, effective, saved, fs uid) of every process on the machine."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            line = next((l for l in status.splitlines() if l.startswith("Uid:")), "")
            found[int(name)] = tuple(int(u) for u in line.split()[1:])
    return found


def _free_uid() -> int:
    busy = {u for uids in _process_uids().values() for u in uids}
    busy.update(int(cell.name) for cell in Path(tempfile.gettempdir()).glob(f"{PREFIX}*/cells/*")
                if cell.name.isdigit())
    for _ in range(1000):
        uid = random.SystemRandom().choice(WORKER_UIDS)
        if uid in _taken or uid in busy or _has_account(uid):
            continue
        return uid
    raise RuntimeError(f"no free worker uid in {WORKER_UIDS.start}-{WORKER_UIDS.stop - 1}")


def _has_account(uid) -> bool:
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(uid)
            return True
        except KeyError:
            pass
    return False


# -- building the tree --------------------------------------------------------------------
def _place(source: Path, target: Path):
    """``source`` (a file, or a folder walked whole but for SKIPPED names) at ``target``,
    hard-linked when it can be, else copied; readable by all, writable by root only."""
    _parents(target)
    if source.is_dir():
        target.mkdir(mode=0o755, exist_ok=True)
        for entry in os.scandir(source):
            if entry.name not in SKIPPED:
                _place(Path(entry.path), target / entry.name)
    elif source.is_file() and not target.exists():
        source = source.resolve()      # a link to a symlink would be the symlink
        mode = source.stat().st_mode
        plain = stat.S_IMODE(mode) & ~0o7000 == stat.S_IMODE(mode) and mode & stat.S_IROTH
        try:
            if not plain:
                raise OSError("copy: the link would keep the original's mode")
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
            target.chmod(0o755 if mode & stat.S_IXUSR else 0o644)


def _parents(target: Path):
    for parent in reversed(target.parents):
        if not parent.exists():
            parent.mkdir(mode=0o755)


def loaded_files() -> list[Path]:
    """The files this process has mapped (the interpreter, libraries, extension modules)."""
    paths = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/") and not fields[5].endswith("(deleted)"):
            paths.append(Path(fields[5]))
    return [p for p in dict.fromkeys(paths) if p.is_file()]


def _other_names(files: list[Path]) -> list[Path]:
    """The symlinks beside ``files`` that lead to them: the names (libz.so.1) by which
    the loader asks for them (libz.so.1.2.13)."""
    wanted, names = {f.resolve() for f in files}, []
    for folder in dict.fromkeys(f.parent for f in files):
        for entry in os.scandir(folder):
            if entry.is_symlink() and Path(entry.path).resolve() in wanted:
                names.append(Path(entry.path))
    return names


def elf_interpreter(executable: Path) -> Path | None:
    """The program loader an ELF executable names (PT_INTERP), e.g. /lib64/ld-linux-x86-64.so.2."""
    data = executable.read_bytes()[:1 << 16]
    if data[:4] != b"\x7fELF":
        return None
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if wide:
        phoff, = struct.unpack_from(order + "Q", data, 0x20)
        size, count = struct.unpack_from(order + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(order + "I", data, 0x1C)
        size, count = struct.unpack_from(order + "HH", data, 0x2A)
    for k in range(count):
        at = phoff + k * size
        kind, = struct.unpack_from(order + "I", data, at)
        if kind == 3:   # PT_INTERP
            offset, length = (struct.unpack_from(order + "Q", data, at + 8)[0],
                              struct.unpack_from(order + "Q", data, at + 32)[0]) if wide else (
                              struct.unpack_from(order + "I", data, at + 4)[0],
                              struct.unpack_from(order + "I", data, at + 16)[0])
            return Path(data[offset:offset + length].rstrip(b"\0").decode())
    return None


def _remove_tree(folder: Path):
    for cell in (folder / "cells").glob("*"):
        if cell.name.isdigit():
            kill_user(int(cell.name))
            remove_ipc(int(cell.name))
    shutil.rmtree(folder, ignore_errors=True)


def _remove_stale():
    """Trees of graders that are gone (killed mid-run): their processes, then their files."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid = folder.name[len(PREFIX):].split("-")[0]
        try:
            mine = folder.lstat().st_uid == 0      # the grader's, not a look-alike
        except FileNotFoundError:                # another grader got there first
            continue
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and mine:
            _remove_tree(folder)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
