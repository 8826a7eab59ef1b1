"""``nn.plot``: training curves and decision boundaries with matplotlib (an optional extra,
``chaingrad[plot]``). The pictures are checked by their data and by the colours of their pixels.
Skipped when matplotlib is not installed, except the checks that nothing imports it early."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import nn
from autodiff import Value, is_grad_enabled
from nn.data import make_blobs, make_moons
from nn.plot import plot_decision_boundary, plot_history

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(name="mpl")
def matplotlib_module() -> Any:
    return pytest.importorskip("matplotlib")


def test_importing_nn_imports_neither_matplotlib_nor_torch() -> None:
    code = (
        "import sys, nn, nn.plot, nn.io, nn.data, nn.export, nn.module\n"
        "heavy = [m for m in ('matplotlib', 'torch', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` of these now raises ImportError
    with pytest.raises(ImportError, match=r"plot_history\(\) needs matplotlib.*chaingrad\[plot\]"):
        plot_history([1.0, 0.5])
    with pytest.raises(ImportError, match=r"plot_decision_boundary\(\).*chaingrad\[plot\]"):
        plot_decision_boundary(nn.MLP(2, [1], seed=0), [[0.0, 0.0]], [0])


# --- helpers: what the picture shows -----------------------------------------------------------


def _rgb(fig: Any, ax: Any, x: float, y: float) -> tuple[int, int, int]:
    """The colour of the rendered figure at data point ``(x, y)`` of ``ax``."""
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    buffer = bytes(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    col, row = int(px), int(height - py)
    i = 4 * (row * width + col)
    return buffer[i], buffer[i + 1], buffer[i + 2]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@dataclass
class History:
    """Shaped like nn.train's History: per-epoch lists as attributes."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


# --- plot_history ------------------------------------------------------------------------------


def test_history_curves_hold_the_numbers(mpl: Any, tmp_path: Path) -> None:
    history = History(loss=[1.0, 0.6, 0.4, 0.3], accuracy=[0.5, 0.7, 0.8, 0.9])
    path = tmp_path / "history.png"
    ax = plot_history(history, path)
    assert isinstance(ax, mpl.axes.Axes)
    fig = ax.figure
    loss_ax, accuracy_ax = fig.axes
    assert ax is loss_ax
    (loss_line,) = loss_ax.get_lines()
    assert list(loss_line.get_xdata()) == [1, 2, 3, 4]  # epochs count from 1
    assert list(loss_line.get_ydata()) == [1.0, 0.6, 0.4, 0.3]
    assert list(accuracy_ax.get_lines()[0].get_ydata()) == [0.5, 0.7, 0.8, 0.9]
    assert "0.3" in loss_ax.get_title() and "90.0%" in accuracy_ax.get_title()
    assert accuracy_ax.get_ylim()[0] == 0.0 and accuracy_ax.get_ylim()[1] >= 1.0
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    assert _png_size(path) == (1500, 600)  # 10 x 4 inches at 150 dpi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.png"]


def test_history_forms(mpl: Any) -> None:
    only_losses = plot_history([3.0, 2.0, Value(1.0)])  # a plain list, Values allowed
    assert len(only_losses.figure.axes) == 1
    assert list(only_losses.get_lines()[0].get_ydata()) == [3.0, 2.0, 1.0]
    mapping = {"loss": [1.0, 0.5], "accuracy": [0.6, 0.8], "val_loss": [1.1, 0.7], "val_accuracy": [0.5, 0.7]}
    fig = plot_history(mapping, log_scale=True).figure
    loss_ax, accuracy_ax = fig.axes
    assert [list(line.get_ydata()) for line in loss_ax.get_lines()] == [[1.0, 0.5], [1.1, 0.7]]
    assert [text.get_text() for text in loss_ax.get_legend().get_texts()] == ["training", "validation"]
    assert loss_ax.get_yscale() == "log" and accuracy_ax.get_yscale() == "linear"
    assert "validation 70.0%" in accuracy_ax.get_title()
    assert len(plot_history({"loss": [1.0], "accuracy": []}).figure.axes) == 1  # no accuracy: one panel
    # how Jupyter shows it, without pyplot: the returned Axes shows its whole figure
    assert loss_ax._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n" and loss_ax._repr_png_() == fig._repr_png_()


