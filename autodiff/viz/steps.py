"""The backward pass step by step: ``backward_steps(root)`` and ``BackwardStep``.

``backward_steps(root)`` yields one ``BackwardStep`` per node, in the order ``backward()``
visits them: the node, its upstream gradient, and for each input a ``Contribution``, the local
derivative and the product ``upstream * local`` that is added to that input's gradient (the
vector-Jacobian product, one scalar at a time). Steps are computed as they are asked for, and
memory grows with the graph only. A step says what it does in words (``describe``) and draws
itself as a frame (``draw``); the steps of one pass share one scene and one layout.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..value import DomainError, Value, _constant, shown
from .arguments import (
    NumberFormat,
    _check_flag,
    _check_max_nodes,
    _check_picture_options,
    _check_root,
    _formatter,
)
from .captions import _describe, _frame_alt
from .drawing import _build, _StepView
from .formulas import _factor
from .frames import Contribution, _Pass
from .grouping import Grouping
from .scene import _grouped, _refuse_too_large, _Scene, _scene
from .style import _CHAR_WIDTH, _SMALL_CHAR_WIDTH

if TYPE_CHECKING:
    import graphviz


@dataclass
class _Run:
    """One backward pass and what the outputs of its steps share: its scene in each grouping
    they ask for, and the widths of the cells of their frames in each number format."""

    backward: _Pass
    scenes: dict[Hashable, _Scene] = field(default_factory=dict)
    widths: dict[Hashable, tuple[float, float]] = field(default_factory=dict)

    def scene_for(self, group: Grouping, caller: str) -> _Scene:
        """The pass's scene, placed in the clusters ``group`` names (once per grouping)."""
        if not isinstance(group, Hashable):
            return _grouped(self.backward.scene, group, False, caller)
        if group not in self.scenes:
            self.scenes[group] = _grouped(self.backward.scene, group, False, caller)
        return self.scenes[group]

    def cell_widths(self, fmt: Callable[[float], str], key: object) -> tuple[float, float]:
        """Widths in points of the grad cells and the edge labels: wide enough for every
        number any frame shows, so that every frame has the same layout. (This needs every
        step, so it runs the pass to its end.)"""
        if isinstance(key, Hashable) and key in self.widths:
            return self.widths[key]
        backward = self.backward
        # a grad cell shows the seed or some contribution's running total
        longest = len(fmt(backward.frame(0).upstream))
        edge = 1
        for k in range(backward.count):
            for c in backward.frame(k).contributions:
                longest = max(longest, len(fmt(c.total)))
                edge = max(edge, len(f"{fmt(c.upstream)} × {_factor(fmt(c.local))}"),
                           len(f"= {fmt(c.product)}"))
        widths = ((longest + 6) * _CHAR_WIDTH + 8, edge * _SMALL_CHAR_WIDTH + 8)
        if isinstance(key, Hashable):
            self.widths[key] = widths
        return widths


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One frame of the backward pass: ``node`` is processed, step ``index`` of ``count``.

    Its gradient ``upstream`` (d root / d node) is complete by now; it passes
    ``upstream * local`` to each Value input (``contributions``; a leaf passes nothing on).
    ``grads`` maps every node reached so far to its gradient after this step (a read-only view,
    worked out when read).
    """

    index: int
    count: int
    node: Value
    upstream: float
    contributions: tuple[Contribution, ...]
    _run: _Run = field(repr=False)

    @property
    def root(self) -> Value:
        """The output the backward pass started from."""
        return self._run.backward.scene.root

    @property
    def grads(self) -> Mapping[Value, float]:
        """Every node reached so far -> its gradient after this step."""
        return self._run.backward.grads(self.index)

    def describe(self, number_format: NumberFormat = ".4g") -> str:
        """The step in words: which node, its gradient, and what it adds to each input, with
        each input named by its label (or a letter, defined on the first line) and each local
        derivative as a formula in those names."""
        fmt = _formatter(number_format, "BackwardStep.describe")
        return _describe(self._run.backward, self.index, fmt)

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
        the same layout (without the caption), so that stepping through them does not jump:
        its cells are sized for every number of every step, so drawing a step works out all
        the steps (and raises the DomainError of any step that meets one)."""
        caller = "BackwardStep.draw"
        direction, fmt, limit = _check_picture_options(rankdir, number_format, max_nodes, caller)
        on_top = _check_flag(caption, "caption", caller)
        scene = self._run.scene_for(group, caller)
        _refuse_too_large(scene, limit, caller, lambda: [
            "draw a smaller part of it (the graph of one neuron's output, say)",
            "or raise max_nodes (Graphviz slows down past a few thousand nodes)",
        ])
        grad_width, edge_width = self._run.cell_widths(fmt, number_format)
        words = _describe(self._run.backward, self.index, fmt) if on_top else None
        view = _StepView(self._run.backward, self.index, grad_width, edge_width, words)
        alt = _frame_alt(self._run.backward, self.index, fmt)
        return _build(scene, fmt, rankdir=direction, show_grad=True, title=None, alt=alt, view=view)


def _check_grad(grad: object, caller: str) -> float:
    """The seed ``grad`` as a float, taken as ``backward()`` takes it (any real number a float
    holds), except a bool, surely a mistake here."""
    try:
        seed = None if isinstance(grad, bool) else _constant(grad, caller)
    except DomainError:
        raise ValueError(f"{caller}() grad must be a finite number a float can hold, got "
                         f"{shown(grad)}") from None
    if seed is None:
        raise TypeError(f"{caller}() grad must be a number, got {type(grad).__name__}: {shown(grad)}")
    return float(seed)


def _start(root: object, grad: object, max_nodes: object, caller: str, hints: list[str]) -> _Run:
    """The backward pass of ``root``, its arguments checked for ``caller``, not yet run."""
    node = _check_root(root, caller)
    seed = _check_grad(grad, caller)
    limit = _check_max_nodes(max_nodes, caller)
    scene = _scene(node)
    _refuse_too_large(scene, limit, caller, lambda: hints)
    return _Run(_Pass(scene, seed))


def _steps(run: _Run) -> Iterator[BackwardStep]:
    backward = run.backward
    for k in range(backward.count):
        node, upstream, contributions = backward.frame(k)
        yield BackwardStep(k, backward.count, node, upstream, contributions, run)


def backward_steps(root: Value, grad: float = 1.0, *, max_nodes: int = 500) -> Iterator[BackwardStep]:
    """The backward pass of ``root``, one ``BackwardStep`` per node, in the order
    ``backward()`` visits them: a node comes once every node that uses it is done (a reverse
    topological order), the output first.

    It works on its own copy of the gradients, seeded with ``grad`` at ``root``, and changes
    nothing in the graph; each step's ``grads`` are what ``backward(grad)`` has given every
    node by then when the leaves start at zero, bit for bit (the last step's are its ``.grad``).
    Each step adds exactly its node's contributions; an input used twice (``x * x``) gets both.

    The arguments are checked at the call; the steps are computed one at a time, as they are
    asked for, so a derivative outside its domain raises (``DomainError``) when its step is
    reached. Memory grows with the graph, not with the number of steps. ``max_nodes`` refuses
    (``GraphTooLargeError``) a graph whose picture would have more nodes, as ``draw_graph``
    does: raise it to step through a large graph.
    """
    caller = "backward_steps"
    return _steps(_start(root, grad, max_nodes, caller, [
        "step through a smaller part of it (the graph of one neuron's output, say)",
        "or raise max_nodes: the steps are worked out one at a time, as you ask for them, in "
        "memory that grows with the graph (drawing them slows down past a few thousand nodes)",
    ]))
