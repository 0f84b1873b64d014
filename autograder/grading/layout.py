"""A grading job's folder on disk: the one place that knows its layout.

    <tmp>/numpynn-job-XXXX/          the package root the worker is given (--root)
        numpynn/                     the package under test: the release's files with the
                                     student's in (or the solution, for the reference)
        unpacked/                    a submitted .zip while it is being read (then removed)

The worker is sent its inputs over a pipe, so nothing else is written here. Everything
is readable by the sandbox's unprivileged user and writable by nobody but the grader.
"""
import shutil
import tempfile
from pathlib import Path


class JobFolder:
    """A temporary package root; use as a context manager (removed at the end)."""

    def __init__(self, package: str):
        self.package_name = package
        self._tmp = tempfile.TemporaryDirectory(prefix="numpynn-job-")
        self.root = Path(self._tmp.name)

    @property
    def package(self) -> Path:
        return self.root / self.package_name

    @property
    def unpacked(self) -> Path:
        return self.root / "unpacked"

    def copy_package(self, source: Path):
        """The package folder from ``source`` (caches left out)."""
        shutil.copytree(source, self.package, ignore=shutil.ignore_patterns("__pycache__"))

    def make_readable(self):
        """Let the sandbox's unprivileged user read (never write) the tree."""
        self.root.chmod(0o755)
        for path in self.root.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()
