"""The notebooks run top to bottom (stored without outputs), in a temporary working folder."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("0*.ipynb"))


def test_notebooks_found():
    assert [p.name for p in NOTEBOOKS] == ["01_explore.ipynb", "02_claims.ipynb", "03_workflow.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # charts show as images, never as the text of a figure or axes object
    texts = [
        o.get("text", "") or o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" not in o.get("data", {})
    ]
    assert not [t for t in texts if t.lstrip().startswith(("<Figure size", "<Axes", "<matplotlib"))]
    if path.stem == "03_workflow":  # the workflow's files were written where the notebook ran, and used
        assert (tmp_path / "my_assumptions" / "scenarios" / "capex_up.yaml").is_file()
        assert "cloud_share_25pct_fy2029" in (tmp_path / "my_assumptions" / "claims.yaml").read_text()
