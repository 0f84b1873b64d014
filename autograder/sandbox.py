"""How the grading worker is started: the argv, environment and rlimits of one worker.

``plan(worker_script, package_root, limits)`` returns a ``Launch``; ``processes.py`` runs it::

    launch = plan(WORKER, root, limits, companions=[FRAMES, PROGRAMS])
    subprocess.Popen(launch.argv + ["--requests", str(r), "--replies", str(w)], env=launch.env,
                     preexec_fn=launch.preexec, pass_fds=(r, w), ...)

``launch.user`` says who runs it: "nobody", or the grader's own user (see "Without the
sandbox"). ``launch.preexec`` is None on Linux: ``prlimit`` (util-linux) in the argv
sets the rlimits, so Popen needs no preexec_fn (unsafe in a threaded grader, and it
forces a full fork). Nothing here starts a process. ``probe_launch()`` is the one-time check
that the sandbox works on this machine: run it once, and pass ``sandbox=(its exit code
== 0)`` to ``plan``. ``unavailable_reason()`` says in one line why the sandbox cannot
even be planned.

The sandbox (bubblewrap, tested with bwrap 0.8)
-----------------------------------------------
The worker sees a new root holding only what it needs, all read-only:

- of ``/usr``, only the folder of the tools it runs (prlimit, setpriv, unshare), the
  program loader's, and each folder holding a shared library the grader has loaded
  (libc, numpy's, the locale: ``_system_folders``), with ``/bin``, ``/lib``, ``/lib64``
  as on the host (symlinks on a merged /usr);
- ``/python``: the interpreter, its ``lib`` folder (stdlib, lib-dynload, libpython), when
  it lives outside ``/usr`` (pyenv, conda); the interpreter relocates from its files, and
  ``LD_LIBRARY_PATH=/python/lib`` covers a libpython linked with an absolute RUNPATH;
- ``/site/numpy`` and ``/site/numpy.libs`` (the worker's ``--lib``);
- ``/submission``: the package root (``--root``), and ``/worker/<name>``: the worker script
  and its companions (the wire format and the kinds of case);
- a private ``/tmp`` (tmpfs, mode 1777, twice ``file_size_mb``: the only writable place),
  ``/proc`` of its own PID namespace and a minimal read-only ``/dev``.

Every site-packages and dist-packages folder inside those binds, at any depth, is covered
by an empty read-only tmpfs, so no ``.pth`` file, editable finder or installed copy of the
grader or the solution can be reached even by ``sys.path.append``. ``/etc``, ``/home``,
``/root``, the repository, the solution and the results are simply not there. Path
*names* of the bound sources still show in ``/proc/self/mountinfo`` (as for any bind)
and in ``/proc/1/cmdline`` (bwrap's own arguments); their other contents do not.

Namespaces: mount, PID, network (no interface but a down ``lo``), IPC, UTS and cgroup;
``--die-with-parent`` and ``--new-session``. Killing the bwrap process kills the
namespace's init, and with it every process of the namespace, even ``setsid`` ones.

The user, and why the process limit is set inside
-------------------------------------------------
RLIMIT_NPROC counts the processes of a real user, and the kernel ignores it for real
root. Since Linux 5.14 it is also counted per user namespace. So the worker must run as
a real unprivileged user, inside a user namespace of its own, and lower its limit there
(``prlimit`` from util-linux, just before Python): a fork bomb then stops at
``processes`` whatever runs beside it, concurrent workers included.

- Launched by a normal user, bwrap's user namespace does it: uid/gid 65534 inside are
  the grader's user outside. bwrap's init shares that namespace, so it gets one more.
- Launched by root, a bwrap user namespace would map 65534 to host root, which the
  limit ignores (and which would own every root-owned file bound in). So bwrap makes
  no user namespace; inside, ``setpriv`` becomes the real nobody (65534, no
  capabilities, no new privileges) and ``unshare --user`` gives it a namespace of its
  own to be counted in. Bound files must therefore be world-readable
  (``submission.make_readable``).

The other rlimits, set by the same prlimit: RLIMIT_AS = memory_mb,
RLIMIT_CPU (SIGXCPU, then SIGKILL a second later), RLIMIT_FSIZE (Python ignores SIGXFSZ:
a write fails with EFBIG), RLIMIT_CORE = 0. OPENBLAS/OMP/MKL threads are 1: one core
per worker, and OpenBLAS can fail at import under a low RLIMIT_AS with many threads.
Under bwrap a worker killed by signal N exits with 128 + N (``exit_signal`` decodes it).

Without the sandbox
-------------------
The same ``python -I -S worker`` with the same rlimits and environment. Who runs it,
and where, depends on who the grader is:

- root (Gradescope's Docker container, where bwrap usually cannot make namespaces):
  the worker runs jailed (``jail.py``): in a chroot holding copies of only what it needs,
  as a uid of its own, so that it sees none of the host's files and no other worker.
  Where root cannot jail (no CAP_SYS_CHROOT, say), it runs as root, and
  ``Launch.user_note`` says why.
- any other user: as that user, from the host's paths, with ``--lib`` a temporary
  folder of symlinks to numpy and numpy.libs only, so site-packages stays off
  ``sys.path``. There is no isolation at all: grade others' work only in the sandbox.

Memory
------
``memory_mb`` and one CPU bound the worker's whole process tree: with cgroups
(``cgroup.py``) where the grader may make them, and a process limit of ``processes``;
elsewhere each process's address space is memory_mb and the worker may start no other
process or thread (a process limit of one), except when it runs as the grader's own
user, which no process limit can single out. ``Launch.memory`` says which, for
results.json.

Note that ``python -I`` ignores PYTHON* variables: PYTHONHASHSEED and
PYTHONDONTWRITEBYTECODE only reach programs that do not run with ``-I``.
"""
from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import pwd
import resource
import shutil
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import cgroup, jail
from .assignment import Limits

