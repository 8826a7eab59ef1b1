"""Nodes and their derivatives as formulas.

``_formula`` writes a node as an expression (``w1·x1 + b``, brackets by precedence) down to
the nodes that have names; ``_input_names`` says what a rule calls each input (x and y, or
x1..xn and y1..yn for two vectors), and ``_local_rules`` each input's partial derivative as the
rule's ``math`` writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..value import Value

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
                ones = [type(x) is not Value and x == 1 for x in v.inputs]  # constants 1 only
                for (a, pa), (b, pb), a_is_one, b_is_one in zip(xs, ys, ones[:half], ones[half:]):
                    if a_is_one or b_is_one:
                        terms.append(b if a_is_one else a)
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
