"""The course notebooks (notebooks/*.ipynb): each runs top to bottom, and each is committed clean.

Every notebook asserts the numbers it states, so running it is its test: a cell that raises fails
the run. The kernel is this test run's own Python (the project's venv), pinned through a kernel
spec written to a temporary folder, so that no other ``python3`` kernel installed on the machine
can be picked up instead. Committed notebooks carry no outputs: they are the source, and outputs
would only make diffs noisy and go stale.

Running them needs the ``notebooks`` extra (nbclient, nbformat, ipykernel, matplotlib, numpy).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = {
    "01_a_network_is_a_chain_of_functions.ipynb",
    "02_gradient_descent.ipynb",
    "03_backprop_by_hand.ipynb",
    "04_backprop_is_dynamic_programming.ipynb",
    "05_matrix_calculus.ipynb",
    "06_training_an_mlp.ipynb",
    "08_real_handwritten_digits.ipynb",
}
CELL_TIMEOUT = 120  # seconds, per cell
NOTEBOOK_BUDGET = 60  # seconds, per notebook: the course's promise of a quick run


def test_the_notebooks_are_there() -> None:
    missing = EXPECTED - {p.name for p in PATHS}
    assert not missing, f"notebooks missing from {NOTEBOOKS}: {sorted(missing)}"


def test_the_readme_lists_every_notebook() -> None:
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    unlisted = [p.name for p in PATHS if p.name not in readme]
    assert not unlisted, f"notebooks/README.md does not mention {unlisted}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; clear them before "
        "committing (Jupyter: Edit > Clear Outputs of All Cells, then save)"
    )


def _kernel_manager(folder: Path) -> Any:
    """A kernel manager that starts ``python3`` as this very interpreter, whatever other kernel
    specs the machine has."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = folder / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (chaingrad tests)",
        "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(folder)])
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        km=_kernel_manager(tmp_path / "kernels"),
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working folder
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    elapsed = time.perf_counter() - start
    assert elapsed < NOTEBOOK_BUDGET, f"{path.name} took {elapsed:.0f} s (budget {NOTEBOOK_BUDGET} s)"
