"""The walkthrough notebook: nbgrader metadata that nbgrader accepts, and a clean run
top to bottom against the solution (one epoch, through NUMPYNN_NOTEBOOK_EPOCHS)."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import REPO

NOTEBOOK = REPO / "assignment" / "notebooks" / "walkthrough.ipynb"


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_every_cell_has_nbgrader_metadata(notebook):
    nbformat.validate(notebook)
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells]
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    for cell in notebook.cells:
        meta = cell.metadata["nbgrader"]
        assert meta["schema_version"] == 3
        assert meta["locked"] != meta["solution"], f"{meta['grade_id']}: locked xor solution"
        if meta["grade"]:
            assert "points" in meta, f"{meta['grade_id']}: a graded cell needs points"
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


def test_committed_without_outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_nbgrader_strips_the_solution(notebook):
    from nbgrader.preprocessors import CheckCellMetadata, ClearSolutions, LockCells

    stripped = nbformat.from_dict(notebook)
    resources = {}
    for step in (CheckCellMetadata(), ClearSolutions(), LockCells()):
        stripped, resources = step.preprocess(stripped, resources)
    solutions = [cell for cell in stripped.cells if cell.metadata["nbgrader"]["solution"]]
    assert solutions
    for cell in solutions:
        assert "BEGIN SOLUTION" not in cell.source and "raise NotImplementedError()" in cell.source


def test_runs_top_to_bottom_on_the_solution(notebook, tmp_path):
    # A scratch working folder, so the notebook imports numpynn from solution/ only.
    env = dict(os.environ, NUMPYNN_NOTEBOOK_EPOCHS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "solution"),
                                                        os.environ.get("PYTHONPATH")])),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    executed = nbformat.from_dict(notebook)
    client = NotebookClient(executed, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)   # raises CellExecutionError, naming the cell, on any error

    def output_text(cell_id):
        cell = next(cell for cell in executed.cells if cell.id == cell_id)
        return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")

    assert f"numpynn from {REPO / 'solution' / 'numpynn'}" in output_text("setup")
    checks = output_text("gradcheck-layers").splitlines()
    assert len(checks) >= 15 and all(line.endswith("  ok") for line in checks), checks
    assert "validation accuracy after 1 epoch(s): 0.9" in output_text("train")
    assert "confusion_matrix: ok" in output_text("confusion-matrix-check")
    figures = [cell.id for cell in executed.cells if cell.cell_type == "code"
               for out in cell.outputs if "image/png" in out.get("data", {})]
    assert figures == ["load-data", "curves", "confusion-plot", "mistakes"]
