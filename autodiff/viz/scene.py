"""What one picture shows, worked out before any DOT is written.

A ``_Scene`` holds the nodes in drawing order (inputs first), their clusters and collapsed
boxes, and the number format; it names nodes for text and counts the nodes Graphviz would get.
``_refuse_too_large`` refuses a scene past ``max_nodes`` (``GraphTooLargeError``), saying what
is in it and how to draw it instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..value import Value
from .formulas import _formula
from .grouping import Grouping, _group_paths


class GraphTooLargeError(ValueError):
    """A graph has more picture nodes than ``max_nodes``: Graphviz would take too long on it."""


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


def _refuse_too_large(
    scene: _Scene, max_nodes: int, grouping: Grouping, collapse: bool, caller: str
) -> None:
    """Raise GraphTooLargeError, for ``caller``, when ``scene`` would give Graphviz more than
    ``max_nodes`` nodes: what the graph holds and how to see it instead (``collapse`` True
    leaves out the hint to collapse)."""
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
    hints = ["draw a smaller part of it (the graph of one neuron's output, say)"]
    if not collapse:
        labelled = _scene(scene.root, grouping or "labels", True, scene.fmt)
        if labelled.boxes:
            how = "collapse=True" if grouping is not None else "group='labels', collapse=True"
            hints.append(f"pass {how} for one box per neuron ({labelled.picture_nodes()} nodes)")
    hints.append("or raise max_nodes (Graphviz slows down past a few thousand nodes)")
    raise GraphTooLargeError(f"{caller}(): {message}To see it: {'; '.join(hints)}.")
