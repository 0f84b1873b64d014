"""The one module that starts processes: grading workers and helper commands."""
import subprocess
import sys


def run_python(args, *, cwd=None, env=None, timeout=None) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` with this interpreter and capture its output as text."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, timeout=timeout,
                          capture_output=True, text=True)
