"""The course notebooks (notebooks/*.ipynb) and their exercises' solutions (notebooks/solutions/):
each runs top to bottom, each is committed clean, and each picture it shows has a caption.

Every notebook asserts the numbers it states, so running it is its test: a cell that raises fails
the run. The kernel is this test run's own Python (the project's venv), pinned through a kernel
spec written to a temporary folder, so that no other ``python3`` kernel installed on the machine
can be picked up instead. Committed notebooks carry no outputs: they are the source, and outputs
would only make diffs noisy and go stale.

Running them needs the ``notebooks`` extra (nbclient, nbformat, ipykernel, matplotlib, numpy).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*.ipynb"))
EXPECTED = {
    "01_a_network_is_a_chain_of_functions.ipynb",
    "02_gradient_descent.ipynb",
    "03_backprop_by_hand.ipynb",
    "04_backprop_is_dynamic_programming.ipynb",
    "05_matrix_calculus.ipynb",
    "06_training_an_mlp.ipynb",
    "07_define_and_run.ipynb",
    "08_real_handwritten_digits.ipynb",
    "solutions/01_solution.ipynb",
    "solutions/02_solution.ipynb",
    "solutions/03_solution.ipynb",
    "solutions/04_solution.ipynb",
    "solutions/05_solution.ipynb",
    "solutions/06_solution.ipynb",
    "solutions/07_solution.ipynb",
    "solutions/08_solution.ipynb",
}
CAPTION = "**Figure"  # a picture's caption: the markdown cell right after it starts with this
PICTURES = ("image/png", "image/jpeg", "image/svg+xml")
CELL_TIMEOUT = 120  # seconds, per cell
# Seconds of processor time in the kernel, per notebook: the course's promise of a quick run. That
# time is the notebook's work, whatever else the machine is doing: on an idle machine a run takes about
# as long on the clock, on a busy one two or three times longer. The clock would make the budget a
# measure of the machine's load; the work is what a notebook controls.
NOTEBOOK_BUDGET = 60
KERNEL_TIME = "print(sum(__import__('os').times()[:4]))"  # user + system, its own and its children's


def _name(path: Path) -> str:
    return path.relative_to(NOTEBOOKS).as_posix()


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def _source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def test_the_notebooks_are_there() -> None:
    missing = EXPECTED - {_name(p) for p in PATHS}
    assert not missing, f"notebooks missing from {NOTEBOOKS}: {sorted(missing)}"


def test_the_readme_lists_every_notebook() -> None:
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    unlisted = [_name(p) for p in PATHS if _name(p) not in readme]
    assert not unlisted, f"notebooks/README.md does not mention {unlisted}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_no_hidden_cells(path: Path) -> None:
    """Cells folded away show only in JupyterLab: a notebook viewer or an HTML export prints them in
    full. Solutions live in notebooks/solutions/, where a reader has to choose to look."""
    hidden = [
        index
        for index, cell in enumerate(_cells(path))
        if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden")
        or "<details" in _source(cell)
    ]
    assert not hidden, f"{_name(path)}: cells {hidden} are folded away; put solutions in {SOLUTIONS.name}/"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_links_to_other_notebooks_resolve(path: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+\.ipynb)\)", "".join(_source(c) for c in _cells(path)))
    broken = [link for link in links if not (path.parent / link).is_file()]
    assert not broken, f"{_name(path)}: links to notebooks that are not there: {broken}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_markdown_images_have_alt_text(path: Path) -> None:
    text = "".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    bare = re.findall(r"!\[\s*\]\([^)]*\)", text) + [
        tag for tag in re.findall(r"<img\b[^>]*>", text) if not re.search(r"\balt=[\"'][^\"']", tag)
    ]
    assert not bare, f"{_name(path)}: images without alt text: {bare}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{_name(path)}: code cells {dirty} have outputs or execution counts; clear them before "
        "committing (Jupyter: Edit > Clear Outputs of All Cells, then save)"
    )


def _shows_a_picture(cell: Any) -> bool:
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if any(kind in data for kind in PICTURES):
            return True
        if re.search(r"<(img|svg|iframe)\b", str(data.get("text/html", ""))):
            return True
    return False


def _uncaptioned(cells: list[Any]) -> list[int]:
    """The code cells that show a picture and are not followed by a caption cell."""
    return [
        index
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        and _shows_a_picture(cell)
        and not (
            index + 1 < len(cells)
            and cells[index + 1]["cell_type"] == "markdown"
            and _source(cells[index + 1]).lstrip().startswith(CAPTION)
        )
    ]


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
    timer = nbformat.v4.new_code_cell(KERNEL_TIME)  # run last, in the same kernel, then taken out
    notebook.cells.append(timer)
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    elapsed = time.perf_counter() - start
    notebook.cells.pop()  # the timer
    work = float(timer.outputs[0]["text"])
    assert work < NOTEBOOK_BUDGET, (
        f"{_name(path)} took {work:.0f} s of processor time in its kernel (budget {NOTEBOOK_BUDGET} s; "
        f"{elapsed:.0f} s on the clock)"
    )
    uncaptioned = _uncaptioned(notebook.cells)
    assert not uncaptioned, (
        f"{_name(path)}: code cells {uncaptioned} show pictures but the cell after each is not a "
        f"markdown caption starting with {CAPTION!r} that says what the picture shows"
    )