NOBODY = 65534
PYTHON_INSIDE = Path("/python")
LIB_INSIDE = "/site"
ROOT_INSIDE = "/submission"
WORKER_DIR_INSIDE = Path("/worker")
TOOL_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"     # where the sandbox sees them too


@dataclass(frozen=True)
class WorkerPaths:
    """Where the worker finds things, as it sees them (inside the sandbox, or host paths)."""
    script: str
    lib: str        # --lib: holds numpy and numpy.libs only
    root: str       # --root: the package root


@dataclass(frozen=True)
class Launch:
    """One worker's command: ``Popen(argv, env=env, preexec_fn=preexec)``."""
    argv: list[str]                 # ends with the worker's arguments, so more can follow
    env: dict[str, str]             # the whole environment
    preexec: Callable[[], None] | None   # None: prlimit in argv sets the rlimits
    sandboxed: bool
    worker_paths: WorkerPaths
    user: str                       # who runs the worker: "nobody", "uid N", or the grader's user
    user_note: str = ""             # why a root grader's worker runs as root, if it does
    memory: str = ""                # how its memory is bounded (cgroup.describe)
    cell: jail.Cell | None = None   # a jailed worker's cell: close it once the worker is gone


@dataclass(frozen=True)
class _Runtime:
    """The host's Python and numpy, found once."""
    executable: Path                # the base interpreter (a venv's python resolves to it)
    prefix: Path
    lib_dir: Path                   # prefix/lib: stdlib, lib-dynload, libpython
    stdlib_dirs: tuple[Path, ...]   # stdlib and platstdlib (bound too if outside lib_dir)
    site_dirs: tuple[Path, ...]     # the base's site-packages, and a venv's
    shared: bool                    # links libpython from lib_dir
    numpy_dirs: tuple[Path, ...]    # numpy, and numpy.libs when the wheel has one


