"""The backward pass step by step.

``backward_steps(root)`` yields one ``BackwardStep`` per node, in the order ``backward()``
visits them: the node, its upstream gradient, and for each input a ``Contribution``, the local
derivative and the product ``upstream * local`` that is added to that input's gradient (the
vector-Jacobian product, one scalar at a time). A step says what it does in words
(``describe``) and draws itself as a frame (``draw``); the frames of one pass share a layout.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..value import DomainError, Value
from .arguments import NumberFormat, _check_picture_options, _check_root, _formatter
from .drawing import _build, _StepView
from .formulas import _formula, _input_names, _local_rules
from .grouping import Grouping
from .scene import _drawing_order, _refuse_too_large, _scene
from .style import _CHAR_WIDTH, _SMALL_CHAR_WIDTH

if TYPE_CHECKING:
    import graphviz


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
        direction, fmt, limit = _check_picture_options(rankdir, number_format, max_nodes)
        scene = _scene(self.root, group, False, fmt)
        _refuse_too_large(scene, limit, None, True, "BackwardStep.draw")
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
                total = grads[x] + product if x in grads else product
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
