"""Strip solutions with nbgrader's own preprocessors, for notebooks and for .py files.

nbgrader strips only notebooks (its ``generate_assignment`` copies .py files verbatim,
solutions included: nbgrader issue #1237). So a .py file goes through the very same
``ClearSolutions`` as a notebook: wrapped as a one-cell Python notebook, stripped,
unwrapped. The marker rules are therefore nbgrader's: a line containing
``BEGIN SOLUTION`` opens a region, one containing ``END SOLUTION`` closes it, the
region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` indented like the
opening marker, and a nested or unclosed region is an error.

nbgrader is imported on first use, by ``_nbgrader()``: the slowest step of a release.
"""
from __future__ import annotations

import json
import logging
import sys

from .errors import ReleaseError

# nbgrader logs the whole cell before raising; the error message below is enough.
_QUIET = logging.getLogger("autograder.release.nbgrader")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

PYTHON_KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

# nbconvert's ClearOutput drops these cell metadata fields; Jupyter's timing and
# nbclient's execution records would otherwise make the release differ run to run.
VOLATILE_CELL_METADATA = {"collapsed", "scrolled", "execution", "ExecuteTime"}


def _nbgrader():
    """nbgrader's preprocessors, imported without the one module that costs most.

    nbformat imports jsonschema, whose format checkers import rfc3987_syntax if it is
    installed; that module builds a parser for the IRI grammar at import time, which was
    more than half of nbgrader's import time here (2.98 s instead of 6.2-6.8 s on a
    loaded 2-core machine). It only checks the "iri" and "iri-reference" formats, which
    no notebook schema uses, and jsonschema simply skips them when the import fails,
    which a ``None`` in ``sys.modules`` makes it do (in this process only).
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
    from nbgrader import preprocessors
    return preprocessors


def strip_python(text: str, where: str) -> str:
    """Return Python source ``text`` with every solution region replaced by nbgrader's stub.

    ``where`` names the file in error messages. The result must still be valid Python.
    """
    ClearSolutions = _nbgrader().ClearSolutions   # first: it decides how nbformat imports
    import nbformat

    text = to_lf(text)
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": PYTHON_KERNEL})
    notebook.cells.append(nbformat.v4.new_code_cell(text))
    # No nbgrader cell metadata: only the marked regions are solution, never a whole file.
    clear = ClearSolutions(enforce_metadata=False, log=_QUIET)
    try:
        notebook, _ = clear.preprocess(notebook, {})
    except RuntimeError as error:
        problem = _marker_problem(text, clear.begin_solution_delimeter, clear.end_solution_delimeter)
        raise ReleaseError(f"{where}:{problem} (nbgrader: {error})" if problem
                           else f"{where}: nbgrader refused the file: {error}") from None
    stripped = notebook.cells[0].source
    try:
        compile(stripped, where, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ReleaseError(f"{where}: after stripping the solution, line {error.lineno} of the "
                           f"released file is not valid Python ({error.msg}); check the markers "
                           f"around it") from None
    return stripped


def strip_notebook(text: str, where: str) -> str:
    """Return notebook JSON ``text`` stripped as nbgrader's ``generate_assignment`` would.

    Runs LockCells, ClearSolutions, ClearOutput, ClearHiddenTests, ClearMarkScheme and
    CheckCellMetadata, then writes the notebook deterministically (sorted keys, cells
    without an id get ``cell-<index>`` rather than a random one).
    """
    nbg = _nbgrader()   # first: it decides how nbformat imports
    import nbformat

    notebook = _read_notebook(text, where)
    # Solution regions are the truth in this project (there is no nbgrader gradebook),
    # so regions in cells without nbgrader metadata are stripped, not refused.
    steps = [
        nbg.LockCells(log=_QUIET),
        nbg.ClearSolutions(enforce_metadata=False, log=_QUIET),
        nbg.ClearOutput(remove_metadata_fields=VOLATILE_CELL_METADATA, log=_QUIET),
        nbg.ClearHiddenTests(enforce_metadata=False, log=_QUIET),
        nbg.ClearMarkScheme(enforce_metadata=False, log=_QUIET),
        nbg.CheckCellMetadata(log=_QUIET),
    ]
    resources: dict = {}
    for step in steps:
        try:
            notebook, resources = step.preprocess(notebook, resources)
        except (RuntimeError, ValueError) as error:  # nbgrader's ValidationError is a ValueError
            raise ReleaseError(_notebook_error(notebook, where, step, error)) from None
    return nbformat.writes(notebook, version=4) + "\n"


def to_lf(text: str) -> str:
    """``text`` with Windows and old-Mac line endings turned into ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_notebook(text: str, where: str):
    """Parse notebook JSON without nbformat's validation, which invents random cell ids."""
    import nbformat

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReleaseError(f"{where}:{error.lineno}: not a notebook: invalid JSON ({error.msg})") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        raise ReleaseError(f"{where}: not a version 4 Jupyter notebook (save it with a current Jupyter)")
    notebook = nbformat.from_dict(data)
    if notebook.get("nbformat_minor", 0) >= 5:
        for index, cell in enumerate(notebook.cells):
            cell.setdefault("id", f"cell-{index}")
    for cell in notebook.cells:
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
    return notebook


def _notebook_error(notebook, where: str, step, error: Exception) -> str:
    """One line naming the notebook, the cell and the marker line nbgrader refused.

    nbgrader rewrites a cell only once it has checked all of it, so the refused cell
    still holds its markers.
    """
    delimiters = [value for trait, value in sorted(step.trait_values().items())
                  if trait.endswith("_delimeter")]
    if len(delimiters) == 2:  # (begin_..., end_...) in sorted trait-name order
        begin, end = delimiters
        for index, cell in enumerate(notebook.cells):
            problem = _marker_problem(to_lf(cell.source), begin, end)
            if problem:
                return f"{where} cell {index}, line {problem} (nbgrader: {error})"
    return f"{where}: nbgrader's {type(step).__name__} refused the notebook: {error}"


def _marker_problem(text: str, begin: str, end: str) -> str | None:
    """``"LINE: what is wrong"`` for the first bad marker of ``text``, or None.

    nbgrader's message has no line number, so the markers are walked the way nbgrader
    walks them to find the offending one.
    """
    opened = None
    for lineno, line in enumerate(text.split("\n"), start=1):
        if begin in line:
            if opened is not None:
                return f"{lineno}: nested '{begin}' inside the region opened at line {opened}"
            opened = lineno
        elif end in line:
            opened = None
    if opened is not None:
        return f"{opened}: '{begin}' is never closed by '{end}'"
    return None