def plan(worker_script: Path, package_root: Path, limits=Limits(), *, sandbox: bool = True,
         worker_args: Sequence[str] = (), companions: Sequence[Path] = (),
         memory: cgroup.WorkerGroup | None = None) -> Launch:
    """The command that runs ``python -I -S worker_script --lib L --root R *worker_args``.

    Sandboxed when ``sandbox`` is true and ``unavailable_reason()`` is None; otherwise
    jailed or direct (see "Without the sandbox"; ``Launch.sandboxed`` is False).
    ``companions``: files and folders beside the script that it imports; the sandbox
    shows them beside it too, and nothing else of the script's folder. ``memory``: the
    worker's cgroup, which it joins first, if it has one.
    """
    worker_script, package_root = Path(worker_script), Path(package_root)
    companions = [Path(c) for c in companions]
    if any(c.parent != worker_script.parent for c in companions):
        raise ValueError("the worker's companions must sit beside the worker script")
    if not worker_script.is_file():
        raise ValueError(f"the worker script {worker_script} is not a file")
    if not package_root.is_dir():
        raise ValueError(f"the package root {package_root} is not a folder")
    sandboxed = sandbox and unavailable_reason() is None
    if not sandboxed and jail_problem() is None:
        return _jailed(worker_script, package_root, companions, worker_args, limits, memory)
    if sandboxed:
        paths = WorkerPaths(str(WORKER_DIR_INSIDE / worker_script.name), LIB_INSIDE, ROOT_INSIDE)
        binds = [(worker_script, paths.script), (package_root, paths.root)]
        binds += [(c, str(WORKER_DIR_INSIDE / c.name)) for c in companions]
    else:
        paths = WorkerPaths(str(worker_script.resolve()), str(_numpy_link_dir()),
                            str(package_root.resolve()))
        binds = []
    command = [paths.script, "--lib", paths.lib, "--root", paths.root, *worker_args]
    return _launch(command, binds, limits, paths, sandboxed, memory)


def jail_problem() -> str | None:
    """None when an unsandboxed worker is jailed here, else why not."""
    return jail.problem(_tool)


def probe_launch(limits=Limits(), *, sandbox: bool = True) -> Launch:
    """A worker-like start (``python -I -S -c 'import numpy'``, printing 2.0) that exits 0
    when this machine can run it. Run it once (processes.py) before planning sandboxed
    workers; the benchmark also times it with ``sandbox=False``."""
    code = "import sys; sys.path.insert(0, sys.argv[1]); import numpy; print(numpy.ones(2).sum())"
    sandboxed = sandbox and unavailable_reason() is None
    lib = LIB_INSIDE if sandboxed else str(_numpy_link_dir())
    return _launch(["-c", code, lib], [], limits, WorkerPaths("-c", lib, ""), sandboxed)


def _launch(command, binds, limits: Limits, paths: WorkerPaths, sandboxed: bool,
            memory=None) -> Launch:
    """``python -I -S *command`` in the sandbox (with ``binds``) or directly."""
    join = memory.join_argv() if memory else []
    if sandboxed:
        processes = _processes(limits, memory)
        return Launch(join + _bwrap_argv(binds, command, limits, processes), environment(), None,
                      True, paths, "nobody", memory=cgroup.describe(memory, limits.memory_mb, processes))
    python = [str(_runtime().executable), "-I", "-S", *command]
    env = environment(home=tempfile.gettempdir())
    user = _user_name()
    note = f"it cannot be jailed: {jail_problem()}" if os.geteuid() == 0 else ""
    # No process limit: it would count every process of the grader's own user.
    memory_note = cgroup.describe(memory, limits.memory_mb, None)
    if _tool("prlimit"):
        return Launch(join + [_tool("prlimit"), *_rlimit_options(limits), "--", *python], env,
                      None, False, paths, user, note, memory_note)
    return Launch(join + python, env, functools.partial(_set_rlimits, limits), False, paths, user,
                  note, memory_note)


