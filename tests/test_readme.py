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
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        for number, code in enumerate(blocks("python"), 1):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"README.md python block {number}", "exec"), namespace)
            printed.append(out.getvalue())
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
    for written in ("spirals.json", "spirals.png", "spirals-both.png", "graph.svg", "steps.html"):
        assert (tmp_path / written).stat().st_size > 0, written


def test_the_readme_starts_with_the_two_commands() -> None:
    """The two commands that set everything up, as CI runs the second (``.ci/run``)."""
    first = blocks("bash")[0].splitlines()
    assert first[0].startswith("make demo") and first[1].startswith("make test")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci
