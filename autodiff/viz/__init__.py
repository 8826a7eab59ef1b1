"""Pictures of computation graphs, and a step-through of the backward pass.

``draw_graph(root)`` returns a ``graphviz.Digraph``: one record per ``Value`` (its label, data and
grad), a small operation node between a value and its inputs, and folded-in constants as grey
boxes. Inputs and parameters (leaves), constants, intermediates and the output each have their
own style. It displays inline in Jupyter and ``.render("graph.svg")`` writes SVG, PNG or PDF.

``backward_steps(root)`` yields one ``BackwardStep`` per node, in the order ``backward()`` visits
them: the node, its upstream gradient, and for each input the local derivative and the product
``upstream * local`` that is added to that input's gradient (the vector-Jacobian product, one
scalar at a time). ``save_backward_html(root, path)`` writes one self-contained page with a
slider to step through them.

Rendering needs a ``dot`` program. ``find_renderers()`` looks, in order, for the program named by
the environment variable ``CHAINGRAD_DOT``, Graphviz's own ``dot`` on the PATH, and
``graphviz-pure`` (a self-contained port of dot from PyPI, installed by ``pip install
'chaingrad[viz]'``) on the PATH or beside the running Python. Building a graph needs only the
``graphviz`` package; its DOT text is ``graph.source``, whether or not a renderer is found.

This module only reads the graph: it never changes the data, grad or label of a node, and the
engine knows nothing of it.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import numbers
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ..value import DomainError, Value

if TYPE_CHECKING:
    import graphviz

__all__ = [
    "ENV_VAR",
    "BackwardStep",
    "Contribution",
    "GraphTooLargeError",
    "RenderError",
    "Renderer",
    "RendererNotFoundError",
    "backward_steps",
    "draw_graph",
    "find_renderer",
    "find_renderers",
    "group_by_label",
    "save_backward_html",
]

ENV_VAR = "CHAINGRAD_DOT"
"""The environment variable that names a dot program to use before any other."""

RANKDIRS = ("LR", "TB", "RL", "BT")
"""Directions a graph can flow: left to right, top to bottom, and their reverses."""

NumberFormat = str | Callable[[float], str]
"""How numbers are shown: a format spec such as ``".4g"`` or ``".3f"``, or a function."""

GroupPath = str | Sequence[str] | None
Grouping = Callable[[Value], GroupPath] | Literal["labels"] | None
"""``group=`` of ``draw_graph``: a function from a node to its cluster (a name, or names from
the outermost cluster in), or ``"labels"`` for ``group_by_label``."""


class GraphTooLargeError(ValueError):
    """A graph has more picture nodes than ``max_nodes``: Graphviz would take too long on it."""


class RendererNotFoundError(RuntimeError):
    """No program that renders DOT (to the format asked for) was found."""


class RenderError(RuntimeError):
    """The dot program ran and failed."""


# === colours and sizes =========================================================================

_FONT = "Helvetica"
_INK = "#111827"
_MUTED = "#6b7280"
_EDGE = "#6b7280"
_RED = "#dc2626"
_RED_FILL = "#fee2e2"
_STYLE = {  # kind: (border colour, label-cell fill, border width)
    "leaf": ("#2563eb", "#dbeafe", 1),
    "intermediate": ("#6b7280", "#f3f4f6", 1),
    "output": ("#b45309", "#fde68a", 2),
}
_OP_FILL = "#fef3c7"
_OP_BORDER = "#a16207"
_CONST_COLOUR = "#9ca3af"
_BOX = ("#047857", "#ecfdf5")  # a collapsed group: border, fill
_CLUSTER_BORDER = "#9ca3af"
_CLUSTER_FILLS = ("#fafafa", "#f0f9ff", "#f5f3ff")
_CHAR_WIDTH = 6.4  # points per character of the 11 pt font, generously (for fixed-size cells)
_SMALL_CHAR_WIDTH = 5.6  # the same for the 9 pt edge labels


# === arguments =================================================================================


def _check_root(root: object, caller: str) -> Value:
    if isinstance(root, Value):
        return root
    hint = ""
    if isinstance(root, (list, tuple)) and root and isinstance(root[0], Value):
        hint = " (a layer or MLP returns a list: pass one of its outputs, such as out[0])"
    raise TypeError(f"{caller}() needs a Value as root, got {type(root).__name__}: {root!r:.80}{hint}")


def _formatter(number_format: NumberFormat) -> Callable[[float], str]:
    if callable(number_format):
        custom = number_format

        def call(x: float) -> str:
            text = custom(x)
            if not isinstance(text, str):
                raise TypeError(
                    f"number_format must return a str, got {type(text).__name__} for {x!r}"
                )
            return text

        return call
    if not isinstance(number_format, str):
        raise TypeError(
            f"number_format must be a format spec such as '.4g' or a function, "
            f"got {type(number_format).__name__}"
        )
    try:
        format(1.5, number_format)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"number_format {number_format!r} is not a format spec for floats ({error}); "
            f"try '.4g' or '.3f'"
        ) from None
    return lambda x: format(x, number_format)


def _check_rankdir(rankdir: object) -> str:
    if isinstance(rankdir, str) and rankdir.upper() in RANKDIRS:
        return rankdir.upper()
    raise ValueError(
        f"unknown rankdir {rankdir!r}: use 'LR' (left to right) or 'TB' (top to bottom), "
        f"or 'RL' or 'BT'"
    )


def _check_max_nodes(max_nodes: object) -> int:
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"max_nodes must be a whole number, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    return max_nodes


def _check_path(path: object, caller: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}() needs a file path, got {type(path).__name__}: {path!r:.80}")
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder; give a file name in it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: the folder {target.parent} does not exist")
    return target


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it and ``os.replace``, so
    that ``target`` is never seen half written and a failure leaves it as it was."""
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise type(error)(error.errno, f"cannot write {target}: {error.strerror}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


# === groups ====================================================================================


def group_by_label(node: Value) -> tuple[str, ...] | None:
    """The clusters that a dotted label names: ``'L0.N3.w1'`` is in cluster ``'L0'`` and, inside
    it, ``'L0.N3'``; a label without a dot, or no label, names none.

    ``nn`` labels its parameters and neuron outputs this way, so ``draw_graph(loss,
    group=group_by_label)`` (or ``group="labels"``) draws a network by layer and neuron.
    """
    label = node.label
    if not label or "." not in label:
        return None
    parts = label.split(".")[:-1]
    return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))


def _group_paths(order: list[Value], grouping: Grouping) -> dict[Value, tuple[str, ...]]:
    """Each node's cluster path, outermost first (empty: in no cluster).

    The ``group`` function places a node; when it says None, an operation node joins the
    cluster of its consumers if they all share one, so that the unlabelled products and sums
    inside a neuron join that neuron. Leaves it says None for stay outside every cluster.
    """
    if grouping is None:
        return {}
    if grouping == "labels":
        grouping = group_by_label
    elif not callable(grouping):
        raise TypeError(f"group must be a function, 'labels' or None, got {grouping!r:.80}")
    consumers: dict[Value, list[Value]] = {}
    for node in order:
        for x in node.inputs:
            if isinstance(x, Value):
                consumers.setdefault(x, []).append(node)
    paths: dict[Value, tuple[str, ...]] = {}
    for node in reversed(order):  # consumers before the nodes they use
        given = grouping(node)
        path: tuple[str, ...]
        if given is None:
            path = ()
            users = consumers.get(node)
            if node.op is not None and users:
                first = paths[users[0]]
                if all(paths[user] == first for user in users):
                    path = first
        elif isinstance(given, str):
            path = (given,)
        elif isinstance(given, Sequence) and all(isinstance(name, str) for name in given):
            path = tuple(given)
        else:
            raise TypeError(
                f"group() must return a cluster name, a sequence of names or None, "
                f"got {given!r:.80} for {node!r:.80}"
            )
        paths[node] = path
    return paths


# === formulas and names ========================================================================

_INFIX = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
_ATOM = 9


def _formula(
    node: Value,
    name_of: Callable[[Value], str | None],
    fmt: Callable[[float], str],
    budget: int,
) -> str:
    """``node`` as an expression, expanding operations until ``name_of`` names a node (or at
    most ``budget`` nodes have been expanded, past which it writes "…")."""
    left = [budget]

    def number(x: float) -> tuple[str, int]:
        return fmt(x), (3 if x < 0 else _ATOM)

    def show(v: Value) -> tuple[str, int]:
        name = name_of(v)
        if name is not None:
            return name, _ATOM
        if v.op is None:
            return number(v.data)
        if left[0] <= 0:
            return "…", _ATOM
        left[0] -= 1
        rule = v.op
        args = [show(x) if isinstance(x, Value) else number(x) for x in v.inputs]
        symbol = rule.symbol
        if _over_vectors(v):
            half = len(args) // 2
            xs, ys = args[:half], args[half:]
            if rule.name == "dot":  # a weighted sum: w1·x1 + w2·x2 + b (a weight of input 1)
                terms = []
                for (a, pa), (b, pb) in zip(xs, ys):
                    if b == fmt(1.0) or a == fmt(1.0):
                        terms.append(a if b == fmt(1.0) else b)
                        continue
                    terms.append(f"{a if pa >= 2 else f'({a})'}·{b if pb > 2 else f'({b})'}")
                return " + ".join(terms), 1
            return (f"{rule.name}(({', '.join(a for a, _ in xs)}), "
                    f"({', '.join(b for b, _ in ys)}))"), _ATOM
        if len(args) == 2 and symbol in _INFIX:
            prec = _INFIX[symbol]
            (a, pa), (b, pb) = args
            if pa < prec or (symbol == "**" and pa <= prec):
                a = f"({a})"
            if pb < prec or (pb == prec and symbol in ("-", "/")):
                b = f"({b})"
            return f"{a} {'·' if symbol == '*' else symbol} {b}", prec
        if len(args) == 1 and symbol == "-":
            a, pa = args[0]
            return f"-({a})" if pa < 3 else f"-{a}", 3
        return f"{symbol}({', '.join(a for a, _ in args)})", _ATOM

    return show(node)[0]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _over_vectors(node: Value) -> bool:
    """True for a node whose rule takes two vectors (``dot``): its inputs are both vectors, one
    after the other, and each of its two partials returns a vector."""
    rule = node.op
    return rule is not None and len(node.inputs) != rule.arity


def _local_rules(node: Value) -> list[str]:
    """Each input's partial derivative as the rule's ``math`` writes it (``['d/dx = y', 'd/dy =
    x']``), or an empty list when that line does not have one formula per partial."""
    rule = node.op
    assert rule is not None
    _, _, derivatives = rule.math.partition(";")
    parts = [part.strip() for part in derivatives.split(",  ")] if derivatives else []
    if len(parts) != rule.arity:
        return []
    # the formula alone, without any remark after it: "d/dx = 1 - tanh(x)^2, computed as ..."
    # (a remark follows a comma and one space; partials are separated by a comma and two)
    parts = [re.split(r",\s|:\s", part, maxsplit=1)[0] for part in parts]
    if _over_vectors(node):
        half = len(node.inputs) // 2
        return [parts[0]] * half + [parts[1]] * (len(node.inputs) - half)
    return parts


def _input_names(node: Value) -> list[str]:
    """What the rule calls each input: x (and y), or x1..xn and y1..yn for two vectors."""
    n = len(node.inputs)
    if _over_vectors(node):
        half = n // 2
        return [f"x{i + 1}" for i in range(half)] + [f"y{i + 1}" for i in range(n - half)]
    return ["x"] if n == 1 else (["x", "y"] if n == 2 else [f"x{i + 1}" for i in range(n)])


# === the graph as Graphviz sees it ============================================================


@dataclass
class _Scene:
    """Everything that decides one picture, worked out before any DOT is written."""

    root: Value
    order: list[Value]
    index: dict[Value, int]
    paths: dict[Value, tuple[str, ...]]
    boxes: dict[tuple[str, ...], list[Value]]  # collapsed groups: their members in order
    fmt: Callable[[float], str]

    def box_of(self, node: Value) -> tuple[str, ...] | None:
        path = self.paths.get(node, ())
        return path if path in self.boxes else None

    def name(self, node: Value) -> str:
        """How text refers to a node: its label, a short formula, or its number."""
        if node.label:
            return node.label
        if node.op is None:
            return self.fmt(node.data)
        formula = _formula(node, lambda v: v.label or None, self.fmt, budget=3)
        return formula if len(formula) <= 28 else f"node {self.index[node]}"

    def picture_nodes(self) -> int:
        count = len(self.boxes)
        for node in self.order:
            if self.box_of(node) is None:
                count += 1
                if node.op is not None:
                    count += 1 + sum(1 for x in node.inputs if not isinstance(x, Value))
        return count