def _processes(limits: Limits, memory) -> int:
    """The process limit: with no cgroup to bound them together, the worker alone."""
    return limits.processes if memory is not None else 1


def _jailed(worker_script, package_root, companions, worker_args, limits, memory) -> Launch:
    """The worker in a cell of the jail, as the cell's uid (jail.py)."""
    rt = _runtime()
    tree = jail.tree(rt)
    cell = jail.open_cell(tree, Path(package_root), [worker_script, *companions])
    paths = WorkerPaths(cell.inside(cell.worker / Path(worker_script).name), "/site",
                        cell.inside(cell.root))
    processes = _processes(limits, memory)
    argv = [*(memory.join_argv() if memory else []),
            _tool("prlimit"), *_rlimit_options(limits, processes), "--",
            _tool("chroot"), f"--userspec={cell.uid}:{cell.uid}", f"--groups={cell.uid}",
            str(tree.folder), str(rt.executable), "-I", "-S",
            paths.script, "--lib", paths.lib, "--root", paths.root, *worker_args]
    env = environment(home=cell.inside(cell.folder))      # read-only, as all of the jail
    if tree.library_path:
        env["LD_LIBRARY_PATH"] = tree.library_path
    return Launch(argv, env, None, False, paths, f"uid {cell.uid}", "",
                  cgroup.describe(memory, limits.memory_mb, processes), cell)


def unavailable_reason() -> str | None:
    """None when a sandboxed launch can be planned here, else why not, in one line.
    (Whether the kernel lets bwrap run is for ``probe_launch`` to find out.)"""
    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux (bubblewrap)"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    needed = ["prlimit", "setpriv", "unshare"] if os.geteuid() == 0 else ["prlimit"]
    missing = [name for name in needed if _tool(name) is None]
    if missing:
        return f"{', '.join(missing)} (util-linux) not found in /usr/bin or /bin"
    return None


# OpenBLAS settings that a machine may need (its kernel choice on some processors, where
# the default one crashes or is wrong); the worker computes with the grader's kernels,
# so that the reference's outputs and the student's come from the same arithmetic.
BLAS_SETTINGS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def environment(home: str = "/tmp") -> dict[str, str]:
    """The worker's whole environment: nothing inherited from the grader but its BLAS settings."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    env.update({name: os.environ[name] for name in BLAS_SETTINGS if name in os.environ})
    return env


def exit_signal(returncode: int | None, sandboxed: bool) -> int | None:
    """The signal that ended the worker, if one did (bwrap exits with 128 + N for it)."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if sandboxed and 128 < returncode < 128 + 65:
        return returncode - 128
    return None


# -- rlimits ------------------------------------------------------------------------------
def _rlimit_options(limits: Limits, processes: int | None = None) -> list[str]:
    """prlimit's options for the limits (soft:hard; the CPU's hard limit a second later)."""
    memory, files = limits.memory_mb << 20, limits.file_size_mb << 20
    # No POSIX message queue: outside an IPC namespace (the jail) it would outlive the worker.
    options = [f"--as={memory}:{memory}", f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
               f"--fsize={files}:{files}", "--core=0:0", "--msgqueue=0:0"]
    return options + ([f"--nproc={processes}:{processes}"] if processes else [])


def _set_rlimits(limits: Limits):
    """The same limits from a Popen preexec_fn, where prlimit is missing (not Linux)."""
    memory, files = limits.memory_mb << 20, limits.file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if hasattr(resource, "RLIMIT_MSGQUEUE"):
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))


