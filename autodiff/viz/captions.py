"""Pictures and frames in words: the caption of a backward step, and the alternative text of
every picture (what a screen reader says, and what shows where a picture cannot).

Inputs are named by their labels, or by neutral letters (a, b, ...) defined in the caption when
they have none; each partial derivative is the rule's formula as a reader writes it
(``Rule.code``), in those names: for ``z · w2``, ``d/dz = w2`` and ``d/dw2 = z``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from ..value import Value
from .formulas import _factor, _operand_names, _readable
from .frames import _Pass
from .scene import _many, _Scene

_DIRECTIONS = {"LR": "left to right", "RL": "right to left", "TB": "top to bottom",
               "BT": "bottom to top"}


def _node_formula(
    scene: _Scene, node: Value, fmt: Callable[[float], str]
) -> tuple[list[str], list[str] | None, str]:
    """For an operation node: its inputs' names, each input's partial derivative as a formula
    in them (None for a rule without formulas), and the node as a formula in them, followed by
    the definitions of the letters it uses (``a + 0.5, where a = (2 · w1 + 1) · w2``)."""
    rule = node.op
    assert rule is not None
    unnamed = {x: scene.name(x, fmt) for x in node.inputs if isinstance(x, Value) and not x.label}
    used = re.findall(r"[^\W\d]\w*", " ".join(unnamed.values()))  # no letter may clash with these
    names = _operand_names(node, lambda v: v.label or None, fmt, used)
    readable = _readable(node, names, node.label or "out")
    formula = readable[0] if readable else f"{rule.name}({', '.join(names)})"
    if unnamed:
        letters = dict(zip(node.inputs, names))
        formula += ", where " + ", ".join(f"{letters[x]} = {text}" for x, text in unnamed.items())
    return names, readable[1] if readable else None, formula


def _operation_words(scene: _Scene, node: Value, fmt: Callable[[float], str]) -> str:
    """An operation node in one line, for its tooltip: ``mul: z · w2;  d/dz = w2, d/dw2 = z``
    (the first few partials of a long weighted sum)."""
    rule = node.op
    assert rule is not None
    names, partials, formula = _node_formula(scene, node, fmt)
    if partials is None:
        return f"{rule.name}: {formula};  {rule.math}"
    shown = [f"d/d{name} = {partial}" for name, partial, x in zip(names, partials, node.inputs)
             if isinstance(x, Value)]
    more = ", …" if len(shown) > 6 else ""
    return f"{rule.name}: {formula};  {', '.join(shown[:6])}{more}"


def _describe(backward: _Pass, k: int, fmt: Callable[[float], str]) -> str:
    """Step ``k`` in words: which node, its gradient, and what it adds to each input."""
    scene = backward.scene
    node, upstream, contributions = backward.frame(k)
    head = f"Step {k + 1} of {backward.count}: "
    if node.op is None:
        head += scene.name(node, fmt)
    else:
        names, partials, formula = _node_formula(scene, node, fmt)
        label = f"{node.label} = " if node.label else ""
        head += f"{label}{formula}  ({node.op.name})"
    if node is scene.root:
        why = f"It is the output: its gradient is seeded with {fmt(upstream)}."
    else:
        why = f"All its consumers are done: its gradient is complete, {fmt(upstream)}."
    lines = [head, why]
    if node.op is None:
        lines.append("A leaf (an input or parameter): nothing to pass on; this gradient is final.")
        return "\n".join(lines)
    if not contributions:
        lines.append("Its inputs are constants: nothing to pass on.")
    else:
        lines.append("It adds upstream × local derivative to each input's gradient:")
    for c in contributions:
        name = names[c.position]
        rule = f"  (d/d{name} = {partials[c.position]})" if partials else ""
        lines.append(
            f"  to {name}: {fmt(c.upstream)} × {_factor(fmt(c.local))} = {fmt(c.product)}{rule}; "
            f"its grad is now {fmt(c.total)}"
        )
    return "\n".join(lines)


def _picture_alt(scene: _Scene, fmt: Callable[[float], str], rankdir: str, show_grad: bool) -> str:
    """What a picture of ``scene`` shows, in one paragraph."""
    root = scene.root
    leaves = [node for node in scene.order if node.op is None]
    ops = Counter(node.op.name for node in scene.order if node.op is not None)
    constants = sum(1 for node in scene.order for x in node.inputs if not isinstance(x, Value))
    named = [node.label for node in leaves if node.label]
    listed = ", ".join(named[:8]) + (", …" if len(named) > 8 else "")
    kinds = ", ".join(f"{n} {name}" for name, n in ops.most_common(5)) + (", …" if len(ops) > 5 else "")
    # as the records say it: "data" beside "grad", the bare number (its "value") without it
    numbers = f"data {fmt(root.data)}, grad {fmt(root.grad)}" if show_grad else f"value {fmt(root.data)}"
    text = (
        f"Computation graph of {scene.name(root, fmt, value=False)} ({numbers}), drawn "
        f"{_DIRECTIONS[rankdir]}: {_many(len(scene.order), 'value')} "
        f"({_many(len(leaves), 'input or parameter', 'inputs and parameters')}"
        f"{': ' + listed if listed else ''}; {_many(sum(ops.values()), 'operation')}"
        f"{': ' + kinds if kinds else ''})"
        f"{' and ' + _many(constants, 'constant') if constants else ''}."
    )
    if scene.boxes:
        text += f" {len(scene.boxes)} groups are drawn as one box each, with their formulas."
    return text


def _frame_alt(backward: _Pass, k: int, fmt: Callable[[float], str]) -> str:
    """What the picture of frame ``k`` shows, in one paragraph."""
    scene = backward.scene
    node, upstream, contributions = backward.frame(k)
    which = scene.name(node, fmt)
    which = which if which.startswith("the ") and not node.label else f"the node {which}"
    text = (
        f"Backward pass of {scene.name(scene.root, fmt)}, step {k + 1} of {backward.count}: "
        f"{which} is processed, with gradient {fmt(upstream)}"
    )
    if contributions:
        text += "; it passes " + ", ".join(
            f"{fmt(c.product)} to {scene.name(c.input, fmt)} (whose grad becomes {fmt(c.total)})"
            for c in contributions
        )
    reached = len(backward.grads(k))
    return f"{text}. {reached} of {backward.count} nodes have a gradient so far."
