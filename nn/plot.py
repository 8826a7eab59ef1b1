"""Pictures of training: the loss and accuracy per epoch, and what a classifier learned.

    plot_history(history, "history.png")
    plot_decision_boundary(model, X, y, "boundary.png")

Every function follows matplotlib's convention for axes-level functions: it draws into the
Axes given as ``ax=`` and returns that Axes, so pictures compose into subplots::

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot_history(history, ax=left)
    plot_decision_boundary(model, X, y, ax=right)

Without ``ax`` it makes a figure of its own, without ``pyplot`` (so it leaves no global state
behind), and returns its Axes; ``ax.figure`` is the figure. In Jupyter the returned Axes shows
that figure, once. ``path`` writes the figure the Axes belongs to (with ``ax=``, your whole
figure as it stands) to a file whose format follows the suffix (``.png``, ``.svg``, ``.pdf``,
...), atomically (see ``autodiff.files.atomic_write``); or call ``ax.figure.savefig``.

matplotlib is optional (``pip install 'chaingrad[plot]'``): it is imported when a function here
is first called, never by ``import nn``.
"""

from __future__ import annotations

import importlib
import math
import os
import types
from collections.abc import Callable, Mapping, Sequence
from io import BytesIO
from typing import IO, Any

from autodiff import Value, no_grad
from autodiff.files import atomic_write
from autodiff.value import shown

PathLike = str | os.PathLike[str]

EXTRA = "chaingrad[plot]"
"""The extra that installs matplotlib."""

COLORS = ("#2166ac", "#b2182b", "#1b7837", "#e08214", "#762a83", "#35978f", "#c51b7d", "#8c510a")
"""Class colours: blue and red for two classes (as the diverging background), then more."""

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _import(function: str, module: str) -> Any:
    """``module`` imported now, by name: type checkers need no matplotlib stubs, and ``nn``
    does not import matplotlib until a picture is asked for."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{function}() needs matplotlib, which is optional: pip install '{EXTRA}' "
            "(or pip install matplotlib)"
        ) from None


def _new_axes(function: str, width: float, height: float, columns: int = 1) -> list[Any]:
    """``columns`` Axes side by side on a new Figure on the Agg canvas (no window, no pyplot)."""
    figure_module = _import(function, "matplotlib.figure")
    agg = _import(function, "matplotlib.backends.backend_agg")
    fig = figure_module.Figure(figsize=(width, height), layout="constrained")
    agg.FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, columns, i + 1) for i in range(columns)]
    # Jupyter shows an object by its _repr_png_; pyplot's figures get theirs from the inline
    # backend, which is only set up once pyplot is imported. The Axes returned shows its figure.
    fig._repr_png_ = types.MethodType(_png, fig)
    for ax in axes:
        ax._repr_png_ = types.MethodType(_png, fig)
    return axes


def _check_axes(function: str, ax: Any) -> Any:
    """``ax`` when it is a matplotlib Axes; a TypeError otherwise (a Figure is a common slip)."""
    axes_module = _import(function, "matplotlib.axes")
    if not isinstance(ax, axes_module.Axes):
        figure = hasattr(ax, "add_subplot")
        hint = ": pass one of its Axes (fig.axes[0], or from plt.subplots)" if figure else ""
        raise TypeError(f"{function}() ax must be a matplotlib Axes, got {type(ax).__name__}{hint}")
    return ax


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes, as Jupyter shows it."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _check_path(function: str, path: PathLike | None, fig: Any) -> str | None:
    """The file format ``path``'s suffix names (None without a path); a ValueError listing the
    formats when it names none that matplotlib writes."""
    if path is None:
        return None
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    formats = fig.canvas.get_supported_filetypes()
    if suffix not in formats:
        raise ValueError(
            f"{function}() writes a format named by the file's suffix, one of "
            f"{', '.join('.' + f for f in sorted(formats))}; got {os.fspath(path)!r}"
        )
    return suffix


def _save(ax: Any, path: PathLike | None, file_format: str | None) -> None:
    """Write the (root) figure ``ax`` belongs to, when there is a ``path``."""
    if path is None:
        return
    fig = ax.figure.figure  # a subfigure's figure is the whole one

    def write(file: IO[Any]) -> None:
        fig.savefig(file, format=file_format, dpi=150)

    atomic_write(path, write, binary=True)


# --- loss and accuracy per epoch ---------------------------------------------------------------


def _series(history: Any, quantities: Sequence[str]) -> dict[str, list[float]]:
    """The per-epoch lists of ``quantities`` (each with its ``val_`` and ``test_`` versions) in
    ``history``: a mapping, an object with them as attributes or items (a ``History``), or a
    plain sequence of losses. The first quantity must be there."""
    names = [prefix + quantity for quantity in quantities for prefix, *_ in CURVES]
    if isinstance(history, Mapping):
        found = {name: history[name] for name in names if name in history}
    elif isinstance(history, Sequence) and not isinstance(history, (str, bytes)):
        found = {"loss": history}
    else:
        found = {name: _member(history, name) for name in names}
    first = quantities[0]
    if found.get(first) is None:
        raise ValueError(
            f"plot_history() needs a list of losses, or a History or mapping with a {first!r} list, "
            f"got {type(history).__name__}"
        )
    series: dict[str, list[float]] = {}
    for name, values in found.items():
        if values is None:
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            kind = type(values).__name__
            raise ValueError(f"plot_history() {name!r} must be a list of numbers, got {kind}")
        numbers = []
        for epoch, v in enumerate(values):
            try:
                numbers.append(float(v.data if isinstance(v, Value) else v))
            except (TypeError, ValueError, OverflowError):
                raise ValueError(
                    f"plot_history() {name!r} must hold numbers, got {shown(v)} at index {epoch}"
                ) from None
        if numbers:
            series[name] = numbers
    if first not in series:
        raise ValueError(f"plot_history() got no epochs: the {first!r} list is empty")
    return series


def _member(history: Any, name: str) -> Any:
    """``history.name``, or a History's other metric ``name`` (in its ``records``); else None."""
    if hasattr(history, name):
        return getattr(history, name)
    records = getattr(history, "records", None)
    return records.get(name) if isinstance(records, Mapping) else None


