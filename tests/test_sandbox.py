"""The grading worker's sandbox: each test starts a small worker-like script with the argv,
environment and rlimits that ``autograder.sandbox.plan`` gives, the way processes.py does
(a pipe passed with ``pass_fds``, stdout and stderr captured), and checks what the
script could and could not do from inside.

The bubblewrap tests are skipped only when bwrap is missing and CI is not set; in CI a
missing bwrap fails them.
"""
import errno
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import cgroup, jail, sandbox
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parents[1]

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None and not os.environ.get("CI"),
    reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap (CI runs these)")

# The top of every probe script: read the worker's arguments as worker.py does, put
# --lib and --root first on sys.path, and report facts as JSON lines on the channel.
PRELUDE = '''\
import json, os, sys
_args = sys.argv[1:]
LIB, ROOT = _args[_args.index("--lib") + 1], _args[_args.index("--root") + 1]
CHANNEL = int(_args[_args.index("--channel") + 1])
sys.path[:0] = [LIB, ROOT]

def report(**facts):
    os.write(CHANNEL, (json.dumps(facts) + "\\n").encode())

def attempt(action):
    """What happens when trying ``action``: "ok" or the error's name and errno."""
    try:
        action()
        return "ok"
    except BaseException as error:
        return f"{type(error).__name__} {getattr(error, 'errno', '')}".strip()
'''


@dataclass
class Finished:
    launch: sandbox.Launch
    returncode: int
    output: str
    reports: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def facts(self):
        merged = {}
        for report in self.reports:
            merged.update(report)
        return merged


def package_root(folder: Path) -> Path:
    """A package root holding a dummy numpynn, readable by the sandbox's user."""
    root = folder / "root"
    (root / "numpynn").mkdir(parents=True)
    (root / "numpynn" / "__init__.py").write_text('WHO = "the dummy submission"\n')
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


_groups = {}        # id(launch) -> its memory cgroup, removed by finish()


def memory_group(limits: Limits):
    """A memory cgroup for one probe, or a skip where the grader can make none."""
    group = cgroup.WorkerGroup.create(limits.memory_mb)
    if group is None:
        pytest.skip("no memory cgroup can be made here: a worker may not fork at all "
                    "(test_without_a_cgroup_the_worker_cannot_fork)")
    return group


def start(folder: Path, body: str, limits=Limits(), *, sandboxed=True, params=None, forks=False):
    """Start the probe (``params`` become its PARAMS); returns (launch, process, channel).
    forks: give it a memory cgroup, so that it may run ``limits.processes`` processes."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "probe.py"
    script.write_text(PRELUDE + f"PARAMS = json.loads({json.dumps(params)!r})\n"
                      + textwrap.dedent(body))
    script.chmod(0o644)
    group = memory_group(limits) if forks else None
    launch = sandbox.plan(script, package_root(folder), limits, sandbox=sandboxed, memory=group)
    _groups[id(launch)] = group
    if sandboxed:
        assert launch.sandboxed, sandbox.unavailable_reason()
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            launch.argv + ["--channel", str(write_end)], env=launch.env,
            preexec_fn=launch.preexec, pass_fds=(write_end,), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=not launch.sandboxed)
    finally:
        os.close(write_end)
    return launch, process, read_end


def kill(launch, process):
    if launch.sandboxed:
        process.kill()
    else:
        os.killpg(process.pid, signal.SIGKILL)


def finish(launch, process, read_end, timeout=30.0) -> Finished:
    """Read the channel and the output until both close, never blocking past ``timeout``."""
    began, chunks, output = time.monotonic(), [], []
    streams = {read_end: chunks, process.stdout.fileno(): output}
    try:
        while streams:
            left = began + timeout - time.monotonic()
            if left <= 0:
                kill(launch, process)
                pytest.fail(f"the probe ran over {timeout} s; output: {b''.join(output)!r}")
            for fd in select.select(list(streams), [], [], left)[0]:
                data = os.read(fd, 1 << 16)
                if data:
                    streams[fd].append(data)
                else:
                    del streams[fd]
        returncode = process.wait(timeout=max(1.0, began + timeout - time.monotonic()))
    finally:
        os.close(read_end)
        process.stdout.close()
    if launch.cell is not None:
        launch.cell.close()
    if _groups.get(id(launch)) is not None:
        _groups.pop(id(launch)).remove()
    lines = b"".join(chunks).decode().splitlines()
    return Finished(launch, returncode, b"".join(output).decode(errors="replace"),
                    [json.loads(line) for line in lines], time.monotonic() - began)


def run(folder: Path, body: str, limits=Limits(), *, sandboxed=True, params=None,
        timeout=30.0, forks=False) -> Finished:
    return finish(*start(folder, body, limits, sandboxed=sandboxed, params=params, forks=forks),
                  timeout=timeout)


def namespace_members(pid_ns: str) -> list[int]:
    """Host pids of the live processes (zombies aside) in the PID namespace ``pid_ns``."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            if (entry.isdigit() and os.readlink(f"/proc/{entry}/ns/pid") == pid_ns
                    and status(int(entry))["State"][0] != "Z"):
                members.append(int(entry))
        except OSError:
            pass
    return members


