"""Read the marked solution as two piles of lines: what students must not see, and the rest.

The one reader of the markers besides nbgrader's own stripping (``strip.py``): the leak
check uses it, so that a stripping that failed silently is still caught, and the
mutation audit uses its regions (``spans``). It follows nbgrader's rules: a marker is any line that
contains the delimiter, and a notebook's solution cell without a region is solution
from top to bottom.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .errors import ReleaseError

# nbgrader's default delimiters (ClearSolutions, ClearHiddenTests, ClearMarkScheme).
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MARK_SCHEME = ("BEGIN MARK SCHEME", "END MARK SCHEME")


@dataclass(frozen=True)
class SourceLine:
    """One line of a solution file, stripped of surrounding whitespace."""

    where: str   # "solution/numpynn/conv.py", or "assignment/notebooks/a.ipynb cell 3"
    lineno: int  # 1-based, within the file (or the cell)
    text: str


@dataclass
class Split:
    """A source's lines inside marked regions (``secret``) and outside them (``public``)."""

    secret: list[SourceLine] = field(default_factory=list)
    public: list[SourceLine] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)   # each region's first and last line

    @property
    def regions(self) -> int:
        return len(self.spans)

    def extend(self, other: "Split") -> None:
        self.secret += other.secret
        self.public += other.public
        self.spans += other.spans


def split_text(text: str, where: str, markers=(SOLUTION,)) -> Split:
    """Split ``text`` into lines inside and outside the regions delimited by ``markers``.

    Marker lines belong to neither pile. A nested, unclosed or stray marker raises
    ``ReleaseError`` naming ``where`` and the line.
    """
    split = Split()
    opened = None  # (lineno, begin, end) of the region we are in
    for lineno, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        begin_pair = next(((b, e) for b, e in markers if b in line), None)
        end_pair = next(((b, e) for b, e in markers if e in line), None)
        if begin_pair:
            if opened:
                raise ReleaseError(f"{where}:{lineno}: '{begin_pair[0]}' inside the region opened at line {opened[0]}")
            opened = (lineno, *begin_pair)
        elif end_pair:
            if not opened or opened[2] != end_pair[1]:
                raise ReleaseError(f"{where}:{lineno}: '{end_pair[1]}' without an opening '{end_pair[0]}'")
            split.spans.append((opened[0] + 1, lineno - 1))
            opened = None
        else:
            (split.secret if opened else split.public).append(SourceLine(where, lineno, line.strip()))
    if opened:
        raise ReleaseError(f"{where}:{opened[0]}: '{opened[1]}' is never closed by '{opened[2]}'")
    return split


def split_notebook(text: str, where: str) -> Split:
    """Split every cell of notebook JSON ``text`` (solution, hidden-test and mark-scheme regions)."""
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        raise ReleaseError(f"{where}: not a Jupyter notebook") from None
    split = Split()
    for index, cell in enumerate(cells):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        cell_where = f"{where} cell {index}"
        cell_split = split_text(source, cell_where, markers=(SOLUTION, HIDDEN_TESTS, MARK_SCHEME))
        is_solution_cell = bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))
        if is_solution_cell and not cell_split.regions:
            # nbgrader replaces the whole of such a cell with the stub.
            cell_split = Split(secret=cell_split.public, spans=[(1, source.count("\n") + 1)])
        split.extend(cell_split)
    return split