CURVES = (
    ("", "training", COLORS[0], "-"),
    ("val_", "validation", COLORS[1], "--"),
    ("test_", "test", COLORS[2], ":"),
)
"""Each series' prefix, legend label, colour and line style."""


def _last(values: list[float], percent: bool) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "not finite"
    return f"{finite[-1]:.1%}" if percent else f"{finite[-1]:.4g}"


def plot_history(
    history: Any,
    path: PathLike | None = None,
    log_scale: bool = False,
    *,
    metric: str | None = None,
    ax: Any = None,
) -> Any:
    """A quantity per epoch: the training curve, and the validation (and test) curves when
    measured.

    ``history`` is a ``nn.train.History``, any object or mapping with per-epoch lists ``loss``
    and optionally ``accuracy``, ``val_loss``, ``val_accuracy`` (or ``test_...``) or any other
    metric, or just a list of losses. ``metric`` names the quantity drawn ("loss" by default).
    Into ``ax`` it draws that one quantity; without ``ax`` and ``metric`` it makes a figure with
    the loss and, beside it, the accuracy when there is one. Accuracies are fractions (0.97 for
    97%), drawn as percentages. ``log_scale`` draws the loss on a log axis, where a loss
    shrinking by the same factor each epoch is a straight line.

    Returns the Axes it drew the quantity in (the loss, on a figure of two); ``path`` writes
    the figure the Axes belongs to."""
    if metric is not None and not isinstance(metric, str):
        kind = type(metric).__name__
        raise TypeError(f"plot_history() metric must be a name such as 'accuracy', got {kind}")
    both = metric is None and ax is None
    series = _series(history, [metric or "loss", *(["accuracy"] if both else [])])
    quantities = [metric or "loss"]
    if both and any(name.endswith("accuracy") for name in series):
        quantities.append("accuracy")
    if ax is None:
        axes = _new_axes("plot_history", 5.5 + 4.5 * (len(quantities) - 1), 4.0, len(quantities))
    else:
        axes = [_check_axes("plot_history", ax)]
    file_format = _check_path("plot_history", path, axes[0].figure)
    ticker = _import("plot_history", "matplotlib.ticker")
    for quantity, panel in zip(quantities, axes):
        _curves(panel, series, quantity, log_scale, ticker)
    _save(axes[0], path, file_format)
    return axes[0]