# -- the bwrap command --------------------------------------------------------------------
def _bwrap_argv(binds, command, limits: Limits, processes: int) -> list[str]:
    """bwrap's options, then the drop to nobody (as root), prlimit and the interpreter.

    binds: (host path, path inside) pairs on top of the runtime's; command: the
    interpreter's arguments after ``-I -S``.
    """
    as_root = os.geteuid() == 0
    argv = [shutil.which("bwrap")]
    if as_root:   # no user namespace: it would map the sandbox to host root
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                 "--unshare-cgroup-try"]
    else:
        argv += ["--unshare-all", "--unshare-user", "--disable-userns",
                 "--uid", str(NOBODY), "--gid", str(NOBODY)]
    argv += ["--die-with-parent", "--new-session"]
    made = {"/"}
    argv += _system_dirs(made)
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(2 * limits.file_size_mb << 20), "--tmpfs", "/tmp"]
    python, python_binds, library_path = _python_binds(_runtime())
    numpy_binds = [(d, f"{LIB_INSIDE}/{d.name}") for d in _runtime().numpy_dirs]
    for host, inside in python_binds + numpy_binds + list(binds):
        argv += _parent_dirs(inside, made) + ["--ro-bind", str(host), str(inside)]
    for inside in _hidden_site_dirs(python_binds):
        argv += ["--tmpfs", inside, "--remount-ro", inside]
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp"]
    if library_path:
        argv += ["--setenv", "LD_LIBRARY_PATH", library_path]
    argv.append("--")
    if as_root:
        argv += [*_as_nobody(), _tool("unshare"), "--user", "--"]
    # Launched by a user, bwrap's init shares the worker's user namespace: one more.
    processes += 0 if as_root else 1
    argv += [_tool("prlimit"), *_rlimit_options(limits, processes), "--", python, "-I", "-S"]
    return argv + list(command)