def _drawing_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs before the nodes made from them (a topological
    order), first inputs first: the order in which a picture lists them, so that Graphviz
    tends to place w0 above w1 and neuron 0 above neuron 1. An explicit stack, no recursion."""
    order: list[Value] = []
    placed: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, inputs_placed = stack.pop()
        if node in placed:
            continue
        if inputs_placed:
            placed.add(node)
            order.append(node)
            continue
        stack.append((node, True))
        for x in reversed(node.inputs):
            if isinstance(x, Value) and x not in placed:
                stack.append((x, False))
    return order


def _scene(
    root: Value, grouping: Grouping, collapse: bool, fmt: Callable[[float], str]
) -> _Scene:
    order = _drawing_order(root)
    paths = _group_paths(order, grouping)
    boxes: dict[tuple[str, ...], list[Value]] = {}
    if collapse:
        if grouping is None:
            raise ValueError("collapse=True needs group=, which says what to collapse "
                             "(group='labels' for networks from nn)")
        for node in order:
            path = paths.get(node, ())
            if path:
                boxes.setdefault(path, []).append(node)
    return _Scene(root, order, {node: i for i, node in enumerate(order)}, paths, boxes, fmt)


def _many(n: int, one: str, more: str | None = None) -> str:
    return f"{n} {one if n == 1 else (more or one + 's')}"


def _too_large(scene: _Scene, max_nodes: int, grouping: Grouping, collapse: bool) -> str | None:
    count = scene.picture_nodes()
    if count <= max_nodes:
        return None
    leaves = sum(1 for node in scene.order if node.op is None)
    ops = Counter(node.op.name for node in scene.order if node.op is not None)
    constants = sum(1 for node in scene.order for x in node.inputs if not isinstance(x, Value))
    kinds = ", ".join(f"{n} {name}" for name, n in ops.most_common(4))
    if len(ops) > 4:
        kinds += ", …"
    message = (
        f"this graph would give Graphviz {count} nodes, more than max_nodes={max_nodes}: "
        f"{_many(len(scene.order), 'Value')} ({_many(leaves, 'leaf', 'leaves')}, "
        f"{_many(sum(ops.values()), 'operation')}{': ' + kinds if kinds else ''}) and "
        f"{_many(constants, 'constant')}. "
    )
    hints = ["draw a smaller part of it (the graph of one neuron's output, say)"]
    if not collapse:
        labelled = _scene(scene.root, grouping or "labels", True, scene.fmt)
        if labelled.boxes:
            how = "collapse=True" if grouping is not None else "group='labels', collapse=True"
            hints.append(f"pass {how} for one box per neuron ({labelled.picture_nodes()} nodes)")
    hints.append("or raise max_nodes (Graphviz slows down past a few thousand nodes)")
    return message + "To see it: " + "; ".join(hints) + "."


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "drawing graphs needs the graphviz package: pip install 'chaingrad[viz]' "
            "(or pip install graphviz graphviz-pure)"
        ) from None
    return graphviz


def _cell(text: str, **attrs: str) -> str:
    extra = "".join(f' {key.upper()}="{value}"' for key, value in attrs.items())
    return f"<TD{extra}>{text}</TD>"


def _table(cells: Sequence[str], border: str, width: int) -> str:
    """An HTML-like label: one rounded row of cells with rules between them."""
    return (
        f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" STYLE="ROUNDED" '
        f'COLUMNS="*" COLOR="{border}" BGCOLOR="white"><TR>{"".join(cells)}</TR></TABLE>>'
    )


@dataclass
class _StepView:
    """What a frame of the backward pass adds to a picture."""

    step: BackwardStep
    grad_width: float  # points: the grad cells of every frame are this wide
    edge_width: float  # points: so are the edge labels that show the products
    caption: bool


def _build(
    scene: _Scene,
    *,
    rankdir: str,
    show_grad: bool,
    title: str | None,
    view: _StepView | None = None,
) -> Any:
    """The Digraph of ``scene``; with ``view``, the frame of one backward step."""
    picture_class = _picture_class()
    fmt = scene.fmt
    esc = html.escape
    graph = picture_class(
        name="computation",
        format="svg",
        graph_attr={
            "rankdir": rankdir, "bgcolor": "white", "fontname": _FONT, "fontcolor": _INK,
            "nodesep": "0.25", "ranksep": "0.3", "pad": "0.15", "labeljust": "l",
        },
        node_attr={"fontname": _FONT, "fontsize": "11", "fontcolor": _INK},
        edge_attr={"fontname": _FONT, "fontsize": "9", "color": _EDGE, "arrowsize": "0.6"},
    )
    step = view.step if view is not None else None
    grads: Mapping[Value, float] | None = step.grads if step is not None else None
    updated = {c.input for c in step.contributions} if step is not None else set()
    done: dict[Value, int] = {}  # in a frame: the nodes already processed, by step index
    if step is not None:
        done = {s.node: s.index for s in step._run.steps[: step.index + 1]}

    caption = None
    if view is not None and view.caption:
        lines = [esc(line) for line in view.step.describe(fmt).splitlines()]
        caption = '<BR ALIGN="LEFT"/>'.join(lines) + '<BR ALIGN="LEFT"/> '
    elif title:
        caption = f"<B>{esc(title)}</B>"
    if caption:
        graph.attr(label=f"<{caption}>", labelloc="t", fontsize="12")

    def kind(node: Value) -> str:
        if node is scene.root:
            return "output"
        return "leaf" if node.op is None else "intermediate"

    def short_label(node: Value) -> str:
        label = node.label or ""
        path = scene.paths.get(node, ())
        if path and label.startswith(path[-1] + "."):
            return label[len(path[-1]) + 1 :]
        return label

    def grad_cell(node: Value) -> str:
        if grads is None:
            return _cell(f"grad {esc(fmt(node.grad))}")
        assert view is not None
        sizing = {"fixedsize": "TRUE", "width": f"{view.grad_width:.0f}", "height": "20"}
        if node not in grads:
            return _cell(f'<FONT COLOR="{_MUTED}">grad –</FONT>', **sizing)
        text = f"grad {esc(fmt(grads[node]))}"
        if node in updated:
            return _cell(f'<FONT COLOR="{_RED}"><B>{text}</B></FONT>', bgcolor=_RED_FILL, **sizing)
        return _cell(text, **sizing)

    def value_node(target: Any, node: Value) -> None:
        i = scene.index[node]
        border, fill, width = _STYLE[kind(node)]
        current = step is not None and node is step.node
        if current:
            border, fill = _RED, _RED_FILL
        cells = []
        label = short_label(node)
        if label:
            cells.append(_cell(f"<B>{esc(label)}</B>", bgcolor=fill))
        cells.append(_cell(f"data {esc(fmt(node.data))}"))
        if show_grad:
            cells.append(grad_cell(node))
        what = {"leaf": "input or parameter", "intermediate": "intermediate", "output": "output"}
        tooltip = f"{node.label or 'node ' + str(i)} ({what[kind(node)]}): data={node.data!r}"
        if show_grad and grads is None:
            tooltip += f", grad={node.grad!r}"
        target.node(f"v{i}", label=_table(cells, border, width), shape="plain", tooltip=tooltip)
        if node.op is not None:
            symbol = node.op.symbol
            fixed = len(symbol) <= 2
            target.node(
                f"o{i}", label=esc(symbol if symbol != "*" else "×"),
                shape="circle" if fixed else "ellipse", width="0.32" if fixed else "0.3",
                height="0.32" if fixed else "0.3", fixedsize="true" if fixed else "false",
                style="filled", fillcolor=_OP_FILL, color=_OP_BORDER, margin="0.02",
                fontsize="12" if fixed else "10", tooltip=f"{node.op.name}: {node.op.math}",
            )
            for k, x in enumerate(node.inputs):
                if not isinstance(x, Value):
                    target.node(
                        f"c{i}_{k}", label=esc(fmt(x)), shape="box", style="rounded,dashed",
                        color=_CONST_COLOUR, fontcolor=_MUTED, fontsize="10", height="0.25",
                        width="0.3", margin="0.05,0.02", tooltip=f"constant {x!r} (not a node)",
                    )

    def box_node(target: Any, path: tuple[str, ...], members: list[Value]) -> None:
        inside = set(members)
        outputs = [m for m in members if m is scene.root or any(
            c not in inside for c in consumers.get(m, ()))]
        params = [m for m in members if m.op is None and m not in outputs]
        border, fill = _BOX
        width = 1
        if scene.root in inside:
            border, width = _STYLE["output"][0], 2
        names: dict[Value, str] = {}

        def name_of(v: Value) -> str | None:
            if v in inside:
                return (short_label(v) or None) if v.op is None else None
            if v not in names:
                outer = scene.box_of(v)
                names[v] = outer[-1] if outer else (v.label or f"x{len(names) + 1}")
            return names[v]

        title_name = esc(path[-1].rsplit(".", 1)[-1] if len(path) > 1 else path[-1])
        rows = [f'<TR><TD ALIGN="LEFT" BGCOLOR="{fill}"><B>{title_name}</B></TD></TR>']
        for out in outputs:
            formula = _formula(out, name_of, fmt, budget=80) if out.op is not None else ""
            lines = textwrap.wrap(formula, 44, break_on_hyphens=False)
            if len(lines) > 4:
                lines = [*lines[:3], "…"]
            name = esc(short_label(out) or "out")
            if lines:
                text = '<BR ALIGN="LEFT"/>'.join(esc(line) for line in lines)
                rows.append(f'<TR><TD ALIGN="LEFT">{name} = {text}<BR ALIGN="LEFT"/></TD></TR>')
            numbers_ = f"data {esc(fmt(out.data))}"
            if show_grad:
                numbers_ += f"   grad {esc(fmt(out.grad))}"
            rows.append(f'<TR><TD ALIGN="LEFT">{name}: {numbers_}</TD></TR>')
        shown = params[:4] if len(params) <= 5 else params[:3]
        for p in shown:
            text = f"{esc(short_label(p) or 'leaf')} = {esc(fmt(p.data))}"
            if show_grad:
                text += f"   grad {esc(fmt(p.grad))}"
            rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{_MUTED}">{text}</FONT></TD></TR>')
        if len(params) > len(shown):
            more = len(params) - len(shown)
            rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{_MUTED}">… and {more} more '
                        f'parameters</FONT></TD></TR>')
        label = (
            f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
            f'STYLE="ROUNDED" ROWS="*" COLOR="{border}" BGCOLOR="white">{"".join(rows)}</TABLE>>'
        )
        target.node(f"g{box_ids[path]}", label=label, shape="plain",
                    tooltip=f"{path[-1]}: {len(members)} nodes")

    consumers: dict[Value, list[Value]] = {}
    for node in scene.order:
        for x in node.inputs:
            if isinstance(x, Value):
                consumers.setdefault(x, []).append(node)
    box_ids = {path: k for k, path in enumerate(scene.boxes)}

    # nodes, cluster by cluster
    members_at: dict[tuple[str, ...], list[Value]] = {}
    for node in scene.order:
        path = scene.paths.get(node, ())
        if path not in scene.boxes:
            members_at.setdefault(path, []).append(node)
    clusters = list(dict.fromkeys(  # in the order their first nodes come
        p[:k] for p in [*members_at, *scene.boxes] for k in range(1, len(p) + 1)))
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for p in clusters:
        children.setdefault(p[:-1], []).append(p)
    cluster_ids = {p: k for k, p in enumerate(clusters)}

    def fill_cluster(target: Any, path: tuple[str, ...]) -> None:
        for node in members_at.get(path, ()):
            value_node(target, node)
        if path in scene.boxes:
            box_node(target, path, scene.boxes[path])
        for child in children.get(path, ()):
            if child in scene.boxes and child not in children and child not in members_at:
                box_node(target, child, scene.boxes[child])
                continue
            with target.subgraph(name=f"cluster_{cluster_ids[child]}") as sub:
                name = child[-1]
                if len(child) > 1 and name.startswith(child[-2] + "."):
                    name = name[len(child[-2]) + 1 :]
                sub.attr(label=f"<<B>{esc(name)}</B>>", style="rounded,filled",
                         color=_CLUSTER_BORDER, fillcolor=_CLUSTER_FILLS[(len(child) - 1) % 3],
                         fontsize="11", fontcolor=_MUTED, labeljust="l")
                fill_cluster(sub, child)

    fill_cluster(graph, ())

    # edges
    def source_of(x: Value) -> str:
        box = scene.box_of(x)
        return f"v{scene.index[x]}" if box is None else f"g{box_ids[box]}"

    @functools.cache
    def flowed_at(index: int) -> dict[int, Contribution]:
        """The contributions of step ``index``, by input position."""
        assert step is not None
        return {c.position: c for c in step._run.steps[index].contributions}

    drawn: set[tuple[str, str]] = set()
    for node in scene.order:
        i = scene.index[node]
        box = scene.box_of(node)
        if box is not None:
            head = f"g{box_ids[box]}"
            for x in node.inputs:
                if isinstance(x, Value) and scene.box_of(x) != box:
                    tail = source_of(x)
                    if (tail, head) not in drawn:
                        drawn.add((tail, head))
                        graph.edge(tail, head)
            continue
        if node.op is None:
            continue
        graph.edge(f"o{i}", f"v{i}")
        names = _input_names(node)
        ordered = len(node.inputs) == 2 == node.op.arity and node.op.name not in ("add", "mul")
        for k, x in enumerate(node.inputs):
            attrs: dict[str, str] = {}
            if ordered:
                attrs.update(headlabel=names[k], labelfontsize="8", labelfontcolor=_MUTED,
                             labeldistance="1.4", labelangle="35")
            if not isinstance(x, Value):
                graph.edge(f"c{i}_{k}", f"o{i}", style="dashed", color=_CONST_COLOUR, **attrs)
                continue
            if view is not None:
                assert step is not None
                text, colour, bold = "", _MUTED, False
                at = done.get(node)
                if at is not None:
                    mine = flowed_at(at)[k]
                    text = (f"{esc(fmt(mine.upstream))} × {esc(fmt(mine.local))}<BR/>= "
                            f"{esc(fmt(mine.product))}")
                    if at == step.index:
                        colour, bold = _RED, True
                if text:
                    text = f'<FONT COLOR="{colour}">{f"<B>{text}</B>" if bold else text}</FONT>'
                attrs["label"] = (
                    f'<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD FIXEDSIZE="TRUE" '
                    f'WIDTH="{view.edge_width:.0f}" HEIGHT="24">{text}</TD></TR></TABLE>>'
                )
                if at == step.index:
                    attrs.update(color=_RED, penwidth="2")
            graph.edge(source_of(x), f"o{i}", **attrs)
    return graph


# === rendering =================================================================================


@dataclass(frozen=True)
class Renderer:
    """A program that turns DOT into pictures: how it was found (``"dot"``, ``"graphviz-pure"``
    or ``"$CHAINGRAD_DOT"``) and its path."""

    name: str
    path: str

    @property
    def formats(self) -> frozenset[str]:
        """The output formats it writes (``svg``, ``png``, ``pdf``, ...), as it lists them."""
        return _formats(self.path)

    def render(self, source: str, format: str = "svg", *, dpi: float | None = None) -> bytes:
        """``source`` (DOT text) drawn as ``format``; ``dpi`` scales bitmaps (PNG, JPEG)."""
        if not self.formats:
            raise RendererNotFoundError(
                f"{self.name} ({self.path}) does not answer like a dot program: asked for its "
                f"formats (-T?), it listed none"
            )
        if format not in self.formats:
            raise RendererNotFoundError(
                f"{self.name} ({self.path}) cannot write {format!r}; it writes "
                f"{', '.join(sorted(self.formats))}"
            )
        command = [self.path, f"-T{format}"]
        if dpi is not None and format in ("png", "jpg", "jpeg", "gif", "bmp"):
            command.append(f"-Gdpi={dpi:g}")
        try:
            done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True,
                                  timeout=300, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"{self.name} ({self.path}) took over 300 s to draw {format}") from None
        except OSError as error:
            raise RenderError(f"{self.name} ({self.path}) could not be run: {error}") from None
        if done.returncode != 0 or not done.stdout:
            problem = done.stderr.decode("utf-8", "replace").strip() or "no output"
            raise RenderError(
                f"{self.name} ({self.path}) failed to draw {format} (exit code "
                f"{done.returncode}): {_short(problem, 600)}"
            )
        return done.stdout


@functools.lru_cache(maxsize=16)
def _formats(path: str) -> frozenset[str]:
    """The formats a dot program lists when asked for an unknown one (``-T?``); none for a
    program that does not answer like dot."""
    try:
        done = subprocess.run([path, "-T?"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    found = re.search(r"Use one of:(.*)", done.stderr.decode("utf-8", "replace"))
    return frozenset(found.group(1).split()) if found else frozenset()


def _script_dirs() -> list[Path]:
    """Where pip puts commands for the running Python: a Jupyter kernel's PATH may lack it."""
    dirs = [Path(sys.executable).parent]
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        dirs.append(Path(scripts))
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _executable(path: str) -> str | None:
    found = shutil.which(path)
    if found:
        return found
    candidate = Path(path)
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def find_renderers() -> list[Renderer]:
    """Every program found that renders DOT, best first: the one named by ``$CHAINGRAD_DOT``,
    Graphviz's ``dot`` on the PATH, then ``graphviz-pure`` (PyPI) on the PATH or in the running
    Python's scripts folder. Raises RendererNotFoundError when ``$CHAINGRAD_DOT`` is set and
    names no program."""
    found: list[Renderer] = []
    named = os.environ.get(ENV_VAR, "").strip()
    if named:
        path = _executable(named)
        if path is None:
            raise RendererNotFoundError(
                f"{ENV_VAR}={named!r} names no program that can be run; set it to the path of a "
                f"dot program (Graphviz's dot or graphviz-pure), or unset it"
            )
        found.append(Renderer(f"${ENV_VAR}", path))
    dot = shutil.which("dot")
    if dot:
        found.append(Renderer("dot", dot))
    pure = shutil.which("graphviz-pure")
    if pure is None:
        for folder in _script_dirs():
            for name in ("graphviz-pure", "graphviz-pure.exe"):
                candidate = folder / name
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    pure = str(candidate)
                    break
            if pure:
                break
    if pure:
        found.append(Renderer("graphviz-pure", pure))
    unique: list[Renderer] = []
    for renderer in found:
        if all(os.path.realpath(r.path) != os.path.realpath(renderer.path) for r in unique):
            unique.append(renderer)
    return unique


_INSTALL_HELP = (
    "Install one: pip install 'chaingrad[viz]' (brings graphviz-pure, a self-contained dot), "
    "or Graphviz itself (apt-get install graphviz, brew install graphviz, conda install "
    f"graphviz); or set {ENV_VAR} to the path of a dot program. The DOT text of a graph is "
    "still there without one: graph.source."
)


def find_renderer(format: str = "svg") -> Renderer:
    """The best renderer found that writes ``format``; RendererNotFoundError, saying how to
    install one, when there is none."""
    renderers = find_renderers()
    if not renderers:
        raise RendererNotFoundError(f"no program found to render graphs (dot). {_INSTALL_HELP}")
    for renderer in renderers:
        if renderer.name == f"${ENV_VAR}" and not renderer.formats:
            raise RendererNotFoundError(
                f"{ENV_VAR}={renderer.path!r} does not answer like a dot program: asked for its "
                f"formats (-T?), it listed none"
            )
        if format in renderer.formats:
            return renderer
    have = "; ".join(f"{r.name} writes {', '.join(sorted(r.formats & _COMMON))}" for r in renderers)
    hint = ("Graphviz's own dot writes pdf: apt-get install graphviz (or brew or conda install "
            "graphviz), or write svg or png" if format == "pdf" else "write svg or png")
    raise RendererNotFoundError(f"no renderer found writes {format!r} ({have}). {hint}.")


