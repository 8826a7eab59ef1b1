"""Drawing a computation graph: ``draw_graph(root)``, and the DOT of every picture.

``_build`` turns a scene into a Digraph: one record per ``Value`` (its label, data and grad), a
small operation node between a value and its inputs, folded-in constants as grey boxes,
clusters, and collapsed groups as boxes with their formulas. With a ``_StepView`` it draws one
frame of the backward pass: gradients so far, and the products that flowed along the edges.
Every picture carries a description in words (``alt``) for those who cannot see it.
"""

from __future__ import annotations

import functools
import html
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..value import Value
from .arguments import (
    NumberFormat,
    _check_flag,
    _check_picture_options,
    _check_root,
    _check_title,
)
from .captions import _operation_words, _picture_alt
from .formulas import _factor, _formula, _operand_names, _over_vectors, _readable
from .frames import Contribution, _Pass
from .grouping import Grouping
from .picture import _picture_class
from .scene import _grouped, _picture_hints, _refuse_too_large, _Scene, _scene
from .style import (
    _BOX,
    _CLUSTER_BORDER,
    _CLUSTER_FILLS,
    _CONST_COLOUR,
    _EDGE,
    _EDGE_FONT,
    _FONT,
    _INK,
    _MUTED,
    _OP_BORDER,
    _OP_FILL,
    _RED,
    _RED_FILL,
    _STYLE,
)

if TYPE_CHECKING:
    import graphviz

_LONGEST_BUBBLE = 16
"""An operation whose inputs' order matters shows its formula (``z - w2``) when it is this
short; else its symbol, with its inputs named a, b on their edges."""


def _cell(text: str, **attrs: str) -> str:
    extra = "".join(f' {key.upper()}="{value}"' for key, value in attrs.items())
    return f"<TD{extra}>{text}</TD>"


def _table(cells: Sequence[str], border: str, width: int) -> str:
    """An HTML-like label: one rounded row of cells with rules between them."""
    return (
        f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" STYLE="ROUNDED" '
        f'COLUMNS="*" COLOR="{border}" BGCOLOR="white"><TR>{"".join(cells)}</TR></TABLE>>'
    )


def _exact(x: float) -> str:
    """A float as ``repr`` writes it, the shortest text that reads back as it, but never -0.0."""
    return repr(x + 0.0)


def _operation(
    node: Value, display_name: Callable[[Value], str | None], fmt: Callable[[float], str]
) -> tuple[str, list[str | None]]:
    """What the operation node of ``node`` shows, and the name to write on each input's edge
    (None for none). An operation whose inputs' order matters (``-``, ``/``, ``**``, ...) shows
    its formula in its inputs' names, ``z - w2``, or with neutral letters, ``a / b``, which its
    edges then carry; others show their symbol."""
    rule = node.op
    assert rule is not None
    symbol = "×" if rule.symbol == "*" else rule.symbol
    if rule.arity != 2 or _over_vectors(node) or rule.name in ("add", "mul"):
        return symbol, [None] * len(node.inputs)

    def letters(v: Value) -> str | None:
        return None

    def marks(names: list[str], name_of: Callable[[Value], str | None]) -> list[str | None]:
        return [name if isinstance(x, Value) and not name_of(x) else None
                for name, x in zip(names, node.inputs)]

    for name_of in (display_name, letters):
        names = _operand_names(node, name_of, fmt)
        readable = _readable(node, names, "out")
        if readable is not None and len(readable[0]) <= _LONGEST_BUBBLE:
            return readable[0], marks(names, name_of)
    return symbol, marks(names, letters)  # too long, or a rule of your own without formulas


@dataclass(frozen=True)
class _StepView:
    """What a frame of the backward pass adds to a picture."""

    backward: _Pass
    index: int
    grad_width: float  # points: the grad cells of every frame are this wide
    edge_width: float  # points: so are the edge labels that show the products
    caption: str | None  # the step in words, on top


