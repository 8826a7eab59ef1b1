"""Clusters: which group of a picture each node is drawn in.

``group_by_label`` reads the dotted labels of ``nn`` (``'L0.N3.w1'`` is in ``L0`` and
``L0.N3``); ``_group_paths`` turns any ``group=`` of ``draw_graph`` into each node's cluster
path, and places an unlabelled operation with its consumers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from ..value import Value, shown

GroupPath = str | Sequence[str] | None
Grouping = Callable[[Value], GroupPath] | Literal["labels"] | None
"""``group=`` of ``draw_graph``: a function from a node to its cluster (a name, or names from
the outermost cluster in), or ``"labels"`` for ``group_by_label``."""


def group_by_label(node: Value) -> tuple[str, ...] | None:
    """The clusters that a dotted label names: ``'L0.N3.w1'`` is in cluster ``'L0'`` and, inside
    it, ``'L0.N3'``; a label without a dot, or no label, names none.

    ``nn`` labels its parameters and neuron outputs this way, so ``draw_graph(loss,
    group=group_by_label)`` (or ``group="labels"``) draws a network by layer and neuron.
    """
    if not isinstance(node, Value):
        raise TypeError(f"group_by_label() needs a Value, got {type(node).__name__}: {shown(node)}")
    label = node.label
    if not label or "." not in label:
        return None
    parts = label.split(".")[:-1]
    return tuple(".".join(parts[: i + 1]) for i in range(len(parts)))


def _group_paths(
    order: list[Value], consumers: dict[Value, list[Value]], grouping: Grouping, caller: str
) -> dict[Value, tuple[str, ...]]:
    """Each node's cluster path, outermost first (empty: in no cluster), for the nodes of
    ``order`` (inputs first) and their ``consumers``.

    The ``group`` function places a node; when it says None, an operation node joins the
    cluster of its consumers if they all share one, so that the unlabelled products and sums
    inside a neuron join that neuron. Leaves it says None for stay outside every cluster.
    """
    if grouping is None:
        return {}
    if grouping == "labels":
        grouping = group_by_label
    elif not callable(grouping):
        raise TypeError(f"{caller}() group must be a function, 'labels' or None, got {shown(grouping)}")
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
                f"{caller}(): group() must return a cluster name, a sequence of names or None, "
                f"got {shown(given)} for {shown(node)}"
            )
        paths[node] = path
    return paths