def _curves(ax: Any, series: dict[str, list[float]], quantity: str, log_scale: bool, ticker: Any) -> None:
    """Draw ``quantity``'s training, validation and test curves into ``ax``."""
    percent = quantity.endswith("accuracy")
    titles = []
    for prefix, label, color, style in CURVES:
        values = series.get(prefix + quantity)
        if values is None:
            continue
        epochs = range(1, len(values) + 1)
        ax.plot(epochs, values, style, color=color, label=label, linewidth=2,
                marker="o" if len(values) <= 30 else None, markersize=4)
        titles.append(f"{label} {_last(values, percent)}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(quantity)
    ax.set_title(f"{quantity}: " + ", ".join(titles) + " at the end", fontsize=10)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    if percent:
        ax.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1.0))
        shown = [v for name in series if name.endswith(quantity) for v in series[name]]
        top = max((v for v in shown if math.isfinite(v)), default=1.0)
        ax.set_ylim(0.0, max(1.0, top) * 1.03)
    elif log_scale:
        ax.set_yscale("log")
    if len(titles) > 1:
        ax.legend()


# --- decision boundaries -----------------------------------------------------------------------


def _scores(model: Callable[[list[float]], Any], point: list[float]) -> list[float]:
    """The model's outputs at ``point`` as floats; a single output may come bare or in a list."""
    out = model(point)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return [o.data if isinstance(o, Value) else float(o) for o in out]


def _check_points(X: Any, y: Any) -> tuple[list[list[float]], list[Any]]:
    try:
        n, m = len(X), len(y)
    except TypeError:
        raise ValueError("plot_decision_boundary() needs X and y as sequences") from None
    if n != m:
        raise ValueError(f"plot_decision_boundary() needs one label per point: len(X) is {n}, len(y) is {m}")
    if n == 0:
        raise ValueError("plot_decision_boundary() needs at least one point")
    points = []
    for i, x in enumerate(X):
        try:
            point = [float(c) for c in x]
        except (TypeError, ValueError):
            point = []
        if len(point) != 2 or not all(math.isfinite(c) for c in point):
            raise ValueError(
                f"plot_decision_boundary() draws 2-D inputs: X[{i}] must be 2 finite numbers, got {shown(x)}"
            )
        points.append(point)
    return points, list(y)


def plot_decision_boundary(
    model: Callable[[list[float]], Any],
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    path: PathLike | None = None,
    resolution: int = 100,
    threshold: float = 0.0,
    *,
    ax: Any = None,
) -> Any:
    """The plane coloured by what ``model`` predicts at each point, with the points ``X`` drawn
    over it in the colours of their labels ``y``.

    ``model`` maps ``[x1, x2]`` to its outputs (an ``MLP``, or any function returning Values
    or numbers). With one output it is a binary classifier: class 1 (red) where the output is
    above ``threshold`` (0 for a score or logit), labels 0/1 or -1/+1; the background shades
    with ``tanh(output - threshold)`` and a black line marks the boundary. With ``k`` outputs the
    class is the largest output's index, labels ``0 .. k-1``. The model is evaluated on a
    ``resolution`` x ``resolution`` grid under ``autodiff.no_grad()``. The title gives the
    share of the points ``X`` classified correctly. Draws into ``ax`` when given, else into a
    figure of its own shaped like the data; returns the Axes. ``path`` writes the figure the
    Axes belongs to."""
    points, labels = _check_points(X, y)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(
            f"plot_decision_boundary() resolution must be a whole number >= 2, got {shown(resolution)}"
        )
    (x_lo, x_hi), (y_lo, y_hi) = (_padded([p[d] for p in points]) for d in (0, 1))
    # the axes keep the data's proportions (equal scales); so does the figure, within reason
    if ax is None:
        height = min(max(1.0 + 5.4 * (y_hi - y_lo) / (x_hi - x_lo), 3.5), 8.0)
        (ax,) = _new_axes("plot_decision_boundary", 6.4, height)
    else:
        _check_axes("plot_decision_boundary", ax)
    file_format = _check_path("plot_decision_boundary", path, ax.figure)

    with no_grad():
        k = len(_scores(model, points[0]))
        if k == 0:
            raise ValueError("plot_decision_boundary() needs a model with at least one output, got none")
        if k == 1:
            values = set(labels)
            if values <= {0, 1}:
                classes: list[Any] = [0, 1]
            elif values <= {-1, 1}:
                classes = [-1, 1]
            else:
                raise ValueError(
                    "plot_decision_boundary(): a model with one output is a binary classifier, whose "
                    f"labels are 0/1 or -1/+1; got {sorted(map(shown, values))[:6]}"
                )

            def predict(point: list[float]) -> tuple[int, list[float]]:
                score = _scores(model, point)[0] - threshold
                return int(score > 0), [score]
        else:
            classes = list(range(k))
            wrong = [label for label in labels if label not in classes]
            if wrong:
                raise ValueError(
                    f"plot_decision_boundary(): a model with {k} outputs predicts labels 0 .. {k - 1}, "
                    f"got {shown(wrong[0])}"
                )

            def predict(point: list[float]) -> tuple[int, list[float]]:
                """The class, and each class's margin: its score minus the best other score,
                positive exactly where it wins."""
                scores = _scores(model, point)
                ranked = sorted(range(k), key=scores.__getitem__, reverse=True)
                best, second = scores[ranked[0]], scores[ranked[1]]
                return ranked[0], [s - (second if c == ranked[0] else best) for c, s in enumerate(scores)]

        gx = [x_lo + (x_hi - x_lo) * i / (resolution - 1) for i in range(resolution)]
        gy = [y_lo + (y_hi - y_lo) * j / (resolution - 1) for j in range(resolution)]
        grid = [[predict([a, b]) for a in gx] for b in gy]
        predicted = [classes[predict(p)[0]] for p in points]

    correct = sum(p == label for p, label in zip(predicted, labels))
    index = [classes.index(label) for label in labels]
    palette = list(COLORS[: len(classes)]) if len(classes) <= len(COLORS) else None
    cmap = _import("plot_decision_boundary", "matplotlib").colormaps["tab20"]
    if k == 1:
        shade = [[math.tanh(margins[0]) for _, margins in row] for row in grid]
        # vmin/vmax beyond +-1: the most confident regions stay light enough to show the points
        ax.contourf(gx, gy, shade, levels=[i / 10 for i in range(-10, 11)], cmap="RdBu_r",
                    vmin=-1.6, vmax=1.6, alpha=0.6)
        sides = {c for row in grid for c, _ in row}
        if len(sides) == 2:
            ax.contour(gx, gy, [[margins[0] for _, margins in row] for row in grid], levels=[0.0],
                       colors="black", linewidths=2)
    else:
        present = sorted({c for row in grid for c, _ in row})
        for c in present:
            # each class's region is where its margin is positive: contours of the margins,
            # interpolated between grid points, follow the true boundaries more closely than
            # the grid's cells would, and two neighbours' margins meet on one line
            margin = [[margins[c] for _, margins in row] for row in grid]
            top = max(max(row) for row in margin)
            color = palette[c] if palette else cmap(c % cmap.N)
            ax.contourf(gx, gy, margin, levels=[0.0, top + 1.0], colors=[color], alpha=0.3)
            if len(present) > 1:
                ax.contour(gx, gy, margin, levels=[0.0], colors="black", linewidths=1, alpha=0.6)
    size = 36 if len(points) <= 300 else 12
    for c, label in enumerate(classes):
        members = [p for p, i in zip(points, index) if i == c]
        if not members:
            continue
        color = palette[c] if palette else cmap(c % cmap.N)
        ax.scatter([p[0] for p in members], [p[1] for p in members], s=size, color=color,
                   marker=MARKERS[c % len(MARKERS)], edgecolors="white", linewidths=0.7,
                   label=f"class {label}", zorder=3)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"{correct} of {len(points)} points classified correctly ({correct / len(points):.0%})",
                 fontsize=10)
    ax.legend(loc="best", framealpha=0.85, fontsize=9)
    _save(ax, path, file_format)
    return ax


def _padded(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad
