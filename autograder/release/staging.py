"""Write a folder all at once: build it next to its target, then swap it in.

A failed release therefore never leaves a half-written folder behind: the previous
release stays as it was, and the temporary folder is removed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ReleaseError


def check_target(target: Path, package: str, inputs: Iterable[Path]) -> None:
    """Refuse a target whose replacement would destroy something that is not a release.

    The target may not hold or sit inside an input of the release, and an existing,
    non-empty target must look like a release (``pyproject.toml`` and the package).
    """
    target = target.resolve()
    for path in inputs:
        path = path.resolve()
        if target == path or target in path.parents or path in target.parents:
            raise ReleaseError(f"refusing to write the release to {target}: it overlaps the input {path}")
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise ReleaseError(f"refusing to replace {target}: it is not a folder")
        if any(target.iterdir()) and not ((target / "pyproject.toml").is_file() and (target / package).is_dir()
                                          and not (target / ".git").exists()):
            raise ReleaseError(f"refusing to replace {target}: it is not empty and does not look like "
                               f"a release (no pyproject.toml and {package}/)")


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``target``; on success it replaces ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        temp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the release is not
        yield temp
        old = temp.with_name(temp.name.replace("-new-", "-old-"))
        if target.exists():
            target.rename(old)
        temp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temp, ignore_errors=True)  # only still there if something failed