_COMMON = frozenset({"svg", "png", "pdf", "jpeg", "jpg", "gif", "ps", "eps", "json", "dot"})


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        if not isinstance(format, str) or not format.isalnum():
            raise ValueError(f"format must be a name such as 'svg', 'png' or 'pdf', got {format!r}")
        return format.lower()
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:
        raise ValueError(
            f"cannot tell which format to write {path} in: give it a suffix (.svg, .png, .pdf) "
            f"or pass format="
        )
    return suffix


@functools.cache
def _picture_class() -> type[Any]:
    """``graphviz.Digraph`` made to render with ``find_renderer()`` (built on first use, so that
    importing autodiff does not need the graphviz package)."""
    digraph: Any = _import_graphviz().Digraph

    class GraphPicture(digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph`` of a computation. ``render(path)`` writes SVG, PNG or PDF (by
        the suffix) with the dot program ``autodiff.viz.find_renderer`` finds, Graphviz's own
        or graphviz-pure; ``pipe(format)`` returns the bytes; Jupyter shows it inline."""

        def pipe(
            self,
            format: str | None = None,
            *,
            encoding: str | None = None,
            renderer: Renderer | None = None,
            dpi: float | None = None,
            **options: Any,
        ) -> bytes | str:
            """The picture as bytes (as text when ``encoding`` is given), ``format`` "svg" by
            default. Graphviz's own pipe options (``engine``, ``quiet``) are not supported."""
            unsupported = {k: v for k, v in options.items() if v not in (None, False)}
            if unsupported:
                raise TypeError(f"pipe() does not take {', '.join(unsupported)} here")
            format = format or self.format or "svg"
            if renderer is not None and not isinstance(renderer, Renderer):
                raise TypeError(f"renderer must be an autodiff.viz.Renderer, got {renderer!r:.80}")
            data = (renderer or find_renderer(format)).render(self.source, format, dpi=dpi)
            return data.decode(encoding) if encoding else data

        def render(
            self,
            path: str | os.PathLike[str],
            format: str | None = None,
            *,
            renderer: Renderer | None = None,
            dpi: float | None = None,
        ) -> Path:
            """Write the picture to ``path`` in ``format`` (by default the path's suffix: svg,
            png, pdf, ...) and return the path. The file is written whole or not at all. PNGs
            are drawn at ``dpi`` dots per inch (96 unless given). Unlike graphviz's own
            ``render``, it writes no DOT file beside the picture (``save()`` does)."""
            target = _check_path(path, "render")
            kind = _format_of(target, format)
            data = self.pipe(kind, renderer=renderer, dpi=96 if dpi is None else dpi)
            assert isinstance(data, bytes)
            _write_atomic(target, data)
            return target

        def view(self, *args: Any, **kwargs: Any) -> Any:
            """Not supported: ``render("graph.svg")`` and open the file, or show it in Jupyter."""
            raise NotImplementedError(
                "view() is not supported: render('graph.svg') and open the file, or show the "
                "graph in Jupyter by leaving it last in a cell"
            )

        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None, **kwargs: Any
        ) -> dict[str, Any]:
            """What Jupyter shows: the SVG, or text that says how to get a renderer."""
            try:
                bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
            except RendererNotFoundError as error:
                return {"text/plain": str(error)}
            return bundle

    return GraphPicture


# === draw_graph ================================================================================


def draw_graph(
    root: Value,
    *,
    rankdir: str = "LR",
    number_format: NumberFormat = ".4g",
    show_grad: bool = True,
    group: Grouping = None,
    collapse: bool = False,
    max_nodes: int = 500,
    title: str | None = None,
) -> graphviz.Digraph:
    """The computation graph of ``root`` as a ``graphviz.Digraph``.

    Each Value is one record (label, data, grad); an operation node (``+``, ``×``, ``tanh``,
    ...) sits between a value and its inputs; numbers folded in as constants are dashed grey
    boxes. Leaves (inputs and parameters) are blue, intermediates grey, the output amber.
    Edges into an operation whose inputs' order matters (``-``, ``/``, ``**``) are marked
    ``x`` and ``y``, as in the rule's math.

    - ``rankdir``: "LR" (left to right) or "TB" (top to bottom).
    - ``number_format``: a format spec (".4g", ".3f") or a function from a float to text.
    - ``group``: draws clusters. A function from a node to its cluster (a name, or a sequence
      of names from the outermost in, or None), or "labels" for ``group_by_label``, which reads
      the dotted labels of ``nn`` ("L0.N3.w1"). An unplaced operation joins the cluster of its
      consumers when they share one.
    - ``collapse``: with ``group``, draws each innermost cluster as one box: its formula, its
      output and its parameters (one box per neuron).
    - ``max_nodes``: refuses (GraphTooLargeError, with a summary) a graph that would give
      Graphviz more nodes than this.

    The result shows inline in Jupyter; ``.render("graph.svg" | ".png" | ".pdf")`` writes a
    file and ``.source`` is the DOT text.
    """
    root = _check_root(root, "draw_graph")
    direction = _check_rankdir(rankdir)
    fmt = _formatter(number_format)
    limit = _check_max_nodes(max_nodes)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    scene = _scene(root, group, bool(collapse), fmt)
    problem = _too_large(scene, limit, group, bool(collapse))
    if problem:
        raise GraphTooLargeError(f"draw_graph(): {problem}")
    return _build(scene, rankdir=direction, show_grad=bool(show_grad), title=title)


# === the backward pass, step by step ===========================================================


@dataclass(frozen=True)
class Contribution:
    """What one step passes to one input: ``product = upstream * local``, added to the input's
    gradient, which is then ``total``."""

    position: int  # which input of the node (0 for x, 1 for y, ...)
    input: Value
    upstream: float  # d root / d node, the gradient the node passes on
    local: float  # d node / d input, the rule's partial derivative at these numbers
    product: float  # upstream * local
    total: float  # the input's gradient after this step


@dataclass
class _Run:
    """The steps of one backward pass, shared by its frames (for a layout that stays put)."""

    root: Value
    steps: list[BackwardStep] = field(default_factory=list)
    widths: dict[Any, tuple[float, float]] = field(default_factory=dict)

    def cell_widths(self, fmt: Callable[[float], str], key: Any) -> tuple[float, float]:
        """Widths in points of the grad cells and the edge labels: wide enough for every
        number any frame shows, so that every frame has the same layout."""
        if key not in self.widths:
            # a grad cell shows the seed or some contribution's running total
            longest = len(fmt(self.steps[0].upstream))
            edge = 1
            for s in self.steps:
                for c in s.contributions:
                    longest = max(longest, len(fmt(c.total)))
                    edge = max(edge, len(f"{fmt(c.upstream)} × {fmt(c.local)}"),
                               len(f"= {fmt(c.product)}"))
            self.widths[key] = ((longest + 6) * _CHAR_WIDTH + 8, edge * _SMALL_CHAR_WIDTH + 8)
        return self.widths[key]


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One frame of the backward pass: ``node`` is processed, step ``index`` of ``count``.

    Its gradient ``upstream`` (d root / d node) is complete by now; it passes
    ``upstream * local`` to each Value input (``contributions``; a leaf passes nothing on).
    ``grads`` maps every node reached so far to its gradient after this step.
    """

    index: int
    count: int
    node: Value
    upstream: float
    contributions: tuple[Contribution, ...]
    grads: Mapping[Value, float]
    _run: _Run = field(repr=False)

    @property
    def root(self) -> Value:
        """The output the backward pass started from."""
        return self._run.root

    def describe(self, number_format: NumberFormat = ".4g") -> str:
        """The step in words: which node, its gradient, and what it adds to each input."""
        fmt = _formatter(number_format)
        scene = _scene(self.root, None, False, fmt)
        node = self.node
        name = scene.name(node)
        head = f"Step {self.index + 1} of {self.count}: {name}"
        if node.op is not None:
            # inputs by label; unlabelled operations written out, so that brackets follow precedence
            formula = _formula(node, lambda v: v.label or None if v is not node else None, fmt, 4)
            head += f" = {formula}" if formula != name else ""
            head += f"  ({node.op.name})"
        if node is self.root:
            why = f"It is the output: its gradient is seeded with {fmt(self.upstream)}."
        else:
            why = f"All its consumers are done: its gradient is complete, {fmt(self.upstream)}."
        lines = [head, why]
        if node.op is None:
            lines.append("A leaf (an input or parameter): nothing to pass on; this gradient is final.")
            return "\n".join(lines)
        rules = _local_rules(node)
        names = _input_names(node)
        if not self.contributions:
            lines.append("Its inputs are constants: nothing to pass on.")
        else:
            lines.append("It adds upstream × local derivative to each input's gradient:")
        for c in self.contributions:
            rule = f"  ({rules[c.position]})" if rules else ""
            lines.append(
                f"  to {scene.name(c.input)} (as {names[c.position]}): {fmt(c.upstream)} × "
                f"{fmt(c.local)} = {fmt(c.product)}{rule}; its grad is now {fmt(c.total)}"
            )
        return "\n".join(lines)

    def draw(
        self,
        *,
        rankdir: str = "LR",
        number_format: NumberFormat = ".4g",
        group: Grouping = None,
        max_nodes: int = 500,
        caption: bool = True,
    ) -> graphviz.Digraph:
        """This frame as a picture: the node being processed in red, the gradients known so
        far, and on each edge the product that flowed along it (this step's in red). With
        ``caption``, the words of ``describe()`` on top. Every frame of one backward pass has
        the same layout (without the caption), so that stepping through them does not jump."""
        direction = _check_rankdir(rankdir)
        fmt = _formatter(number_format)
        limit = _check_max_nodes(max_nodes)
        scene = _scene(self.root, group, False, fmt)
        problem = _too_large(scene, limit, None, True)
        if problem:
            raise GraphTooLargeError(f"BackwardStep.draw(): {problem}")
        grad_width, edge_width = self._run.cell_widths(fmt, number_format)
        view = _StepView(self, grad_width, edge_width, bool(caption))
        return _build(scene, rankdir=direction, show_grad=True, title=None, view=view)


def _what(node: Value) -> str:
    if node.label:
        return f"node '{node.label}'"
    return f"a {node.op.name}() node" if node.op is not None else "a leaf"


def backward_steps(root: Value, grad: float = 1.0) -> Iterator[BackwardStep]:
    """The backward pass of ``root``, one ``BackwardStep`` per node, in the order
    ``backward()`` visits them: a node comes once every node that uses it is done (a reverse
    topological order), the output first.

    It works on its own copy of the gradients, seeded with ``grad`` at ``root`` and 0
    elsewhere, and changes nothing in the graph; its last step's ``grads`` equal the ``.grad``
    that ``backward(grad)`` gives every node when the leaves start at zero. Each step adds
    exactly its node's contributions; an input used twice (``x * x``) gets both. (All steps
    are worked out at the call, so a bad argument or a derivative outside its domain raises
    there.)
    """
    root = _check_root(root, "backward_steps")
    if isinstance(grad, bool) or not isinstance(grad, numbers.Real) or not math.isfinite(grad):
        raise TypeError(f"backward_steps() grad must be a finite number, got {grad!r:.80}")
    seed = grad if type(grad) in (int, float) else float(grad)
    order = _drawing_order(root)
    pending: dict[Value, int] = dict.fromkeys(order, 0)
    for node in order:
        for x in node.inputs:
            if isinstance(x, Value):
                pending[x] += 1
    run = _Run(root)
    grads: dict[Value, float] = {root: seed}
    ready = [root]
    for node in ready:  # Kahn's algorithm, as backward() runs it: the same order, bit for bit
        upstream = grads[node]
        contributions = []
        if not math.isfinite(upstream):
            raise DomainError(f"backward overflowed: the gradient at {_what(node)} is {upstream!r}")
        if node.op is not None:
            for k, (x, local) in enumerate(zip(node.inputs, node.local_derivatives())):
                if not isinstance(x, Value):
                    continue
                product = upstream * local
                total = grads[x] + product if x in grads else 0.0 + product
                grads[x] = total
                contributions.append(Contribution(k, x, upstream, float(local), product, total))
                if x.op is None and not math.isfinite(total):
                    raise DomainError(f"backward overflowed: the gradient at {_what(x)} is {total!r}")
            for x in node.inputs:
                if isinstance(x, Value):
                    pending[x] -= 1
                    if not pending[x]:
                        ready.append(x)
        run.steps.append(BackwardStep(
            len(run.steps), len(order), node, upstream, tuple(contributions),
            MappingProxyType(dict(grads)), run,
        ))
    return iter(run.steps)


# === the HTML step-through =====================================================================

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; color: #111827; margin: 1.2rem; }
  h1 { font-size: 1.25rem; margin: 0 0 .3rem; }
  .hint { color: #6b7280; margin: 0 0 .8rem; font-size: .9rem; }
  .controls { display: flex; gap: .6rem; align-items: center; margin-bottom: .6rem; }
  .controls input[type=range] { flex: 1; max-width: 36rem; }
  button { font-size: 1rem; padding: .25rem .8rem; }
  #counter { min-width: 8rem; font-variant-numeric: tabular-nums; }
  #caption { white-space: pre-wrap; background: #f9fafb; border: 1px solid #e5e7eb;
             border-radius: 6px; padding: .5rem .7rem; margin: 0 0 .6rem; font-size: .95rem; }
  #picture { overflow: auto; max-height: 75vh; border: 1px solid #e5e7eb; border-radius: 6px;
             padding: .4rem; }
  #stage { margin: 0 auto 0 0; }
  #frame { display: block; height: auto; }
  table { border-collapse: collapse; margin-top: .8rem; font-size: .9rem; }
  th, td { border-bottom: 1px solid #e5e7eb; padding: .2rem .7rem; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.current { background: #fee2e2; }
  tr.updated td.grad { color: #dc2626; font-weight: bold; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<p class="hint">Each step takes one node, in the order backward() visits them, and adds
upstream gradient × local derivative to each of its inputs. Use the buttons, the slider or the
arrow keys.</p>
<div class="controls">
  <button id="prev" type="button">&#9664; Previous</button>
  <input id="step" type="range" min="0" max="__LAST__" value="0" aria-label="step">
  <button id="next" type="button">Next &#9654;</button>
  <span id="counter"></span>
</div>
<p id="caption"></p>
<div id="picture"><div id="stage"><img id="frame" alt="the computation graph at this step"></div></div>
<table id="grads">
  <thead><tr><th>node</th><th>kind</th><th class="num">data</th><th class="num">grad</th></tr></thead>
  <tbody></tbody>
</table>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const frames = data.frames;
const slider = document.getElementById("step");
const prev = document.getElementById("prev");
const next = document.getElementById("next");
const body = document.querySelector("#grads tbody");
const cells = data.rows.map(function (row) {
  const tr = document.createElement("tr");
  for (const text of [row.name, row.kind, row.data]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  tr.children[2].className = "num";
  const grad = document.createElement("td");
  grad.className = "num grad";
  tr.appendChild(grad);
  tr.dataset.node = row.name;
  body.appendChild(tr);
  return { tr: tr, grad: grad };
});
// every frame at one scale, set by the widest: the nodes stay put from step to step
const widest = Math.max.apply(null, frames.map(function (f) { return f.width; }));
const stage = document.getElementById("stage");
stage.style.maxWidth = (widest * 4 / 3) + "px";
stage.style.minWidth = (widest * 4 / 3 * 0.7) + "px";  // shrink to fit, but not past reading
let current = 0;
function show(k) {
  current = Math.max(0, Math.min(frames.length - 1, k));
  const frame = frames[current];
  const img = document.getElementById("frame");
  img.src = frame.image;
  img.style.width = (100 * frame.width / widest) + "%";
  document.getElementById("caption").textContent = frame.caption;
  document.getElementById("counter").textContent = "Step " + (current + 1) + " of " + frames.length;
  slider.value = String(current);
  prev.disabled = current === 0;
  next.disabled = current === frames.length - 1;
  cells.forEach(function (cell, i) {
    const g = frame.grads[i];
    cell.grad.textContent = g === null ? "–" : g[0];
    cell.grad.dataset.grad = g === null ? "" : g[1];
    cell.tr.classList.toggle("current", i === frame.current);
    cell.tr.classList.toggle("updated", frame.updated.indexOf(i) >= 0);
  });
}
// keep the node being processed in view: scroll the picture when it is outside the middle
document.getElementById("frame").addEventListener("load", function () {
  const focus = frames[current].focus;
  if (!focus) { return; }
  const box = document.getElementById("picture");
  const img = document.getElementById("frame");
  const x = img.offsetLeft + focus[0] * img.clientWidth;
  const y = img.offsetTop + focus[1] * img.clientHeight;
  const left = box.scrollLeft, top = box.scrollTop, w = box.clientWidth, h = box.clientHeight;
  if (x < left + 0.2 * w || x > left + 0.8 * w) { box.scrollLeft = x - w / 2; }
  if (y < top + 0.2 * h || y > top + 0.8 * h) { box.scrollTop = y - h / 2; }
});
prev.addEventListener("click", function () { show(current - 1); });
next.addEventListener("click", function () { show(current + 1); });
slider.addEventListener("input", function () { show(Number(slider.value)); });
document.addEventListener("keydown", function (event) {
  if (event.target === slider) { return; }
  if (event.key === "ArrowLeft") { show(current - 1); }
  if (event.key === "ArrowRight") { show(current + 1); }
});
show(0);
</script>
</body>
</html>
"""


