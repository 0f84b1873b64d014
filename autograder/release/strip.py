"""Strip solutions with nbgrader's own preprocessors, for notebooks and for .py files.

nbgrader strips only notebooks (its ``generate_assignment`` copies .py files verbatim,
solutions included: nbgrader issue #1237). So a .py file goes through the very same
``ClearSolutions`` as a notebook: wrapped as a one-cell Python notebook, stripped,
unwrapped. The marker rules are therefore nbgrader's: a line containing
``BEGIN SOLUTION`` opens a region, one containing ``END SOLUTION`` closes it, the
region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` indented like the
opening marker, and a nested or unclosed region is an error.

nbgrader's preprocessors are imported on first use, by ``nbgrader_preprocessors()``.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import sys
import types

from .errors import ReleaseError

# nbgrader logs the whole cell before raising; the error message below is enough.
_QUIET = logging.getLogger("autograder.release.nbgrader")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

PYTHON_KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

# nbconvert's ClearOutput drops these cell metadata fields; Jupyter's timing and
# nbclient's execution records would otherwise make the release differ run to run.
VOLATILE_CELL_METADATA = {"collapsed", "scrolled", "execution", "ExecuteTime"}


#: The nbgrader preprocessors the release runs, by the module of nbgrader that holds each.
PREPROCESSORS = {"lockcells": "LockCells", "clearsolutions": "ClearSolutions",
                 "clearoutput": "ClearOutput", "clearhiddentests": "ClearHiddenTests",
                 "clearmarkingscheme": "ClearMarkScheme", "checkcellmetadata": "CheckCellMetadata"}


@functools.cache
def nbgrader_preprocessors() -> types.SimpleNamespace:
    """nbgrader's own preprocessor classes that the release runs, by class name.

    ``import nbgrader.preprocessors`` first runs nbgrader's package ``__init__``, which
    loads its Jupyter server extensions, its database layer (SQLAlchemy) and all twenty
    preprocessors: 1.5-1.6 s of CPU here, and on the release's critical path (the
    release's own public tests wait for the stripped files). The six modules used need
    only nbconvert's ``Preprocessor``, ``nbgrader.utils`` and its metadata validator:
    0.9 s. They are imported under empty stand-ins for the two packages, removed again
    at once, so that a later ``import nbgrader`` in this process is the ordinary one
    (and reuses these very modules). Should nbgrader's layout ever change, the
    ordinary import is used instead.
    """
    try:
        return types.SimpleNamespace(**_import_preprocessor_modules())
    except (ImportError, AttributeError):
        for name in [m for m in sys.modules if m == "nbgrader" or m.startswith("nbgrader.")]:
            del sys.modules[name]
        from nbgrader import preprocessors
        return types.SimpleNamespace(**{cls: getattr(preprocessors, cls)
                                        for cls in PREPROCESSORS.values()})


def _import_preprocessor_modules() -> dict:
    if "nbgrader.preprocessors" in sys.modules:      # already imported the ordinary way
        preprocessors = sys.modules["nbgrader.preprocessors"]
        return {cls: getattr(preprocessors, cls) for cls in PREPROCESSORS.values()}
    spec = importlib.util.find_spec("nbgrader")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nbgrader is not installed")
    root = spec.submodule_search_locations[0]
    stand_ins = {}
    for name, folder in (("nbgrader", root), ("nbgrader.preprocessors", f"{root}/preprocessors")):
        stand_ins[name] = types.ModuleType(name)
        stand_ins[name].__path__ = [folder]
    sys.modules.update(stand_ins)
    try:
        base = importlib.import_module("nbgrader.preprocessors.base")
        stand_ins["nbgrader.preprocessors"].NbGraderPreprocessor = base.NbGraderPreprocessor
        return {cls: getattr(importlib.import_module(f"nbgrader.preprocessors.{module}"), cls)
                for module, cls in PREPROCESSORS.items()}
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def strip_python(text: str, where: str) -> str:
    """Return Python source ``text`` with every solution region replaced by nbgrader's stub.

    ``where`` names the file in error messages. The result must still be valid Python.
    """
    import nbformat
    ClearSolutions = nbgrader_preprocessors().ClearSolutions

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
    import nbformat
    nbg = nbgrader_preprocessors()

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