def _as_nobody() -> list[str]:
    """setpriv's drop from root to the real nobody, before the command that follows."""
    return [_tool("setpriv"), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _system_dirs(made: set) -> list[str]:
    """The system folders read-only at their own paths, and /bin, /lib... as the host has
    them (symlinks into /usr, or folders)."""
    args = []
    for folder in _system_folders():
        args += _parent_dirs(folder, made) + ["--ro-bind", str(folder), str(folder)]
    for top in TOP_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


@functools.cache
def _system_folders() -> tuple[Path, ...]:
    """What the sandbox shows of /usr, and nothing more: the folder of the tools it runs,
    the program loader's, each folder holding a shared library that the grader has
    loaded (numpy's, libc, the locale), and the standard library of a Python installed
    under /usr. A vendor's folder elsewhere under /usr, with whatever Python it bundles,
    is simply not there."""
    import numpy  # noqa: F401  (loaded, so that its libraries are among the mapped files)

    rt = _runtime()
    folders = {Path(_tool(name)).parent.resolve() for name in ("prlimit", "setpriv", "unshare")
               if _tool(name)}
    loader = jail.elf_interpreter(rt.executable)
    if loader is not None:
        folders.add(loader.parent.resolve())
    in_usr = _under(rt.executable, Path("/usr"))
    bound_apart = (*rt.numpy_dirs, *rt.stdlib_dirs, *(() if in_usr else (rt.prefix,)))
    folders.update(path.resolve().parent for path in jail.loaded_files()
                   if not any(_under(path, d) for d in bound_apart))
    if in_usr:
        folders.update(rt.stdlib_dirs)
    system = [f for f in folders if _under(f, Path("/usr"))]
    return tuple(sorted(f for f in system if not any(f != g and _under(f, g) for g in system)))


@functools.cache
def _packages_folders(folder: Path) -> tuple[Path, ...]:
    """Every folder named *-packages under ``folder`` (not looking inside those)."""
    found = []
    for parent, dirs, _ in os.walk(folder):
        found += [Path(parent, d) for d in dirs if d.endswith("-packages")]
        dirs[:] = [d for d in dirs if not d.endswith("-packages")]
    return tuple(found)


def _parent_dirs(inside, made: set) -> list[str]:
    """--dir for each missing parent (bwrap would make them 0700: unreadable to nobody)."""
    args = []
    for parent in reversed(Path(inside).parents):
        if str(parent) not in made:
            made.add(str(parent))
            args += ["--dir", str(parent)]
    return args


def _python_binds(rt: _Runtime):
    """(interpreter inside, [(host, inside)], LD_LIBRARY_PATH or "") for the runtime."""
    if _under(rt.executable, Path("/usr")):   # in place: /usr is bound already
        return str(rt.executable), [], str(rt.lib_dir) if rt.shared else ""

    def inside(path):
        return PYTHON_INSIDE / path.relative_to(rt.prefix) if _under(path, rt.prefix) else None

    executable = inside(rt.executable) or PYTHON_INSIDE / "bin" / "python3"
    lib = inside(rt.lib_dir) or PYTHON_INSIDE / "lib"
    binds = [(rt.executable, executable), (rt.lib_dir, lib)]
    for extra in rt.stdlib_dirs:
        if not _under(extra, rt.lib_dir):
            binds.append((extra, inside(extra) or PYTHON_INSIDE / "lib" / extra.name))
    return str(executable), binds, str(lib) if rt.shared else ""


def _hidden_site_dirs(python_binds) -> list[str]:
    """Inside paths of every site-packages or dist-packages folder, at any depth, of the
    folders bound at their own paths and of the runtime's binds."""
    in_place = [*_system_folders(), *(Path(t) for t in TOP_DIRS if os.path.isdir(t)
                                     and not os.path.islink(t))]
    hosts = set()
    for folder in in_place + [source for source, _ in python_binds if source.is_dir()]:
        hosts.update(_packages_folders(folder))
    inside = set()
    for host in hosts:
        if any(_under(host, folder) for folder in in_place):
            inside.add(str(host))
        for source, target in python_binds:
            if _under(host, source):
                inside.add(str(Path(target) / host.relative_to(source)))
    return sorted(inside)


# -- the host side ------------------------------------------------------------------------
def _user_name() -> str:
    """The grader's own user's name (its uid when it has no name)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


@functools.cache
def _runtime() -> _Runtime:
    executable = Path(getattr(sys, "_base_executable", None) or sys.executable).resolve()
    prefix = Path(sys.base_prefix).resolve()
    lib_dir = Path(sysconfig.get_config_var("LIBDIR") or prefix / "lib").resolve()
    # The base interpreter's paths: in a venv, "platstdlib" would name the venv's lib.
    base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix,
                                     "installed_base": sys.base_prefix,
                                     "installed_platbase": sys.base_exec_prefix})
    stdlib = tuple(dict.fromkeys(Path(base[k]).resolve() for k in ("stdlib", "platstdlib")))
    site = tuple(dict.fromkeys(Path(p).resolve() for p in (
        base["purelib"], base["platlib"], sysconfig.get_path("purelib"))))
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"numpy is not installed for {sys.executable}; the worker needs it")
    numpy = Path(list(spec.submodule_search_locations)[0]).resolve()
    numpy_dirs = (numpy,) + tuple(d for d in [numpy.with_name("numpy.libs")] if d.is_dir())
    return _Runtime(executable, prefix, lib_dir, stdlib, site,
                    bool(sysconfig.get_config_var("Py_ENABLE_SHARED")), numpy_dirs)


@functools.cache
def _numpy_link_dir() -> Path:
    """A folder of symlinks to numpy (and numpy.libs) only, removed when the grader exits."""
    folder = Path(tempfile.mkdtemp(prefix="numpynn-worker-lib-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for target in _runtime().numpy_dirs:
        (folder / target.name).symlink_to(target, target_is_directory=True)
    folder.chmod(0o755)
    return folder


@functools.cache
def _tool(name: str) -> str | None:
    """A system program that the sandbox can see too (under /usr or /bin)."""
    return shutil.which(name, path=TOOL_PATH)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