def test_the_history_that_fit_returns(mpl: Any) -> None:
    train = pytest.importorskip("nn.train")
    history = train.History()
    for epoch in range(5):
        history.append({"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + 0.1 * epoch, "lr": 0.1, "seconds": 0.01})
    loss_ax, accuracy_ax = plot_history(history).figure.axes
    assert list(loss_ax.get_lines()[0].get_ydata()) == history.loss
    assert list(accuracy_ax.get_lines()[0].get_ydata()) == history.accuracy
    assert len(loss_ax.get_lines()) == 1  # no validation data, no validation curve


@pytest.mark.parametrize(
    ("history", "mentioned"),
    [
        ({"accuracy": [0.5]}, "'loss' list"),
        (History(), "no epochs"),
        ([], "no epochs"),
        ({"loss": "1, 2"}, "'loss' must be a list"),
        ({"loss": [1.0, "x"]}, r"'loss' must hold numbers, got 'x' at index 1"),
        (42, "got int"),
    ],
)
def test_history_errors(mpl: Any, history: Any, mentioned: str) -> None:
    with pytest.raises(ValueError, match=mentioned):
        plot_history(history)


# --- plot_decision_boundary --------------------------------------------------------------------


class Recorder:
    """A binary classifier ``x1 - 0.5``, counting its calls and whether they recorded a graph."""

    def __init__(self) -> None:
        self.calls = 0
        self.recorded = 0

    def __call__(self, x: Sequence[float]) -> list[Value]:
        self.calls += 1
        self.recorded += is_grad_enabled()
        return [Value(x[0]) - 0.5]


def test_binary_boundary_colours_and_line(mpl: Any) -> None:
    X = [[0.0, 0.0], [1.0, 1.0], [0.2, 1.0], [0.8, 0.0], [0.9, 0.9]]
    y = [0, 1, 1, 1, 1]  # (0.2, 1.0) is on the class-0 side: 4 of 5 right
    model = Recorder()
    ax = plot_decision_boundary(model, X, y, resolution=30)
    fig = ax.figure
    assert model.calls == 1 + 30 * 30 + len(X) and model.recorded == 0  # all under no_grad
    assert [a for a in fig.axes if a.get_title()] == [ax]
    assert ax.get_title() == "4 of 5 points classified correctly (80%)"
    left = _rgb(fig, ax, 0.05, 0.5)  # x1 < 0.5: class 0, blue
    right = _rgb(fig, ax, 0.95, 0.5)  # x1 > 0.5: class 1, red
    assert left[2] > left[0] + 20 and right[0] > right[2] + 20, (left, right)
    middle = _rgb(fig, ax, 0.5, 0.5)
    assert max(middle) < 80, middle  # the black boundary line at x1 = 0.5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    x_lo, x_hi = ax.get_xlim()
    assert x_lo < 0.0 and x_hi > 1.0  # the points fit, with a margin


def test_binary_labels_may_be_signs_and_the_threshold_moves(mpl: Any) -> None:
    X = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]
    model = lambda x: Value(x[0])  # a bare Value is one output
    ax = plot_decision_boundary(model, X, [-1, -1, 1, 1], resolution=10, threshold=1.5)
    assert ax.get_title().startswith("4 of 4")
    ax = plot_decision_boundary(model, X, [-1, -1, 1, 1], resolution=10)
    assert ax.get_title().startswith("3 of 4")


def test_multiclass_regions_follow_the_argmax(mpl: Any, tmp_path: Path) -> None:
    X, y = make_blobs(60, centers=[[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]], std=0.3, seed=1)

    def nearest(x: Sequence[float]) -> list[float]:  # scores: minus the distance to each centre
        return [-math.hypot(x[0] + 2, x[1]), -math.hypot(x[0] - 2, x[1]), -math.hypot(x[0], x[1] - 3)]

    ax = plot_decision_boundary(nearest, X, y, tmp_path / "blobs.svg", resolution=40)
    fig = ax.figure
    assert ax.get_title() == "60 of 60 points classified correctly (100%)"
    blue, red, green = (_rgb(fig, ax, *point) for point in [(-2.5, 1.5), (2.5, 1.5), (0.0, 2.0)])
    assert blue[2] > max(blue[:2]) and red[0] > max(red[1:]) and green[1] > max(green[0], green[2])
    text = (tmp_path / "blobs.svg").read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "</svg>" in text


def test_a_trained_mlp_on_moons(mpl: Any, tmp_path: Path) -> None:
    X, y = make_moons(40, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    signs = [2 * label - 1 for label in y]
    for _ in range(60):
        loss = sum(((model(x) - s) ** 2 for x, s in zip(X, signs)), Value(0.0)) * (1 / len(X))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.2 * p.grad
    correct = sum((model(x).data > 0) == (s > 0) for x, s in zip(X, signs))
    path = tmp_path / "moons.png"
    ax = plot_decision_boundary(model, X, y, path, resolution=25)
    assert ax.get_title().startswith(f"{correct} of 40 ")
    assert correct >= 30
    width, height = _png_size(path)
    assert 600 < width < 1100 and 400 < height < 1300


def test_pdf_output_and_unknown_suffixes(mpl: Any, tmp_path: Path) -> None:
    model = Recorder()
    plot_decision_boundary(model, [[0.0, 0.0], [1.0, 1.0]], [0, 1], tmp_path / "b.pdf", resolution=5)
    assert (tmp_path / "b.pdf").read_bytes()[:5] == b"%PDF-"
    model = Recorder()
    with pytest.raises(ValueError, match=r"\.png.*got '.*b\.xyz'"):
        plot_decision_boundary(model, [[0.0, 0.0]], [0], tmp_path / "b.xyz", resolution=5)
    assert model.calls == 0  # refused before any work
    with pytest.raises(ValueError, match="suffix"):
        plot_history([1.0], tmp_path / "history")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.pdf"]


def test_a_failed_save_keeps_the_old_picture(
    mpl: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.png"
    plot_history([1.0, 0.5], path)
    old = path.read_bytes()

    def failing_savefig(self: Any, file: Any, **kwargs: Any) -> None:
        file.write(b"\x89PNG half a picture")
        raise RuntimeError("renderer crashed (simulated)")

    monkeypatch.setattr(mpl.figure.Figure, "savefig", failing_savefig)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        plot_history([3.0, 2.0, 1.0], path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["history.png"]


def test_pictures_compose_into_subplots(mpl: Any, tmp_path: Path) -> None:
    """matplotlib's convention: each function draws into the Axes it is given and returns it;
    ``path`` then writes the whole figure."""
    figure = pytest.importorskip("matplotlib.figure")
    fig = figure.Figure(figsize=(12, 4))
    left, middle, right = fig.subplots(1, 3)
    history = {"loss": [1.0, 0.5, 0.25], "accuracy": [0.5, 0.75, 1.0], "val_accuracy": [0.5, 0.5, 0.75]}
    assert plot_history(history, ax=left, log_scale=True) is left
    assert plot_history(history, metric="accuracy", ax=middle) is middle
    X, y = [[0.0, 0.0], [1.0, 1.0]], [0, 1]
    path = tmp_path / "all.png"
    assert plot_decision_boundary(Recorder(), X, y, path, resolution=5, ax=right) is right
    assert fig.axes == [left, middle, right]  # nothing added, nothing replaced
    assert [list(line.get_ydata()) for line in left.get_lines()] == [[1.0, 0.5, 0.25]]
    assert left.get_yscale() == "log" and left.get_ylabel() == "loss"
    assert [list(line.get_ydata()) for line in middle.get_lines()] == [[0.5, 0.75, 1.0], [0.5, 0.5, 0.75]]
    assert middle.get_ylabel() == "accuracy" and "validation 75.0%" in middle.get_title()
    assert right.get_title() == "2 of 2 points classified correctly (100%)"
    assert _png_size(path) == (1800, 600)  # the whole 12 x 4 inch figure at 150 dpi
    assert not hasattr(left, "_repr_png_")  # the user's figure shows itself as it always does


def test_a_custom_metric_of_a_history(mpl: Any) -> None:
    train = pytest.importorskip("nn.train")
    history = train.History()
    for epoch in range(3):
        history.append({"loss": 1.0, "f1": 0.2 * epoch, "val_f1": 0.1 * epoch})
    ax = plot_history(history, metric="f1")
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[0.0, 0.2, 0.4], [0.0, 0.1, 0.2]]
    assert len(ax.figure.axes) == 1
    with pytest.raises(ValueError, match="with a 'recall' list"):
        plot_history(history, metric="recall")


@pytest.mark.parametrize("function", ["history", "boundary"])
def test_ax_must_be_an_axes(mpl: Any, function: str) -> None:
    figure = pytest.importorskip("matplotlib.figure")
    fig = figure.Figure()
    for bad, mentioned in ((fig, "got Figure: pass one of its Axes"), ("left", "got str"), (0, "got int")):
        with pytest.raises(TypeError, match=f"ax must be a matplotlib Axes, {mentioned}"):
            if function == "history":
                plot_history([1.0], ax=bad)
            else:
                plot_decision_boundary(Recorder(), [[0.0, 0.0]], [0], resolution=5, ax=bad)
    with pytest.raises(TypeError, match="metric must be a name"):
        plot_history([1.0], metric=["loss"])  # type: ignore[arg-type]


draw = plot_decision_boundary
BAD_CALLS = [
    ("binary-label-2", lambda: draw(Recorder(), [[0, 0], [1, 1]], [0, 2]), "0/1 or -1/\\+1"),
    ("label-beyond-outputs", lambda: draw(lambda x: [0.0, 1.0], [[0, 0]], [2]), "0 .. 1, got 2"),
    ("three-coordinates", lambda: draw(Recorder(), [[0, 0, 0]], [0]), r"X\[0\].*2 finite"),
    ("nan-point", lambda: draw(Recorder(), [[0, 0], [math.nan, 0]], [0, 1]), r"X\[1\]"),
    ("length-mismatch", lambda: draw(Recorder(), [[0, 0]], [0, 1]), "len\\(X\\) is 1"),
    ("no-points", lambda: draw(Recorder(), [], []), "at least one point"),
    ("resolution-1", lambda: draw(Recorder(), [[0, 0]], [0], resolution=1), "resolution.*1"),
    ("no-outputs", lambda: draw(lambda x: [], [[0, 0]], [0]), "at least one output"),
]


@pytest.mark.parametrize(("call", "mentioned"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_decision_boundary_errors(mpl: Any, call: Any, mentioned: str) -> None:
    with pytest.raises(ValueError, match=mentioned):
        call()
