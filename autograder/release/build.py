"""The release, written as a pipeline of small steps (nbgrader style).

Each step reads from ``Sources``, writes into the release folder ``out`` and returns
the paths it wrote, relative to ``out``. A step whose input does not exist yet writes
nothing (whether that is allowed is decided before the build, in ``Sources.missing``).
Output is byte-for-byte reproducible: files are visited in sorted order, text is
written with LF endings, and nothing records a time or a random id.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import ReleaseError
from .regions import HIDDEN_TESTS, SOLUTION, split_text
from .sources import Sources, shown
from .strip import strip_notebook, strip_python, to_lf

SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def write_package(sources: Sources, out: Path) -> list[str]:
    """``numpynn/``: every .py of the solution package stripped, every other file copied as is."""
    written = []
    for path in package_files(sources.package_dir):
        rel = f"{sources.package}/{path.relative_to(sources.package_dir).as_posix()}"
        if path.suffix == ".py":
            _write_text(out / rel, strip_python(_read_text(path), shown(path)))
        else:
            _write_bytes(out / rel, path.read_bytes())
        written.append(rel)
    return written


def write_notebooks(sources: Sources, out: Path) -> list[str]:
    """``notebooks/*.ipynb``: the marked notebooks, stripped by nbgrader's preprocessors."""
    written = []
    for path in sources.notebook_paths():
        rel = f"notebooks/{path.name}"
        _write_text(out / rel, strip_notebook(_read_text(path), shown(path)))
        written.append(rel)
    return written


def write_public_tests(sources: Sources, out: Path) -> list[str]:
    """``public_tests/``: released as they are, so they must hold no marked region."""
    written = []
    if not sources.public_tests_dir.is_dir():
        return written
    for path in package_files(sources.public_tests_dir):
        rel = f"public_tests/{path.relative_to(sources.public_tests_dir).as_posix()}"
        if path.suffix == ".py":
            text = to_lf(_read_text(path))
            # The public tests run unchanged against the solution, so nothing is stripped.
            if split_text(text, shown(path), markers=(SOLUTION, HIDDEN_TESTS)).regions:
                raise ReleaseError(f"{shown(path)}: public tests are released as they are and "
                                   f"must not contain solution or hidden-test regions")
            _write_text(out / rel, text)
        else:
            _write_bytes(out / rel, path.read_bytes())
        written.append(rel)
    return written


def write_handout(sources: Sources, out: Path) -> list[str]:
    """``HANDOUT.md``, with LF line endings."""
    if not sources.handout.is_file():
        return []
    _write_text(out / "HANDOUT.md", to_lf(_read_text(sources.handout)))
    return ["HANDOUT.md"]


def write_pyproject(sources: Sources, out: Path) -> list[str]:
    """``pyproject.toml``, so that ``pip install -e .`` works inside the release."""
    if not sources.pyproject.is_file():
        return []
    _write_text(out / "pyproject.toml", to_lf(_read_text(sources.pyproject)))
    return ["pyproject.toml"]


STEPS: list[Callable[[Sources, Path], list[str]]] = [
    write_package, write_notebooks, write_public_tests, write_handout, write_pyproject,
]


def build_release(sources: Sources, out: Path) -> dict[str, list[str]]:
    """Run every step into the (empty) folder ``out``; returns each step's written paths."""
    return {step.__name__: step(sources, out) for step in STEPS}


def package_files(folder: Path) -> Iterator[Path]:
    """The files under ``folder`` that belong in a release, in sorted order.

    Caches, bytecode and hidden files (``.DS_Store``, editor backups) are left out.
    """
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")
                         and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(root) / name
            if not name.startswith(".") and path.suffix not in SKIPPED_SUFFIXES and not name.endswith("~"):
                yield path


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ReleaseError(f"{shown(path)}: not UTF-8 text (byte {error.start})") from None


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