def status(pid: int) -> dict:
    """/proc/PID/status as a dict of strings."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def program(pid: int) -> str:
    """The name of the program a process runs (its argv[0]'s)."""
    return Path(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()).name


def sandbox_pid_ns(bwrap_pid: int) -> str:
    """The PID namespace of bwrap's child, the sandbox's init."""
    children = Path(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children").read_text().split()
    return os.readlink(f"/proc/{children[0]}/ns/pid")


def host_site_dirs() -> list[str]:
    """Every site-packages or dist-packages folder of this machine's Pythons."""
    found = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    for base in ("/usr/lib", "/usr/local/lib"):
        found.update(str(p) for p in Path(base).glob("python3*/*-packages"))
    return sorted(p for p in found if Path(p).is_dir())


# -- one survey of the sandbox from inside, asserted on by the tests below ------------------
SURVEY = r'''
import resource, socket

def read(path):
    if os.path.isdir(path):
        os.listdir(path)
    else:
        open(path, "rb").read(1)

def cmdline(pid):
    return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode()

def connect(address):
    with socket.socket() as s:
        s.settimeout(2)
        s.connect(address)

def write(folder):
    path = os.path.join(folder, "written-by-the-worker")
    with open(path, "w") as f:
        f.write("x")
    os.remove(path)

import numpy
report(numpy=float((numpy.arange(6.0).reshape(2, 3) @ numpy.ones(3)).sum()),
       numpy_file=numpy.__file__)
import numpynn
report(numpynn=[numpynn.WHO, numpynn.__file__],
       autograder=attempt(lambda: __import__("autograder")),
       solution_numpynn=attempt(lambda: __import__("numpynn.module")),
       uid=[os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],
       env=dict(os.environ), sys_path=sys.path)
report(host_paths={path: attempt(lambda: read(path)) for path in PARAMS["host_paths"]})
walk, here = {}, os.path.dirname(os.path.abspath(__file__))
while True:
    walk[here] = sorted(os.listdir(here))
    if here == "/":
        break
    here = os.path.dirname(here)
report(walk=walk)

ppid = os.getppid()
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
report(pid=os.getpid(), ppid=ppid, pids=pids,
       cmdlines={p: cmdline(p) for p in pids if attempt(lambda: cmdline(p)) == "ok"},
       parent_environ=attempt(lambda: open(f"/proc/{ppid}/environ", "rb").read()),
       parent_root=attempt(lambda: os.listdir(f"/proc/{ppid}/root")),
       parent_cwd=attempt(lambda: os.readlink(f"/proc/{ppid}/cwd")))
report(localhost=attempt(lambda: connect(("127.0.0.1", PARAMS["port"]))),
       internet=attempt(lambda: connect(("8.8.8.8", 53))),
       interfaces=[name for _, name in socket.if_nameindex()])
report(writes={d: attempt(lambda: write(d)) for d in PARAMS["write_to"]},
       sysctl=attempt(lambda: open("/proc/sys/kernel/hostname", "w").write("x")))
import glob
inside = [p for pattern in ("/python/lib/python3*/*-packages", "/usr/lib/python3*/*-packages",
                            "/usr/local/lib/python3*/*-packages") for p in glob.glob(pattern)]
report(site_dirs={d: sorted(os.listdir(d)) if os.path.isdir(d) else "absent"
                  for d in PARAMS["site_dirs"]},
       site_dirs_inside={d: sorted(os.listdir(d)) for d in inside})
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\t" in line)
report(caps=status["CapEff"].strip(), no_new_privs=status["NoNewPrivs"].strip(),
       nproc=resource.getrlimit(resource.RLIMIT_NPROC))
'''
WRITE_TO = ["/", "/usr", "/usr/lib", "/python", "/python/lib", "/site", "/site/numpy",
            "/submission", "/submission/numpynn", "/worker", "/dev", "/dev/shm", "/proc", "/tmp"]
SURVEY_PROCESSES = 16


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """What a probe saw from inside the sandbox: one run for the tests below."""
    folder = tmp_path_factory.mktemp("survey")
    grader_dirs = [folder / "fixtures", folder / "results"]   # what the grader keeps beside
    for made in grader_dirs:
        made.mkdir()
        (made / "secret.json").write_text("{}")
    marker = Path(tempfile.gettempdir()) / f"numpynn-host-marker-{os.getpid()}"
    marker.write_text("a file in the host's temp folder")
    host_paths = sorted({"/etc/shadow", "/etc/passwd", "/root", "/home", str(Path.home()),
                         "/usr/share", "/usr/local", "/usr/lib/python3",    # /usr: only what it needs
                         str(REPO), str(REPO / "autograder"), str(REPO / "solution"),
                         str(REPO / "autograder" / "mnist_test.npz"), str(folder / "root"),
                         str(marker), *map(str, grader_dirs)})
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            params = {"host_paths": host_paths, "port": listener.getsockname()[1],
                      "site_dirs": host_site_dirs(), "write_to": WRITE_TO}
            return run(folder, SURVEY, Limits(processes=SURVEY_PROCESSES), params=params)
    finally:
        marker.unlink()


@pytest.fixture(scope="module")
def facts(survey):
    assert survey.returncode == 0, survey.output
    return survey.facts


@needs_bwrap
def test_numpy_imports_and_computes_inside(facts):
    assert facts["numpy"] == 15.0
    assert facts["numpy_file"] == "/site/numpy/__init__.py"


@needs_bwrap
def test_numpynn_is_the_submission_and_the_grader_is_not_importable(facts):
    assert facts["numpynn"] == ["the dummy submission", "/submission/numpynn/__init__.py"]
    assert facts["autograder"] == "ModuleNotFoundError"
    assert facts["solution_numpynn"] == "ModuleNotFoundError"   # the dummy has no module.py
    assert not [p for p in facts["sys_path"] if "packages" in p], facts["sys_path"]


@needs_bwrap
def test_host_files_are_absent(facts):
    absent = {path: outcome for path, outcome in facts["host_paths"].items()
              if outcome.startswith(("FileNotFoundError", "PermissionError"))}
    assert absent == facts["host_paths"], {p: o for p, o in facts["host_paths"].items()
                                           if p not in absent}


@needs_bwrap
def test_walking_up_from_the_worker_finds_nothing_of_the_grader(facts):
    walk = facts["walk"]
    assert walk["/worker"] == ["probe.py"]
    assert set(walk["/"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "dev",
                              "proc", "tmp", "python", "site", "submission", "worker"}


@needs_bwrap
def test_host_site_packages_are_hidden(facts):
    assert facts["site_dirs"], "no host site-packages folder to look for"
    for folder, listing in facts["site_dirs"].items():
        assert listing in ([], "absent"), f"{folder} shows {listing[:5]}"
    # Those the sandbox shows (a runtime outside /usr has one beside its stdlib) are empty.
    for folder, listing in facts["site_dirs_inside"].items():
        assert listing == [], f"{folder} shows {listing[:5]}"


@needs_bwrap
def test_a_planted_site_packages_folder_at_any_depth_is_hidden(tmp_path, monkeypatch):
    if not os.access("/var/tmp", os.W_OK):
        pytest.skip("/var/tmp is not writable: no folder outside /tmp to plant one in")
    # A vendor's SDK bundling a Python, deep in a system folder the sandbox shows (here
    # one outside /tmp, which the sandbox covers with its own).
    vendor = Path(tempfile.mkdtemp(prefix="numpynn-vendor-sdk-", dir="/var/tmp"))
    try:
        planted = vendor / "platform" / "bundled" / "lib" / "python3.12" / "site-packages"
        planted.mkdir(parents=True)
        (planted / "autograder.py").write_text("STOLEN = True\n")
        (vendor / "platform" / "README").write_text("visible")
        subprocess.run(["chmod", "-R", "go=rX", str(vendor)], check=True)
        shown = sandbox._system_folders()
        monkeypatch.setattr(sandbox, "_system_folders", lambda: (*shown, vendor))
        finished = run(tmp_path, '''
            report(planted=attempt(lambda: os.listdir(PARAMS["planted"])) == "ok"
                   and sorted(os.listdir(PARAMS["planted"])),
                   readme=open(PARAMS["readme"]).read())
            ''', params={"planted": str(planted), "readme": str(vendor / "platform" / "README")})
    finally:
        shutil.rmtree(vendor)
    assert finished.returncode == 0, finished.output
    assert finished.facts == {"planted": [], "readme": "visible"}


@needs_bwrap
def test_proc_shows_only_the_sandbox(facts):
    assert facts["ppid"] == 1 and facts["pid"] < 10
    assert facts["pids"] == [1, facts["pid"]]        # the sandbox's init and the worker
    assert Path(facts["cmdlines"]["1"]).name == "bwrap"
    assert not [c for c in facts["cmdlines"].values() if "pytest" in c]
    # The parent (bwrap's init) is root's when launched by root: nothing to read there.
    # Launched by a user, it is the sandbox's own and sees the same sandbox.
    if facts["parent_environ"] != "PermissionError 13":
        assert facts["parent_root"] == "ok"
    assert facts["parent_cwd"] in ("PermissionError 13", "ok")


@needs_bwrap
def test_no_network(facts):
    assert facts["localhost"] != "ok"
    assert facts["internet"] != "ok"
    assert facts["interfaces"] == ["lo"]


@needs_bwrap
def test_runs_as_nobody_with_no_privileges(facts):
    assert facts["uid"][:4] == [65534] * 4                 # uid, euid, gid, egid
    assert facts["uid"][4] in ([], [65534])               # supplementary groups
    assert int(facts["caps"], 16) == 0
    # No cgroup in the survey: the worker alone (+ bwrap's init, as a user).
    nproc = 1 + (0 if os.geteuid() == 0 else 1)
    assert facts["nproc"] == [nproc, nproc]


@needs_bwrap
def test_environment_is_cleared(facts, survey):
    argv = survey.launch.argv
    library_path = argv[argv.index("LD_LIBRARY_PATH") + 1] if "LD_LIBRARY_PATH" in argv else None
    added_by_bwrap = {"PWD": "/tmp", "LD_LIBRARY_PATH": library_path}   # --chdir, --setenv
    env = {k: v for k, v in facts["env"].items() if added_by_bwrap.get(k) != v}
    assert env == sandbox.environment() == survey.launch.env


@needs_bwrap
def test_only_tmp_is_writable(facts):
    writes = facts["writes"]
    assert writes.pop("/tmp") == "ok"
    refused = ("OSError 30", "PermissionError 13", "FileNotFoundError 2")
    assert {d: w for d, w in writes.items() if not w.startswith(refused)} == {}
    assert facts["sysctl"] != "ok"


# -- limits, in the sandbox and without it ---------------------------------------------------
both_ways = pytest.mark.parametrize("sandboxed", [
    pytest.param(True, id="sandboxed", marks=needs_bwrap), pytest.param(False, id="direct")])


@both_ways
def test_memory_bomb_gets_memory_error(tmp_path, sandboxed):
    finished = run(tmp_path, '''
        import numpy
        def kind(action):
            try:
                action()
                return "ok"
            except MemoryError:
                return "MemoryError"
        report(small=kind(lambda: numpy.ones(20 << 17)),          # 20 MB: within the limit
               huge_array=kind(lambda: numpy.ones(1 << 30)),      # 8 GB
               huge_bytes=kind(lambda: bytearray(1 << 30)))       # 1 GB
        ''', Limits(memory_mb=256), sandboxed=sandboxed)
    assert finished.returncode == 0, finished.output
    assert finished.facts == {"small": "ok", "huge_array": "MemoryError",
                              "huge_bytes": "MemoryError"}


@both_ways
def test_cpu_loop_is_killed_by_the_cpu_limit(tmp_path, sandboxed):
    finished = run(tmp_path, '''
        report(looping=True)
        while True:
            pass
        ''', Limits(cpu_seconds=1), sandboxed=sandboxed, timeout=20)
    assert finished.facts == {"looping": True}
    assert sandbox.exit_signal(finished.returncode, sandboxed) in (signal.SIGXCPU, signal.SIGKILL)
    assert finished.seconds < 10


@both_ways
def test_large_write_fails_with_efbig(tmp_path, sandboxed):
    finished = run(tmp_path, '''
        import tempfile
        def write_mb(n):
            with tempfile.TemporaryFile() as f:
                f.write(b"x" * (n << 20))
                f.flush()
        report(small=attempt(lambda: write_mb(1)), large=attempt(lambda: write_mb(3)))
        ''', Limits(file_size_mb=2), sandboxed=sandboxed)
    assert finished.returncode == 0, finished.output
    if not sandboxed and sandbox.jail_problem() is None:      # a jailed worker writes nowhere
        assert finished.facts == {"small": "FileNotFoundError 2", "large": "FileNotFoundError 2"}
    else:
        assert finished.facts == {"small": "ok", "large": f"OSError {errno.EFBIG}"}


@both_ways
def test_without_a_cgroup_the_worker_cannot_fork(tmp_path, sandboxed):
    if not sandboxed and sandbox.jail_problem() is not None and os.geteuid() != 0:
        # The worker runs as the grader's own user: no process limit can single it out.
        launch = sandbox.plan(_script(tmp_path), package_root(tmp_path), sandbox=False)
        assert launch.memory == ("1024 MB of address space per process (no cgroup here, and "
                                 "no process limit for the grader's own user)")
        return
    finished = run(tmp_path, """
        import threading
        report(fork=attempt(os.fork), thread=attempt(threading.Thread(target=int).start))
        """, Limits(processes=8), sandboxed=sandboxed)
    assert finished.returncode == 0, finished.output
    assert finished.facts == {"fork": "BlockingIOError 11", "thread": "RuntimeError"}


@both_ways
def test_with_a_cgroup_the_workers_processes_share_memory_mb(tmp_path, sandboxed):
    # Each child alone is within its address space (300 of 400 MB); four are not, together.
    finished = run(tmp_path, """
        import time, numpy
        children = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                block = numpy.ones(300 << 17)       # 300 MB, touched
                time.sleep(1)
                os._exit(0)
            children.append(pid)
        codes = [os.waitpid(pid, 0)[1] for pid in children]
        report(killed=sum(os.WIFSIGNALED(c) and os.WTERMSIG(c) == 9 for c in codes))
        """, Limits(processes=8, memory_mb=400), sandboxed=sandboxed, forks=True, timeout=60)
    assert finished.returncode == 0, finished.output
    assert finished.facts["killed"] >= 3


@both_ways
def test_with_a_cgroup_the_workers_processes_share_one_cpu(tmp_path, sandboxed):
    # Three children spin for 1.5 s of wall time on a machine of at least 2 cores: without
    # the quota they would take 3 s of CPU or more between them.
    finished = run(tmp_path, """
        import time
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                began = time.monotonic()
                while time.monotonic() - began < 1.5:
                    pass
                report(cpu=time.process_time())
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        """, Limits(processes=8), sandboxed=sandboxed, forks=True, timeout=60)
    assert finished.returncode == 0, finished.output
    used = sum(r["cpu"] for r in finished.reports)
    assert len(finished.reports) == 3 and used <= 1.5 * 1.2, used


@needs_bwrap
def test_fork_bomb_is_contained(tmp_path):
    limit = 8
    finished = run(tmp_path, '''
        import time
        first, refused = os.getpid(), 0
        for _ in range(6):              # at most 2**6 processes even if nothing stopped it
            try:
                os.fork()               # parent and child both go on forking
            except BlockingIOError:
                refused += 1
        time.sleep(0.5)                 # all alive together
        report(refused=refused, seen=len([p for p in os.listdir("/proc") if p.isdigit()]))
        time.sleep(0.5)
        if os.getpid() != first:
            os._exit(0)
        ''', Limits(processes=limit), timeout=20, forks=True)
    assert finished.returncode == 0, finished.output
    processes = len(finished.reports)
    assert 2 <= processes <= limit, finished.reports
    assert sum(r["refused"] for r in finished.reports) > 0
    assert max(r["seen"] for r in finished.reports) <= limit + 1     # + bwrap's init


@needs_bwrap
def test_concurrent_workers_each_have_their_own_process_limit(tmp_path):
    limit = 4
    body = '''
        import time
        children = 0
        for _ in range(10):
            try:
                if os.fork() == 0:
                    time.sleep(1.5)
                    os._exit(0)
                children += 1
            except BlockingIOError:
                break
        report(children=children)
        time.sleep(1.5)
        '''
    started = [start(tmp_path / str(i), body, Limits(processes=limit), forks=True) for i in range(2)]
    reports = [finish(*s).reports for s in started]
    assert reports == [[{"children": limit - 1}]] * 2


@needs_bwrap
def test_killing_bwrap_takes_down_a_setsid_grandchild(tmp_path):
    launch, process, channel = start(tmp_path, '''
        import time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:          # detached, and holding stdout and the channel
                report(grandchild=os.getpid())
                time.sleep(60)
            os._exit(0)
        time.sleep(60)
        ''', forks=True)
    try:
        ready, _, _ = select.select([channel], [], [], 20)
        assert ready, "the grandchild never reported"
        assert "grandchild" in json.loads(os.read(channel, 1 << 16).decode().splitlines()[0])
        namespace = sandbox_pid_ns(process.pid)
        members = namespace_members(namespace)
        assert len(members) >= 3                        # init, worker, grandchild
        # Seen from the host, the Python processes' real uid is nobody's when root
        # launched them (the user's otherwise): never root.
        real_uids = {int(status(pid)["Uid"].split()[0])
                     for pid in members if program(pid).startswith("python")}
        assert real_uids == {65534 if os.geteuid() == 0 else os.getuid()}
    finally:
        process.kill()                                  # what processes.py does at a timeout
    killed = time.monotonic()
    streams = [channel, process.stdout.fileno()]
    while streams:
        ready, _, _ = select.select(streams, [], [], 5)
        assert ready, "a pipe stayed open after bwrap was killed"
        streams = [fd for fd in streams if fd not in ready or os.read(fd, 1 << 16)]
    assert time.monotonic() - killed < 5
    os.close(channel)
    process.stdout.close()
    process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while namespace_members(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert namespace_members(namespace) == []


# -- without bubblewrap ----------------------------------------------------------------------
def test_direct_worker_is_isolated_from_site_packages(tmp_path):
    finished = run(tmp_path, '''
        import numpy, numpynn
        report(numpy=float(numpy.ones(3).sum()), numpynn=numpynn.WHO,
               autograder=attempt(lambda: __import__("autograder")),
               lib=sorted(os.listdir(LIB)), env=dict(os.environ),
               site=[p for p in sys.path if "packages" in p],
               flags=[sys.flags.isolated, sys.flags.no_site])
        ''', sandboxed=False)
    assert finished.returncode == 0, finished.output
    assert finished.launch.sandboxed is False
    assert finished.facts["numpy"] == 3.0
    assert finished.facts["numpynn"] == "the dummy submission"
    assert finished.facts["autograder"] == "ModuleNotFoundError"
    assert set(finished.facts["lib"]) <= {"numpy", "numpy.libs"}
    assert finished.facts["site"] == [] and finished.facts["flags"] == [1, 1]
    assert finished.facts["env"] == finished.launch.env


def test_without_bwrap_on_path_plan_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))         # a PATH with no bwrap on it
    assert sandbox.unavailable_reason() == "bubblewrap (bwrap) is not installed"
    script = _script(tmp_path)
    launch = sandbox.plan(script, package_root(tmp_path))
    assert launch.sandboxed is False
    at = next(i for i, arg in enumerate(launch.argv) if arg.endswith("/" + script.name))
    assert launch.argv[at - 2:at] == ["-I", "-S"]


RLIMITS = """
import resource
report(**{name: resource.getrlimit(getattr(resource, "RLIMIT_" + name))
          for name in ("AS", "CPU", "FSIZE", "CORE")})
"""


def test_preexec_fallback_sets_the_same_rlimits_as_prlimit(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "jail_problem", lambda: "the direct path is under test")
    limits = Limits(memory_mb=320, cpu_seconds=7, file_size_mb=3)
    by_prlimit = run(tmp_path / "prlimit", RLIMITS, limits, sandboxed=False)
    assert by_prlimit.launch.preexec is None, "prlimit (util-linux) was not found"
    launch = by_prlimit.launch
    argv = launch.argv[launch.argv.index("-I") - 1:]          # the interpreter on, no prlimit
    read_end, write_end = os.pipe()
    process = subprocess.Popen(argv + ["--channel", str(write_end)], env=launch.env,
                               preexec_fn=functools.partial(sandbox._set_rlimits, limits),
                               pass_fds=(write_end,), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    os.close(write_end)
    by_preexec = finish(launch, process, read_end)
    assert by_preexec.facts == by_prlimit.facts == {
        "AS": [320 << 20] * 2, "CPU": [7, 8], "FSIZE": [3 << 20] * 2, "CORE": [0, 0]}


# -- without bubblewrap, as root: the worker is jailed ------------------------------------------
needs_jail = pytest.mark.skipif(
    sandbox.jail_problem() is not None,
    reason=f"a worker is jailed only by root with CAP_SYS_CHROOT ({sandbox.jail_problem()})")

# A secret as the grader's machine may hold it: in a folder and a file open to all.
JAILED = r'''
import resource, numpy, signal
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines()
              if ":\t" in line) if os.path.exists("/proc/self/status") else {}
report(uid=[os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],
       nproc=resource.getrlimit(resource.RLIMIT_NPROC), numpy=float(numpy.arange(4.0).sum()),
       top=sorted(os.listdir("/")), proc=os.path.exists("/proc/self"),
       secret=attempt(lambda: open(PARAMS["secret"]).read()),
       repository=attempt(lambda: os.listdir(PARAMS["repository"])),
       write_package_root=attempt(lambda: open(os.path.join(ROOT, "new.py"), "w").close()),
       write_home=attempt(lambda: open(os.path.join(os.environ["HOME"], "x"), "w").close()),
       temp_file=attempt(lambda: __import__("tempfile").TemporaryFile()),
       signal_grader=attempt(lambda: os.kill(PARAMS["grader"], 0)))
'''


@needs_jail
def test_a_jailed_worker_runs_as_a_user_of_its_own_and_sees_no_host_file(tmp_path):
    open_to_all = Path(tempfile.mkdtemp(prefix="numpynn-open-"))
    try:
        open_to_all.chmod(0o755)
        secret = open_to_all / "secret.json"
        secret.write_text("the expected outputs")
        finished = run(tmp_path / "w", JAILED, Limits(processes=8), sandboxed=False,
                       params={"secret": str(secret), "repository": str(REPO), "grader": os.getpid()})
    finally:
        shutil.rmtree(open_to_all)
    assert finished.returncode == 0, finished.output
    facts, uid = finished.facts, int(finished.launch.user.split()[1])
    assert uid in jail.WORKER_UIDS and finished.launch.cell.uid == uid
    assert facts["uid"] == [uid, uid, uid, uid, [uid]]
    assert facts["numpy"] == 6.0
    assert facts["nproc"] == [1, 1]              # no cgroup given: the worker alone
    assert set(facts["top"]) <= {"cells", "lib", "lib64", "root", "site", "usr"}
    assert facts["proc"] is False
    assert facts["secret"] == facts["repository"] == "FileNotFoundError 2"
    assert facts["write_package_root"] == "PermissionError 13"
    assert facts["write_home"] == "PermissionError 13"           # nothing is writable
    assert facts["temp_file"] == "FileNotFoundError 2"
    assert facts["signal_grader"] == "PermissionError 1"


@needs_jail
def test_jailed_workers_cannot_reach_each_other_and_leave_nothing(tmp_path):
    victim_launch, victim, channel = start(tmp_path / "victim", '''
        import time
        open(os.path.join(ROOT, "numpynn", "__init__.py")).read()
        try:
            if os.fork() == 0:
                os.setsid()       # out of the worker's session: only its uid gives it away
                time.sleep(120)
            forked = True
        except BlockingIOError:   # no cgroup here: no second process
            forked = False
        report(pid=os.getpid(), root=ROOT, forked=forked)
        time.sleep(120)
        ''', Limits(processes=4), sandboxed=False, forks=cgroup.available())
    try:
        ready, _, _ = select.select([channel], [], [], 20)
        assert ready, "the victim never reported"
        victim_facts = json.loads(os.read(channel, 1 << 16).decode().splitlines()[0])
        thief = run(tmp_path / "thief", '''
            report(kill=attempt(lambda: os.kill(PARAMS["pid"], signal.SIGKILL)),
                   cells=sorted(os.listdir("/cells")),
                   code=attempt(lambda: open(PARAMS["root"] + "/numpynn/__init__.py").read()))
            '''.replace("signal.SIGKILL", "9"), sandboxed=False, params=victim_facts)
        assert thief.facts["kill"] == "PermissionError 1"
        assert thief.facts["code"] == "PermissionError 13"
        assert str(victim_launch.cell.uid) in thief.facts["cells"]   # its name, not its contents
        assert victim.poll() is None
        uid = victim_launch.cell.uid
        assert len(jail._processes_of(uid)) == 1 + victim_facts["forked"]
    finally:
        kill(victim_launch, victim)
        os.close(channel)
        victim.stdout.close()
        victim.wait(timeout=10)
        victim_launch.cell.close()
    assert jail._processes_of(uid) == []            # the setsid child too
    assert not victim_launch.cell.folder.exists()


def ipc_owned_by(uid):
    """(kind, id) of every System V IPC object that ``uid`` owns."""
    found = []
    for kind in ("shm", "msg", "sem"):
        header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        for row in rows:
            fields = dict(zip(header.split(), row.split()))
            if fields["uid"] == str(uid):
                found.append((kind, row.split()[1]))
    return found


@needs_jail
def test_a_jailed_workers_ipc_objects_go_with_its_cell(tmp_path):
    launch, process, channel = start(tmp_path, '''
        import ctypes, time
        libc = ctypes.CDLL(None, use_errno=True)
        ids = [libc.shmget(0, 1 << 20, 0o1000 | 0o666), libc.msgget(0, 0o1000 | 0o666),
               libc.semget(0, 1, 0o1000 | 0o666)]
        queue = libc.mq_open(b"/numpynn-test-%d" % os.getpid(), os.O_RDWR | os.O_CREAT, 0o666, None)
        report(ids=ids, posix_queue=queue)
        time.sleep(60)
        ''', sandboxed=False)
    try:
        ready, _, _ = select.select([channel], [], [], 20)
        assert ready, "the probe never reported"
        facts = json.loads(os.read(channel, 1 << 16).decode())
        assert min(facts["ids"]) >= 0
        assert facts["posix_queue"] == -1            # RLIMIT_MSGQUEUE 0: none can be made
        uid = launch.cell.uid
        assert sorted(kind for kind, _ in ipc_owned_by(uid)) == ["msg", "sem", "shm"]
    finally:
        kill(launch, process)
        finish(launch, process, channel)           # closes the cell
    assert ipc_owned_by(uid) == []


KILLED_GRADER = r'''
import sys, time, subprocess
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from autograder import sandbox
launch = sandbox.plan(Path(sys.argv[2]), Path(sys.argv[3]), sandbox.Limits(), sandbox=False)
subprocess.Popen(launch.argv + ["--channel", "1"], env=launch.env, start_new_session=True)
print(launch.cell.folder, launch.cell.uid, flush=True)
time.sleep(120)
'''


@needs_jail
def test_the_next_grader_clears_what_a_killed_one_left(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PRELUDE + "import time\nreport(up=1)\ntime.sleep(120)\n")
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER, str(REPO), str(script),
                               str(package_root(tmp_path))], stdout=subprocess.PIPE, text=True)
    folder, uid = grader.stdout.readline().split()
    deadline = time.monotonic() + 20
    while not jail._processes_of(int(uid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jail._processes_of(int(uid)), "the jailed worker never started"
    grader.kill()                               # no atexit: its tree and worker stay
    grader.wait()
    grader.stdout.close()
    tree = Path(folder).parents[1]
    assert tree.exists() and jail._processes_of(int(uid))
    jail._build.cache_clear()
    jail.tree(sandbox._runtime())               # the next grader's first jail
    assert not tree.exists()
    assert jail._processes_of(int(uid)) == []


DRIVER = r'''
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from autograder import sandbox
launch = sandbox.plan(Path(sys.argv[2]), Path(sys.argv[3]), sandbox.Limits(), sandbox=False)
print(json.dumps({"user": launch.user, "note": launch.user_note}))
'''


@needs_jail
def test_root_that_cannot_chroot_runs_the_worker_as_root_and_says_why(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PRELUDE)
    setpriv = shutil.which("setpriv")
    done = subprocess.run([setpriv, "--bounding-set=-sys_chroot", "--", sys.executable, "-c", DRIVER,
                           str(REPO), str(script), str(package_root(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "user": "root", "note": "it cannot be jailed: root here lacks CAP_SYS_CHROOT, which "
                                "jailing a worker needs"}


@needs_bwrap
def test_probe_launch_succeeds_here():
    launch = sandbox.probe_launch()
    assert launch.sandboxed, sandbox.unavailable_reason()
    done = subprocess.run(launch.argv, env=launch.env, preexec_fn=launch.preexec,
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "2.0\n"), done.stderr


# -- plain checks ----------------------------------------------------------------------------
def _script(folder: Path) -> Path:
    script = folder / "worker.py"
    script.write_text("")
    return script


def test_bad_paths_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match=r"^the worker script .*missing.py is not a file$"):
        sandbox.plan(tmp_path / "missing.py", tmp_path)
    with pytest.raises(ValueError, match=r"^the package root .*nowhere is not a folder$"):
        sandbox.plan(_script(tmp_path), tmp_path / "nowhere")


@pytest.mark.parametrize("bad", [{"memory_mb": 0}, {"processes": True}, {"cpu_seconds": 1.5},
                                 {"output_kb": -1}, {"memory_mb": "1g"}])
def test_bad_limits_are_one_line_errors(bad):
    name, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=rf"^limits\.{name} must be an integer >= \d+, got "):
        Limits(**bad)


@pytest.mark.parametrize("bad", [{"case_seconds": 0}, {"budget_seconds": "8 min"}, {"retry_seconds": None}])
def test_bad_wall_clocks_are_one_line_errors(bad):
    name, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=rf"^limits\.{name} must be a number >= [\d.]+, got "):
        Limits(**bad)


def test_the_sandbox_and_the_assignment_share_one_limits():
    from autograder import assignment
    assert sandbox.Limits is assignment.Limits


def test_exit_signal_reads_bwrap_and_popen_codes():
    assert sandbox.exit_signal(128 + signal.SIGXCPU, sandboxed=True) == signal.SIGXCPU
    assert sandbox.exit_signal(-signal.SIGKILL, sandboxed=False) == signal.SIGKILL
    assert sandbox.exit_signal(1, sandboxed=True) is None
    assert sandbox.exit_signal(137, sandboxed=False) is None
