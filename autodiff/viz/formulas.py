"""Nodes and their derivatives as formulas, read from the rules' structured formulas.

``_formula`` writes a node as an expression (``w1·x1 + b``, brackets by precedence) down to the
nodes that have names. ``_operand_names`` names each input of a node for text: its label, a
neutral letter (a, b, ...) when it has none, or the number of a constant. ``_readable`` fills
the rule's formulas as a reader writes them (``Rule.code.readable``) with those names: the
node's own formula (``z · w2``) and each input's partial derivative (``d/dz = w2``). A rule of
your own without ``code`` has no formulas to show; these then say so by returning None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

from ..value import Value

_INFIX = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
_ATOM = 9
_LETTERS = "abcdefghijklmnopqrstuvw"
"""Neutral names for inputs without a label (x, y and z are left out: they are the rules' own
names and the book's input)."""


def _formula(
    node: Value,
    name_of: Callable[[Value], str | None],
    fmt: Callable[[float], str],
    budget: int,
) -> str:
    """``node`` as an expression, expanding operations until ``name_of`` names a node (or at
    most ``budget`` nodes have been expanded, past which it writes "…"), with the rules'
    symbols (``x^y`` for a power, as the rules' readable formulas write it). A negative number
    inside a formula gets brackets on either side of an operator, as ``_fill`` writes it:
    ``w1 · (-1)``, ``(-3) - w1``, ``-(-2)``."""
    left = [budget]

    def number(x: float) -> tuple[str, int]:
        text = fmt(x)
        return (f"({text})" if text.startswith("-") else text), _ATOM

    def right(text: str, needed: bool) -> str:
        return f"({text})" if needed or text.startswith("-") else text

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
                    terms.append(f"{a if pa >= 2 else f'({a})'}·{right(b, pb <= 2)}")
                return " + ".join(terms), 1
            return (f"{rule.name}(({', '.join(a for a, _ in xs)}), "
                    f"({', '.join(b for b, _ in ys)}))"), _ATOM
        if len(args) == 2 and symbol in _INFIX:
            prec = _INFIX[symbol]
            (a, pa), (b, pb) = args
            if pa < prec or (symbol == "**" and pa <= prec):
                a = f"({a})"
            b = right(b, pb < prec or (pb == prec and symbol in ("-", "/")))
            if symbol == "**":  # as the rules' readable formulas write it: x^y
                return f"{a}^{b}", prec
            return f"{a} {'·' if symbol == '*' else symbol} {b}", prec
        if len(args) == 1 and symbol == "-":
            a, pa = args[0]
            return f"-{right(a, pa < 3)}", 3
        return f"{symbol}({', '.join(a for a, _ in args)})", _ATOM

    if node.op is None and name_of(node) is None:
        return fmt(node.data)  # a number alone needs no brackets
    return show(node)[0]


def _over_vectors(node: Value) -> bool:
    """True for a node whose rule takes two vectors (``dot``): its inputs are both vectors, one
    after the other, and each of its two partials returns a vector."""
    rule = node.op
    return rule is not None and len(node.inputs) != rule.arity


def _operand_names(
    node: Value,
    name_of: Callable[[Value], str | None],
    fmt: Callable[[float], str],
    avoid: Collection[str] = (),
) -> list[str]:
    """A name for each input of ``node``, in order: what ``name_of`` calls a Value (its label),
    else a neutral letter, the same for every use of one Value and different from every other
    name here and from those in ``avoid``; a constant is its number."""
    given = {x: name_of(x) for x in node.inputs if isinstance(x, Value)}
    taken = {name for name in given.values() if name} | set(avoid)
    letters = (letter for letter in _LETTERS if letter not in taken)
    names: list[str] = []
    for x in node.inputs:
        if not isinstance(x, Value):
            names.append(fmt(x))
            continue
        if not given[x]:
            given[x] = next(letters, None) or f"a{len(names) + 1}"
        names.append(given[x] or "")
    return names


_NAME = re.compile(r"\b(?:x|y|out)\b", re.ASCII)
_PLAIN = re.compile(r"[\w.]+")


def _fill(template: str, names: dict[str, str]) -> str:
    """``template`` (a formula in the rule's names x, y and out) with ``names`` put in. A name
    that is not a plain word or number (``-1``, ``a b``) gets brackets, unless it stands alone
    (the whole formula, or between brackets or commas already: ``tanh(-1)``)."""

    def put(found: re.Match[str]) -> str:
        name = names.get(found.group(), found.group())
        if _PLAIN.fullmatch(name):
            return name
        before, after = template[: found.start()].rstrip(), template[found.end() :].lstrip()
        if before[-1:] in ("", "(", ",") and after[:1] in ("", ")", ","):
            return name
        return f"({name})"

    return _NAME.sub(put, template)


def _readable(node: Value, names: Sequence[str], out: str) -> tuple[str, list[str]] | None:
    """The formula of ``node`` and each input's partial derivative as a reader writes them,
    in the input ``names`` (and ``out`` for the node itself): ``("z · w2", ["w2", "z"])``; for
    a weighted sum ``w0 · x0 + w1 · x1 + b``. None when the rule has no ``code``."""
    rule = node.op
    if rule is None or rule.code is None:
        return None
    forward, partials = rule.code.readable
    if not _over_vectors(node):
        filled = dict(zip(("x", "y"), names), out=out)
        return _fill(forward, filled), [_fill(p, filled) for p in partials]
    half = len(names) // 2
    terms, xs, ys = [], [], []
    for k, (a, b) in enumerate(zip(names[:half], names[half:])):
        filled = {"x": a, "y": b, "out": out}
        ones = [not isinstance(v, Value) and v == 1 for v in (node.inputs[k], node.inputs[half + k])]
        terms.append(b if ones[0] else a if ones[1] else _fill(forward, filled))
        xs.append(_fill(partials[0], filled))
        ys.append(_fill(partials[1], filled))
    return " + ".join(terms), xs + ys


def _factor(text: str) -> str:
    """A number written after a ``×``: in brackets when it is negative (``2 × (-1)``)."""
    return f"({text})" if text.startswith("-") else text