def _build(
    scene: _Scene,
    fmt: Callable[[float], str],
    *,
    rankdir: str,
    show_grad: bool,
    title: str | None,
    alt: str,
    view: _StepView | None = None,
) -> Any:
    """The Digraph of ``scene``; with ``view``, the frame of one backward step."""
    picture_class = _picture_class()
    esc = html.escape
    graph = picture_class(
        name="computation",
        format="svg",
        graph_attr={
            "rankdir": rankdir, "bgcolor": "white", "fontname": _FONT, "fontcolor": _INK,
            "nodesep": "0.25", "ranksep": "0.3", "pad": "0.15", "labeljust": "l",
        },
        node_attr={"fontname": _FONT, "fontsize": "11", "fontcolor": _INK},
        edge_attr={"fontname": _FONT, "fontsize": _EDGE_FONT, "color": _EDGE, "arrowsize": "0.6"},
    )
    graph.alt = alt
    grads: Mapping[Value, float] | None = None
    updated: set[Value] = set()
    done: dict[Value, int] = {}  # in a frame: the nodes already processed, by step
    current = None
    if view is not None:
        backward = view.backward
        grads = backward.grads(view.index)
        current, _, contributions = backward.frame(view.index)
        updated = {c.input for c in contributions}
        done = {node: k for node, k in backward.step_of.items() if k <= view.index}

    caption = None
    if view is not None and view.caption:
        lines = [esc(line) for line in view.caption.splitlines()]
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
        path = scene.path_of(node)
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

    marks_of: dict[Value, list[str | None]] = {}

    def value_node(target: Any, node: Value) -> None:
        i = scene.index[node]
        border, fill, width = _STYLE[kind(node)]
        if node is current:
            border, fill = _RED, _RED_FILL
        cells = []
        label = short_label(node)
        if label:
            cells.append(_cell(f"<B>{esc(label)}</B>", bgcolor=fill))
        # "data" tells the number from its gradient: alone, the number needs no name
        cells.append(_cell(f"data {esc(fmt(node.data))}" if show_grad else esc(fmt(node.data))))
        if show_grad:
            cells.append(grad_cell(node))
        what = {"leaf": "input or parameter", "intermediate": "intermediate", "output": "output"}
        tooltip = f"{scene.name(node, fmt)} ({what[kind(node)]}): data={_exact(node.data)}"
        if show_grad and grads is None:
            tooltip += f", grad={_exact(node.grad)}"
        target.node(f"v{i}", label=_table(cells, border, width), shape="plain", tooltip=tooltip)
        if node.op is not None:
            text, marks_of[node] = _operation(node, lambda v: short_label(v) or None, fmt)
            fixed = len(text) <= 2
            target.node(
                f"o{i}", label=esc(text),
                shape="circle" if fixed else "ellipse", width="0.32" if fixed else "0.3",
                height="0.32" if fixed else "0.3", fixedsize="true" if fixed else "false",
                style="filled", fillcolor=_OP_FILL, color=_OP_BORDER, margin="0.04,0.02",
                fontsize="12" if fixed else "11", tooltip=_operation_words(scene, node, fmt),
            )
            for k, x in enumerate(node.inputs):
                if not isinstance(x, Value):
                    target.node(
                        f"c{i}_{k}", label=esc(fmt(x)), shape="box", style="rounded,dashed",
                        color=_CONST_COLOUR, fontcolor=_MUTED, fontsize="10", height="0.25",
                        width="0.3", margin="0.05,0.02",
                        tooltip=f"constant {_exact(x)} (not a node)",
                    )

    def box_node(target: Any, path: tuple[str, ...], members: list[Value]) -> None:
        inside = set(members)
        outputs = [m for m in members if m is scene.root or any(
            c not in inside for c in scene.consumers.get(m, ()))]
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

        def numbers(x: float, grad: float) -> str:
            return f"{esc(fmt(x))}   grad {esc(fmt(grad))}" if show_grad else esc(fmt(x))

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
            shown = f"{name}: data {numbers(out.data, out.grad)}" if show_grad else (
                f"{name} = {numbers(out.data, out.grad)}")
            rows.append(f'<TR><TD ALIGN="LEFT">{shown}</TD></TR>')
        listed = params[:4] if len(params) <= 5 else params[:3]
        for p in listed:
            text = f"{esc(short_label(p) or 'leaf')} = {numbers(p.data, p.grad)}"
            rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{_MUTED}">{text}</FONT></TD></TR>')
        if len(params) > len(listed):
            more = len(params) - len(listed)
            rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{_MUTED}">… and {more} more '
                        f'parameters</FONT></TD></TR>')
        label = (
            f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
            f'STYLE="ROUNDED" ROWS="*" COLOR="{border}" BGCOLOR="white">{"".join(rows)}</TABLE>>'
        )
        target.node(f"g{box_ids[path]}", label=label, shape="plain",
                    tooltip=f"{path[-1]}: {len(members)} nodes")

    boxes = scene.boxes or {}
    box_ids = {path: k for k, path in enumerate(boxes)}

    # nodes, cluster by cluster
    members_at: dict[tuple[str, ...], list[Value]] = {}
    for node in scene.order:
        path = scene.path_of(node)
        if path not in boxes:
            members_at.setdefault(path, []).append(node)
    clusters = list(dict.fromkeys(  # in the order their first nodes come
        p[:k] for p in [*members_at, *boxes] for k in range(1, len(p) + 1)))
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for p in clusters:
        children.setdefault(p[:-1], []).append(p)
    cluster_ids = {p: k for k, p in enumerate(clusters)}

    def fill_cluster(target: Any, path: tuple[str, ...]) -> None:
        for node in members_at.get(path, ()):
            value_node(target, node)
        if path in boxes:
            box_node(target, path, boxes[path])
        for child in children.get(path, ()):
            if child in boxes and child not in children and child not in members_at:
                box_node(target, child, boxes[child])
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
        assert view is not None
        return {c.position: c for c in view.backward.frame(index).contributions}

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
        for k, (x, mark) in enumerate(zip(node.inputs, marks_of[node])):
            attrs: dict[str, str] = {}
            if mark is not None:
                attrs.update(headlabel=esc(mark), labelfontsize=_EDGE_FONT, labelfontcolor=_MUTED,
                             labeldistance="1.6", labelangle="35")
            if not isinstance(x, Value):
                graph.edge(f"c{i}_{k}", f"o{i}", style="dashed", color=_CONST_COLOUR, **attrs)
                continue
            if view is not None:
                text, colour, bold = "", _MUTED, False
                at = done.get(node)
                if at is not None:
                    mine = flowed_at(at)[k]
                    text = (f"{esc(fmt(mine.upstream))} × {esc(_factor(fmt(mine.local)))}<BR/>= "
                            f"{esc(fmt(mine.product))}")
                    if at == view.index:
                        colour, bold = _RED, True
                if text:
                    text = f'<FONT COLOR="{colour}">{f"<B>{text}</B>" if bold else text}</FONT>'
                attrs["label"] = (
                    f'<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD FIXEDSIZE="TRUE" '
                    f'WIDTH="{view.edge_width:.0f}" HEIGHT="28">{text}</TD></TR></TABLE>>'
                )
                if at == view.index:
                    attrs.update(color=_RED, penwidth="2")
            graph.edge(source_of(x), f"o{i}", **attrs)
    return graph


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
    An operation whose inputs' order matters shows its formula in their names (``z - w2``;
    an input without a label is a neutral letter, a or b, written on its edge).

    - ``rankdir``: "LR" (left to right) or "TB" (top to bottom).
    - ``number_format``: a format spec (".4g", ".3f") or a function from a float to text.
    - ``show_grad``: False draws each record as its label and number only.
    - ``group``: draws clusters. A function from a node to its cluster (a name, or a sequence
      of names from the outermost in, or None), or "labels" for ``group_by_label``, which reads
      the dotted labels of ``nn`` ("L0.N3.w1"). An unplaced operation joins the cluster of its
      consumers when they share one.
    - ``collapse``: with ``group``, draws each innermost cluster as one box: its formula, its
      output and its parameters (one box per neuron).
    - ``max_nodes``: refuses (GraphTooLargeError, with a summary) a graph that would give
      Graphviz more nodes than this.
    - ``title``: a line on top.

    The result shows inline in Jupyter, scaled to fit the width of the notebook, with a
    description in words for screen readers (``.alt``); ``.render("graph.svg" | ".png" |
    ".pdf")`` writes a file and ``.source`` is the DOT text.
    """
    caller = "draw_graph"
    root = _check_root(root, caller)
    direction, fmt, limit = _check_picture_options(rankdir, number_format, max_nodes, caller)
    show = _check_flag(show_grad, "show_grad", caller)
    fold = _check_flag(collapse, "collapse", caller)
    heading = _check_title(title, caller)
    scene = _grouped(_scene(root), group, fold, caller)
    _refuse_too_large(scene, limit, caller, lambda: _picture_hints(scene, fold, caller))
    alt = _picture_alt(scene, fmt, direction, show)
    if heading:
        alt = f"{heading}. {alt}"
    return _build(scene, fmt, rankdir=direction, show_grad=show, title=heading, alt=alt)
