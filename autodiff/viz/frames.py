"""The backward pass as frames, computed one at a time, when asked for.

``_Pass`` runs the chain rule as ``backward()`` does: a node is taken once every node that uses
it is done (Kahn's algorithm over the consumer counts of the scene, so the same order, and the
same float operations in the same order, bit for bit), and it adds ``upstream * local`` to the
gradient of each Value input. But it runs only as far as it is asked: frame k is computed when
someone asks for frame k.

Each frame holds what its step changed: the node, its upstream gradient, and one
``Contribution`` per Value input. The gradients are kept as one history per node (the steps at
which it changed, and its total after each), and the gradients after step k are a view of those
histories (``_Grads``): memory grows with the graph, never with the steps times the graph.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ..value import DomainError, Value
from .scene import _Scene


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one step passes to one input: ``product = upstream * local``, added to the input's
    gradient, which is then ``total``."""

    position: int  # which input of the node (0 for the first, 1 for the second, ...)
    input: Value
    upstream: float  # d root / d node, the gradient the node passes on
    local: float  # d node / d input, the rule's partial derivative at these numbers
    product: float  # upstream * local
    total: float  # the input's gradient after this step


class _Frame(NamedTuple):
    node: Value
    upstream: float
    contributions: tuple[Contribution, ...]


def _what(node: Value) -> str:
    if node.label:
        return f"node '{node.label}'"
    return f"a {node.op.name}() node" if node.op is not None else "a leaf"


class _Pass:
    """The backward pass of ``scene.root`` from the gradient ``seed``, computed as far as it has
    been asked for. ``frames`` holds the frames computed so far, ``step_of`` the step at which
    each node was processed."""

    def __init__(self, scene: _Scene, seed: float) -> None:
        root = scene.root
        self.scene = scene
        self.count = len(scene.order)
        self.frames: list[_Frame] = []
        self.step_of: dict[Value, int] = {}
        self._pending = {node: len(users) for node, users in scene.consumers.items()}
        self._ready = [root]
        # a leaf's gradient starts at 0.0 and accumulates, as backward() leaves it; an
        # operation node's first contribution is its gradient (backward() starts it at -0.0,
        # which adds nothing)
        first = 0.0 + seed if root.op is None else seed
        self._history: dict[Value, tuple[list[int], list[float]]] = {root: ([0], [first])}
        self._reached = [root]  # every node given a gradient, in the order it was first given one
        self._reached_at = [0]  # ... and the step that gave it
        self._failure: DomainError | None = None

    def frame(self, k: int) -> _Frame:
        """Frame ``k`` (from 0), computing the frames before it first."""
        while len(self.frames) <= k:
            self._advance()
        return self.frames[k]

    def grads(self, k: int) -> Mapping[Value, float]:
        """Every node reached by step ``k`` -> its gradient after step ``k``, as a view."""
        self.frame(k)
        return _Grads(self, k)

    def _advance(self) -> None:
        if self._failure is not None:
            raise self._failure
        k = len(self.frames)
        node = self._ready[k]
        upstream = self._history[node][1][-1]
        try:
            contributions = self._chain_rule(k, node, upstream)
        except DomainError as error:
            self._failure = error  # the pass cannot go on past this step
            raise
        self.frames.append(_Frame(node, upstream, contributions))
        self.step_of[node] = k

    def _chain_rule(self, k: int, node: Value, upstream: float) -> tuple[Contribution, ...]:
        """Step ``k``: ``node`` adds ``upstream * local`` to each Value input's gradient, in the
        order of its inputs, as ``backward()`` does."""
        if not math.isfinite(upstream):
            raise DomainError(f"backward_steps(): the gradient at {_what(node)} overflowed to "
                              f"{upstream!r}")
        if node.op is None:
            return ()
        contributions = []
        for position, (x, local) in enumerate(zip(node.inputs, node.local_derivatives())):
            if not isinstance(x, Value) or local is None:
                continue
            product = upstream * local
            history = self._history.get(x)
            if history is None:
                total = 0.0 + product if x.op is None else product
                self._history[x] = ([k], [total])
                self._reached.append(x)
                self._reached_at.append(k)
            else:
                steps, totals = history
                total = totals[-1] + product
                if steps[-1] == k:  # a second use of one input by this node (x * x)
                    totals[-1] = total
                else:
                    steps.append(k)
                    totals.append(total)
            contributions.append(Contribution(position, x, upstream, float(local), product, total))
            if x.op is None and not math.isfinite(total):
                raise DomainError(f"backward_steps(): the gradient at {_what(x)} overflowed to "
                                  f"{total!r}")
        for x in node.inputs:
            if isinstance(x, Value):
                self._pending[x] -= 1
                if not self._pending[x]:
                    self._ready.append(x)
        return tuple(contributions)


class _Grads(Mapping[Value, float]):
    """The gradients after one step: every node reached so far -> its gradient then. A view of
    the pass's histories, in the order the nodes were reached; read-only."""

    __slots__ = ("_pass", "_step")

    def __init__(self, backward_pass: _Pass, step: int) -> None:
        self._pass = backward_pass
        self._step = step

    def __getitem__(self, node: Value) -> float:
        history = self._pass._history.get(node)
        if history is None or history[0][0] > self._step:
            raise KeyError(node)
        steps, totals = history
        return totals[bisect_right(steps, self._step) - 1]

    def __len__(self) -> int:
        return bisect_right(self._pass._reached_at, self._step)

    def __iter__(self) -> Iterator[Value]:
        return itertools.islice(self._pass._reached, len(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{node!r}: {grad!r}" for node, grad in itertools.islice(self.items(), 4))
        more = ", …" if len(self) > 4 else ""
        return f"<gradients after step {self._step + 1}: {{{shown}{more}}}>"