def _focus(svg: bytes, node_id: str) -> list[float] | None:
    """Where node ``node_id`` is drawn in ``svg``, as fractions of its width and height (the
    page scrolls there), or None when the SVG does not say."""
    box = re.search(rb'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+) ([0-9.]+)"', svg)
    shift = re.search(rb'class="graph"[^>]*translate\(([-0-9.]+)[ ,]([-0-9.]+)\)', svg)
    title = svg.find(f"<title>{node_id}</title>".encode())
    if not box or not shift or title < 0:
        return None
    text = re.compile(rb'<text[^>]*?\sx="([-0-9.]+)"[^>]*?\sy="([-0-9.]+)"').search(svg, title)
    if not text:
        return None
    width, height = float(box.group(1)), float(box.group(2))
    x = (float(text.group(1)) + float(shift.group(1))) / width
    y = (float(text.group(2)) + float(shift.group(2))) / height
    return [round(min(max(x, 0.0), 1.0), 4), round(min(max(y, 0.0), 1.0), 4)]


def _json_for_html(data: object) -> str:
    """JSON that is safe inside a <script> element: no "<", ">" or "&" as themselves."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def save_backward_html(
    root: Value,
    path: str | os.PathLike[str],
    *,
    rankdir: str = "LR",
    number_format: NumberFormat = ".4g",
    group: Grouping = None,
    max_nodes: int = 150,
    title: str | None = None,
    renderer: Renderer | None = None,
) -> Path:
    """Write one self-contained HTML page (no server, no network) that steps through the
    backward pass of ``root``: a slider, previous/next buttons (and arrow keys), the picture of
    each ``BackwardStep`` inlined as SVG, its description, and a table of the gradients filled
    in so far. Returns the path; the file is written whole or not at all.

    Every frame is rendered once, so ``max_nodes`` (which counts picture nodes) is lower than
    ``draw_graph``'s.
    """
    root = _check_root(root, "save_backward_html")
    target = _check_path(path, "save_backward_html")
    direction = _check_rankdir(rankdir)
    fmt = _formatter(number_format)
    limit = _check_max_nodes(max_nodes)
    if renderer is not None and not isinstance(renderer, Renderer):
        raise TypeError(f"renderer must be an autodiff.viz.Renderer, got {renderer!r:.80}")
    scene = _scene(root, group, False, fmt)
    problem = _too_large(scene, limit, None, True)
    if problem:
        raise GraphTooLargeError(f"save_backward_html(): {problem}")
    program = renderer or find_renderer("svg")
    steps = list(backward_steps(root))
    rows = [
        {
            "name": scene.name(node),
            "kind": "output" if node is root else ("leaf" if node.op is None else node.op.name),
            "data": fmt(node.data),
        }
        for node in scene.order
    ]
    frames = []
    for step in steps:
        picture = step.draw(rankdir=direction, number_format=number_format, group=group,
                            max_nodes=limit, caption=False)
        svg = program.render(picture.source, "svg")
        size = re.search(rb'<svg[^>]*?\swidth="([0-9.]+)pt"', svg)
        frames.append({
            "image": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
            "width": float(size.group(1)) if size else 800.0,
            "focus": _focus(svg, f"v{scene.index[step.node]}"),
            "caption": step.describe(number_format),
            "current": scene.index[step.node],
            "updated": [scene.index[c.input] for c in step.contributions],
            "grads": [
                [fmt(step.grads[node]), repr(step.grads[node])] if node in step.grads else None
                for node in scene.order
            ],
        })
    heading = title or f"Backward pass of {scene.name(root)}"
    page = (
        _PAGE.replace("__TITLE__", html.escape(heading))
        .replace("__LAST__", str(len(frames) - 1))
        .replace("__DATA__", _json_for_html({"rows": rows, "frames": frames}))
    )
    _write_atomic(target, page.encode("utf-8"))
    return target
