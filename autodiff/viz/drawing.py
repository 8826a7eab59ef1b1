"""Drawing a computation graph: ``draw_graph(root)``, and the DOT of every picture.

``_build`` turns a scene into a Digraph: one record per ``Value`` (its label, data and grad), a
small operation node between a value and its inputs, folded-in constants as grey boxes,
clusters, and collapsed groups as boxes with their formulas. With a ``_StepView`` it draws the
frame of one backward step: gradients so far, and the products that flowed along the edges.
"""

from __future__ import annotations

import functools
import html
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..value import Value
from .arguments import NumberFormat, _check_picture_options, _check_root
from .formulas import _formula, _input_names
from .grouping import Grouping
from .picture import _picture_class
from .scene import _refuse_too_large, _Scene, _scene
from .style import (
    _BOX,
    _CLUSTER_BORDER,
    _CLUSTER_FILLS,
    _CONST_COLOUR,
    _EDGE,
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

    from .steps import BackwardStep, Contribution


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
    direction, fmt, limit = _check_picture_options(rankdir, number_format, max_nodes)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    scene = _scene(root, group, bool(collapse), fmt)
    _refuse_too_large(scene, limit, group, bool(collapse), "draw_graph")
    return _build(scene, rankdir=direction, show_grad=bool(show_grad), title=title)
