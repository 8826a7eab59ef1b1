"""README.md's code runs as written: every ``python`` block, in order, in one namespace (as a
reader pastes them into one session), in a fresh folder; what a block says it prints, it prints;
the excerpt of the compiled program is the program's own text."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def test_every_python_block_runs_as_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("IPython")
    namespace: dict[str, Any] = {"__name__": "readme"}
    printed: list[str] = []
    pictured: dict[str, Any] = {}
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        for number, code in enumerate(blocks("python"), 1):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"README.md python block {number}", "exec"), namespace)
            printed.append(out.getvalue())
            if "save_backward_html(" in code:  # the Pictures block: what it drew, before later blocks
                pictured.update(L=namespace["L"], source=namespace["picture"].source, said=out.getvalue())
    finally:
        os.chdir(here)
    assert len(printed) >= 6
    # the first example prints what its comment says; the compiled program too
    assert printed[0].strip() == "3.5 3.0 2.0"
    program_lines = printed[2].splitlines()
    assert program_lines[:2] == ["3.5", "5.0 6.0"]
    shown = [line for line in blocks("")[0].splitlines() if line.strip() and line.strip() != "..."]
    source = namespace["program"].source
    assert all(line in source.splitlines() for line in shown), (shown, source)
    assert float(printed[-2].strip()) < 1e-8  # Newton's method: the gradient's norm after 9 steps
    # the Pictures block draws the example itself, after its backward(): 3.5, and gradients 3 and 2
    L, source, said = pictured["L"], pictured["source"], pictured["said"]
    w1, w2 = sorted((v for v in _leaves(L) if v.label), key=lambda v: v.label)
    assert (L.data, w1.grad, w2.grad) == (3.5, 3.0, 2.0)
    for record in ("data 3.5", "grad 3", "grad 2", "<B>w1</B>", "<B>w2</B>"):
        assert record in source, record
    readme = README.read_text(encoding="utf-8")
    assert "Step 1 of 6: a + 0.5, where a = (2 · w1 + 1) · w2  (add)\n" in said
    for caption in ("a · w2, where a = 2 · w1 + 1", "d/da = w2", "d/dw2 = a"):
        # what the text under the block quotes, the block prints
        assert caption in said and caption in " ".join(readme.split()), caption
    for written in ("spirals.json", "spirals.png", "spirals-both.png", "graph.svg", "steps.html"):
        assert (tmp_path / written).stat().st_size > 0, written


def _leaves(root: Any) -> list[Any]:
    seen, stack, leaves = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) in seen or not hasattr(node, "inputs"):
            continue
        seen.add(id(node))
        leaves += [node] if node.op is None else []
        stack += list(node.inputs)
    return leaves


def test_the_readme_starts_with_the_two_commands() -> None:
    """The two commands that set everything up, as CI runs the second (``.ci/run``)."""
    first = blocks("bash")[0].splitlines()
    assert first[0].startswith("make demo") and first[1].startswith("make test")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci
