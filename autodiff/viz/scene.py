"""What a picture shows, worked out once from the graph, before any frame or DOT.

A ``_Scene`` holds the nodes in drawing order (inputs first), each node's number, its
consumers, and its clusters and collapsed boxes; it names nodes for text and counts the nodes
Graphviz would get. ``_scene`` walks the graph (the one traversal of a picture or a backward
pass); ``_grouped`` places the same nodes in other clusters without walking it again.
``_refuse_too_large`` refuses a scene past ``max_nodes`` (``GraphTooLargeError``), saying what
is in it and how to see it instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..value import Value
from .formulas import _formula
from .grouping import Grouping, _group_paths


class GraphTooLargeError(ValueError):
    """A graph has more picture nodes than ``max_nodes``: Graphviz would take too long on it."""


@dataclass(frozen=True)
class _Scene:
    """Everything that decides a picture, whatever its number format."""

    root: Value
    order: list[Value]
    index: dict[Value, int]
    consumers: dict[Value, list[Value]]  # in drawing order; a node used twice is listed twice
    grouping: Grouping = None
    paths: dict[Value, tuple[str, ...]] | None = None  # each node's clusters, outermost first
    boxes: dict[tuple[str, ...], list[Value]] | None = None  # collapsed groups: members in order

    def path_of(self, node: Value) -> tuple[str, ...]:
        return self.paths.get(node, ()) if self.paths else ()

    def box_of(self, node: Value) -> tuple[str, ...] | None:
        path = self.path_of(node)
        return path if self.boxes and path in self.boxes else None

    def name(self, node: Value, fmt: Callable[[float], str], value: bool = True) -> str:
        """How text refers to a node, always by what its picture shows: its label, its number
        (a leaf without one), a short formula in the labels of the nodes below it, or else its
        operation's symbol and its number ("the × node of value 1.25"), never an index that
        no picture shows; without ``value``, "the × node", where the number follows anyway)."""
        if node.label:
            return node.label
        if node.op is None:
            return fmt(node.data)
        formula = _formula(node, lambda v: v.label or None, fmt, budget=6)
        if len(formula) <= 36 and "…" not in formula:
            return formula
        symbol = "×" if node.op.symbol == "*" else node.op.symbol  # as the picture draws it
        return f"the {symbol} node" + (f" of value {fmt(node.data)}" if value else "")

    def picture_nodes(self) -> int:
        count = len(self.boxes or ())
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


def _scene(root: Value) -> _Scene:
    """The scene of ``root``, in no clusters: one walk of the graph."""
    order = _drawing_order(root)
    consumers: dict[Value, list[Value]] = {}
    for node in order:
        for x in node.inputs:
            if isinstance(x, Value):
                consumers.setdefault(x, []).append(node)
    return _Scene(root, order, {node: i for i, node in enumerate(order)}, consumers)


def _grouped(scene: _Scene, grouping: Grouping, collapse: bool, caller: str) -> _Scene:
    """``scene`` with its nodes placed in the clusters ``grouping`` names, and with
    ``collapse`` each innermost cluster drawn as one box (the same nodes, not walked again)."""
    if grouping is None:
        if collapse:
            raise ValueError(f"{caller}() collapse=True needs group=, which says what to collapse "
                             "(group='labels' for networks from nn)")
        return replace(scene, grouping=None, paths=None, boxes=None)
    paths = _group_paths(scene.order, scene.consumers, grouping, caller)
    boxes: dict[tuple[str, ...], list[Value]] = {}
    if collapse:
        for node in scene.order:
            path = paths.get(node, ())
            if path:
                boxes.setdefault(path, []).append(node)
    return replace(scene, grouping=grouping, paths=paths, boxes=boxes)


def _many(n: int, one: str, more: str | None = None) -> str:
    return f"{n} {one if n == 1 else (more or one + 's')}"


def _refuse_too_large(
    scene: _Scene, max_nodes: int, caller: str, hints: Callable[[], list[str]]
) -> None:
    """Raise GraphTooLargeError, for ``caller``, when ``scene`` would give Graphviz more than
    ``max_nodes`` nodes: what the graph holds, then ``hints()``, the ways to see it instead."""
    count = scene.picture_nodes()
    if count <= max_nodes:
        return
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
    raise GraphTooLargeError(f"{caller}(): {message}To see it: {'; '.join(hints())}.")


def _picture_hints(scene: _Scene, collapse: bool, caller: str) -> list[str]:
    """How to draw a picture that is too large: a smaller part, one box per neuron (when the
    graph has labelled groups and is not collapsed already), or a higher ``max_nodes``."""
    hints = ["draw a smaller part of it (the graph of one neuron's output, say)"]
    if not collapse:
        labelled = _grouped(scene, scene.grouping or "labels", True, caller)
        if labelled.boxes:
            how = "collapse=True" if scene.grouping is not None else "group='labels', collapse=True"
            hints.append(f"pass {how} for one box per neuron ({labelled.picture_nodes()} nodes)")
    hints.append("or raise max_nodes (Graphviz slows down past a few thousand nodes)")
    return hints
