"""The leak check: no line of a solution region may appear anywhere in the release.

A release line leaks when, stripped of surrounding whitespace, it equals a line
that was inside a solution region (or a hidden-test or mark-scheme region of a
notebook). Every file of the release is read line by line: text files as text,
notebooks cell by cell, other files as bytes split at newlines.

Some region lines are too common to mean anything; ``is_trivial`` ignores them:

* blank lines and lines without a letter or digit (``)``, ``]),``, ``\"\"\"``);
* lines of at most ``SHORT`` significant (non-space) characters, such as
  ``pass``, ``else:``, ``return x`` or ``y = x``: they give nothing away;
* nbgrader's stub lines (``# YOUR CODE HERE``, ``raise NotImplementedError()``);
* lines that also occur outside every region of the solution (``return out``,
  ``N, C, H, W = x.shape``): students receive those anyway, so finding one in the
  release proves nothing.

Comments are not trivial: an explanatory comment from a solution region is a hint.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from .regions import SourceLine

SHORT = 8
STUB_LINES = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}


def significant(text: str) -> str:
    """``text`` without any whitespace: what the length rule counts."""
    return "".join(text.split())


def is_trivial(text: str, public: set[str]) -> bool:
    """Whether a (stripped) solution-region line is too common to count as a leak.

    ``public`` holds the stripped lines found outside every region of the solution.
    """
    return (not any(ch.isalnum() for ch in text)
            or len(significant(text)) <= SHORT
            or text in STUB_LINES
            or text in public)


def find_leaks(secret: Iterable[SourceLine], public: set[str], release_dir: Path,
               label: str | None = None) -> tuple[list[str], int]:
    """Look for every non-trivial secret line in every file under ``release_dir``.

    Returns one message per leaked line, ``release/numpynn/conv.py:42: ...``, and how
    many distinct secret lines were looked for. ``label`` replaces the folder's name
    in the messages (the release is checked in a temporary folder).
    """
    origins: dict[str, SourceLine] = {}
    for line in secret:
        if not is_trivial(line.text, public):
            origins.setdefault(line.text, line)
    label = label or release_dir.name
    leaks = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        rel = f"{label}/{path.relative_to(release_dir).as_posix()}"
        for where, lineno, text in release_lines(path, rel):
            origin = origins.get(text)
            if origin is not None:
                leaks.append(f"{where}:{lineno}: line from the solution region at "
                             f"{origin.where}:{origin.lineno} is in the release: {text}")
    return leaks, len(origins)


def release_lines(path: Path, where: str) -> Iterator[tuple[str, int, str]]:
    """Yield ``(where, lineno, stripped line)`` for every line of one release file."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(data)["cells"]
        except (ValueError, KeyError, TypeError):
            cells = None
        if cells is not None:
            for index, cell in enumerate(cells):
                for text in _cell_texts(cell):
                    for lineno, line in enumerate(text.split("\n"), start=1):
                        yield f"{where} cell {index}", lineno, line.strip()
            return
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        try:
            yield where, lineno, raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            continue  # binary bytes cannot equal a line of source text


def _cell_texts(cell: dict) -> Iterator[str]:
    """The source of a cell and any text its outputs hold."""
    for value in [cell.get("source", "")] + [
            part for output in cell.get("outputs", [])
            for part in [output.get("text", "")] + list(output.get("data", {}).values())]:
        yield "".join(value) if isinstance(value, list) else str(value)
