"""Define-and-run: a recorded graph turned into a straight-line Python program.

``backward()`` interprets the graph: it visits node after node, looks up each one's rule and
applies it. When the graph does not change from one step to the next (the same model on batches
of the same shape), that work can be done once: ``compile(root)`` walks the graph below ``root``
and writes its forward and backward passes out as Python source, one line per node, the way
one would write the backward pass by hand, and lets Python compile that::

    w1, w2 = Value(0.5, "w1"), Value(1.5, "w2")
    L = (2.0 * w1 + 1.0) * w2 + 0.5
    program = autodiff.compile(L)
    program()            # 3.5, and w1.grad += 3.0, w2.grad += 2.0, as L.backward() would
    w1.data = 1.0
    program()            # the same program on the leaves' new data: 5.0
    print(program.source)

Leaves (Values made by the user, with no operation) are the program's inputs: their ``.data``
is read on every run, and their ``.grad`` is added to, as ``backward()`` adds to it. Numbers
folded into operations stay the same numbers; a ``constant(...)`` is computed again from its
values. Everything else is frozen as it was recorded, as with a traced ``jit``: which operations
ran, on which inputs. Python control flow that looked at the numbers (``if x > 0:``) took one
branch when the graph was recorded, and the program always takes that branch.

Bit for bit: a program computes exactly what rebuilding the graph from its leaves' current data
and calling ``backward()`` would: the same float operations in the same order, down to the order
in which a node's gradient adds up the shares of its consumers. Each rule's ``code`` text does
the float operations of its functions, and the backward section follows the order of
``backward()``'s own sweep. When a number is not finite or an operation fails, the
program hands over to the interpreter, which raises the same ``DomainError`` (the operation, the
numbers, the label) and changes no gradient.
"""

from __future__ import annotations

import ast
import builtins
import gc
import itertools
import keyword
import math
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .grad_mode import _recording
from .rules import CODE_NAMES, DOT, POW, RULES, Code, Rule
from .value import (
    Constant,
    Value,
    _backward_lock,
    _constant,
    _gradient_overflow,
    _leading_to,
    apply,
    constant,
    gradients,
    same_float,
    shown,
)

MAX_NODES = 100_000
"""The largest graph ``compile`` takes, a ``dot`` of n terms counting as n nodes (each term is
written out). Python's own compiler needs about 40 µs and 6 kB for each node's two lines: a
chain of 100,000 nodes takes it about 4 seconds and 600 MB, and past that ``backward()`` is the
better tool."""

TERMS_PER_LINE = 100
"""Longer sums are written over several lines: Python's compiler recurses once per term."""

_ARITHMETIC = frozenset({"add", "sub", "mul"})
"""Built-in rules written infix, so that sums and products read once nest into one line."""

_SAFE = frozenset({"neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "softplus", "sin",
                   "cos", "pow"})
"""Built-in rules whose result is finite whenever their inputs are, or which raise (math.exp and
math.pow raise OverflowError): a program need not check their results. Sums, products and
quotients of finite numbers can overflow to inf without a word."""


class GraphTooLargeToCompileError(ValueError):
    """A graph of more than ``MAX_NODES`` nodes."""


class _Everything:
    """The set of every node (``x in _Everything()`` is always True)."""

    def __contains__(self, item: object) -> bool:
        return True


class _NotFiniteError(Exception):
    """Raised inside a program when a number is not finite: the interpreter takes over."""


def _all_finite(*numbers: float) -> bool:
    return all(map(math.isfinite, numbers))


def _set_grads(leaves: tuple[Value, ...], grads: tuple[Any, ...]) -> None:
    """Every leaf's new gradient at once (one C loop, which Ctrl-C does not interrupt halfway)."""
    list(map(setattr, leaves, itertools.repeat("grad"), grads))


_HELPERS = {
    "_all_finite": _all_finite, "_NotFiniteError": _NotFiniteError, "_set_grads": _set_grads, **CODE_NAMES
}
"""What every program can call, besides Python's builtins."""


# --- the walk --------------------------------------------------------------------------------


def _order(
    roots: Sequence[Value],
) -> tuple[list[Value], dict[Value, tuple[Any, ...]], dict[Value, list[Constant]]]:
    """Every node the ``roots`` depend on, inputs before the nodes made from them (the values a
    ``constant`` was computed from count as inputs of the nodes that use it), each operation
    node's inputs, and the constants among them, for the nodes that have any. An explicit
    stack, no recursion; refuses a graph past MAX_NODES as soon as it has seen that many (a dot
    of n terms counting as n)."""
    inputs: dict[Value, tuple[Any, ...]] = {}
    constants: dict[Value, list[Constant]] = {}
    order: list[Value] = []
    placed: set[Value] = set()
    size = 0
    stack: list[tuple[Value, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, ready = stack.pop()
        if node in placed:
            continue
        if ready:
            placed.add(node)
            order.append(node)
            size += len(inputs[node]) // 2 or 1 if node._op is DOT else 1
            if size > MAX_NODES:
                raise GraphTooLargeToCompileError(
                    f"compile() takes graphs of at most {MAX_NODES:,} nodes (autodiff.compile.MAX_NODES; "
                    "a dot of n terms counts as n) and this one has more: Python's own compiler would "
                    "take minutes and gigabytes on a program that long. Call backward() on it instead, "
                    "or compile a smaller part."
                )
            continue
        stack.append((node, True))
        if node._op is None:
            continue
        if node not in inputs:
            inputs[node] = node.inputs
        for x in reversed(_dependencies(node, inputs[node], constants)):
            if x not in placed:
                stack.append((x, False))
    return order, inputs, constants


def _dependencies(
    node: Value, inputs: tuple[Any, ...], constants: dict[Value, list[Constant]]
) -> list[Value]:
    """The Values a node's number is computed from: its Value inputs, and the values behind any
    ``constant`` among its inputs (which ``constants[node]`` lists)."""
    found: list[Value] = []
    for x in inputs:
        if type(x) is Value:
            found.append(x)
        elif type(x) is Constant:
            found.extend(x.values)
            constants.setdefault(node, []).append(x)
    return found


def _backward_order(root: Value, inputs: dict[Value, tuple[Any, ...]]) -> list[Value]:
    """The operation nodes in the order ``backward()`` takes them: Kahn's algorithm over the
    consumer counts, as ``value._propagate`` runs it."""
    pending: dict[Value, int] = {root: 0}
    found = [root]
    for node in found:
        for x in inputs[node]:
            if type(x) is Value and x._op is not None:
                if x not in pending:
                    pending[x] = 0
                    found.append(x)
                pending[x] += 1
    ready = [root]
    for node in ready:
        for x in inputs[node]:
            if type(x) is Value and x._op is not None:
                pending[x] -= 1
                if not pending[x]:
                    ready.append(x)
    return ready


# --- names -------------------------------------------------------------------------------------

_RESERVED = frozenset((*keyword.kwlist, *keyword.softkwlist, *dir(builtins), *_HELPERS, "inputs", "wrt",
                       "grad", "program", "forward"))
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_GENERATED = re.compile(r"d*v\d+\Z")


def _names(order: list[Value]) -> dict[Value, str]:
    """A variable name for every node: its label where no other node carries it, made a Python
    name by writing ``_`` for what a name cannot hold (``w1``, ``z``, ``L0_N3_w1`` for nn's
    ``L0.N3.w1``), else ``v`` and a number counted along the order (``v12``)."""
    wanted = {node: re.sub(r"\W", "_", node.label) if node.label else None for node in order}
    counts: dict[str | None, int] = {}
    for name in wanted.values():
        counts[name] = counts.get(name, 0) + 1
    names: dict[Value, str] = {}
    numbered = 0
    for node in order:
        label = wanted[node]
        if (label is not None and counts[label] == 1 and _IDENTIFIER.match(label) is not None
                and label not in _RESERVED and not _GENERATED.match(label)):
            names[node] = label
        else:
            numbered += 1
            names[node] = f"v{numbered}"
    return names


def _gradient_names(names: dict[Value, str]) -> dict[Value, str]:
    """``d`` and the node's name: ``dw1`` holds d root / d w1."""
    taken = set(names.values()) | _RESERVED
    grads: dict[Value, str] = {}
    for node, name in names.items():
        candidate = f"d{name}"
        while candidate in taken:
            candidate = f"d{candidate}"
        taken.add(candidate)
        grads[node] = candidate
    return grads


def _literal(x: Any) -> str:
    """A folded number as source text: its repr, in brackets when negative (``w * (-2.0)``)."""
    text = repr(x if type(x) is int else float(x))
    return f"({text})" if text.startswith("-") else text


_PLACEHOLDER = re.compile(r"\b(x|y|out)\b")
_POSITIONS = {"x": 0, "y": 1}


def _code_of(rule: Rule) -> Code | None:
    """The code text to write for ``rule``: a built-in rule's own; for a rule of one's own, its
    code if every name it uses is x, y, out or one of ``CODE_NAMES`` (else None: the program
    calls its functions)."""
    code = rule.code
    if code is None or RULES.get(rule.name) is rule:
        return code
    allowed = {"x", "y", "out", *CODE_NAMES}
    for text in (code.forward, *code.partials):
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError:
            return None
        if any(isinstance(n, ast.Name) and n.id not in allowed for n in ast.walk(tree)):
            return None
    return code


# --- the source ----------------------------------------------------------------------------------

_UNIT = ("1.0", "1")
_MINUS_UNIT = ("(-1.0)", "(-1)", "-1.0", "-1")


_ATOMIC, _PRODUCT, _SUM, _LOWEST = 9, 5, 4, 0
"""How tightly an expression binds, as Python parses it: a name or a number, a product, a sum,
anything else (which always goes in brackets inside another)."""
_BINDS = {"*": _PRODUCT, "+": _SUM, "-": _SUM}


class _Text(NamedTuple):
    """An expression's source text, how tightly it binds, how many operations it holds, and the
    rules of the nodes written into it (for the comment of its line)."""

    text: str
    binds: int = _ATOMIC
    size: int = 0
    rules: tuple[str, ...] = ()

    @staticmethod
    def binary(left: _Text, symbol: str, right: _Text, rule: str = "") -> _Text:
        """``left symbol right`` with the brackets Python needs to compute exactly that: floats
        add and multiply left to right, so ``(a + b) + c`` is written ``a + b + c`` but
        ``a + (b + c)`` keeps its brackets. ``rule``, if given, joins the rules it holds."""
        binds = _BINDS[symbol]
        a = left.text if left.binds >= binds else f"({left.text})"
        b = right.text if right.binds > binds else f"({right.text})"
        rules = left.rules + right.rules + (rule,) if rule else left.rules + right.rules
        return _Text(f"{a} {symbol} {b}", binds, left.size + right.size + 1, rules)


def _inlines(rule: Rule) -> bool:
    return RULES.get(rule.name) is rule and (rule.name in _ARITHMETIC or rule is DOT)


@dataclass
class _Writer:
    """Writes the source of one program: the inputs, the forward section, the backward section."""

    outputs: list[Value]
    order: list[Value]
    inputs: dict[Value, tuple[Any, ...]]
    constant_inputs: dict[Value, list[Constant]]
    names: dict[Value, str]
    grads: dict[Value, str]
    leaves: list[Value]
    wanted: list[Value]
    namespace: dict[str, Any] = field(default_factory=lambda: dict(_HELPERS))
    constants: dict[int, str] = field(default_factory=dict)
    functions: dict[int, str] = field(default_factory=dict)
    texts: dict[Value, _Text] = field(default_factory=dict)
    templates: dict[int, _Templates | None] = field(default_factory=dict)
    checked: set[int] = field(default_factory=set)

    def templates_of(self, rule: Rule) -> _Templates | None:
        if id(rule) not in self.templates:
            self.templates[id(rule)] = _templates(rule)
        return self.templates[id(rule)]

    def check_code(self, node: Value) -> None:
        """A rule of one's own is written from its code text only if that text computes what
        its functions do: checked on the node's recorded numbers, the first time the rule is
        met (built-in rules are checked by the test suite)."""
        rule = node._op
        assert rule is not None
        if RULES.get(rule.name) is rule or id(rule) in self.checked or self.templates_of(rule) is None:
            return
        self.checked.add(id(rule))
        code = rule.code
        assert code is not None
        args = [x.data if isinstance(x, Value) else float(x) for x in self.inputs[node]]
        names = dict(zip(("x", "y"), args), out=node.data)
        checks = [(code.forward, rule.forward, args),
                  *((text, p, [*args, node.data]) for text, p in zip(code.partials, rule.partials))]
        for text, function, arguments in checks:
            try:
                want: Any = function(*arguments)
            except (ArithmeticError, ValueError):
                continue
            try:
                got: Any = eval(text, dict(CODE_NAMES), names)
            except Exception as error:
                got = error
            if not same_float(got, want):
                raise ValueError(
                    f"compile(): the code text of rule {rule.name!r} does not compute what its functions "
                    f"do: {text!r} gives {shown(got)} where the function gives {shown(want)}, at "
                    f"{', '.join(f'{k} = {shown(v)}' for k, v in names.items())}. Correct Rule.code, "
                    "or leave it out (the program then calls the functions)."
                )

    def function(self, function: Callable[..., Any], what: str) -> str:
        """The name under which the program calls ``function`` (a rule's, without code text)."""
        if id(function) not in self.functions:
            self.functions[id(function)] = name = f"_{what}{len(self.functions)}"
            self.namespace[name] = function
        return self.functions[id(function)]

    # --- forward ---

    def forward(self) -> list[str]:
        """The inputs, then a line per node, inputs before the nodes made from them. A sum or
        product whose number serves only as a term of one other sum or product is written into
        that one's line (``z = 2.0 * w1 + 1.0``): the same floats, fewer lines."""
        lines = ["    # the inputs: each leaf's number, read on every run"]
        checked: list[str] = []
        for i, leaf in enumerate(self.leaves):
            lines.append(f"    {self.names[leaf]} = inputs[{i}].data")
            checked.append(self.names[leaf])
        lines.append("    # forward: every node from its inputs, as recorded")
        inlined = self.inlinable()
        for node in self.order:
            rule = node._op
            if rule is None:
                continue
            self.check_code(node)
            for x in self.constant_inputs.get(node, ()):
                if id(x) not in self.constants:
                    self.constants[id(x)] = name = f"_c{len(self.constants)}"
                    call = "max" if x.function is builtins.max else self.function(x.function, "constant")
                    values = ", ".join(self.names[v] for v in x.values)
                    lines.append(f"    {name} = {call}([{values}])  # a constant: no gradient flows back")
            terms = self.formula(node)
            if node in inlined and len(terms) == 1 and terms[0].size <= TERMS_PER_LINE:
                self.texts[node] = terms[0]
                continue
            said = _said(terms[0].rules) if len(terms) == 1 else rule.name
            lines += _assign(self.names[node], [term.text for term in terms], said)
            if rule.name not in _SAFE or RULES.get(rule.name) is not rule:
                checked.append(self.names[node])
        return lines + _checks(checked, "every number so far is finite (else the interpreter says why)")

    def inlinable(self) -> set[Value]:
        """The sums and products whose number is a term of exactly one other sum or product and
        is read nowhere else: not by a partial derivative, a constant, a check or the caller.
        (Their one consumer's number is checked, and a sum or product of an inf or a nan is
        never finite, so no overflow goes unseen.)"""
        uses: dict[Value, int] = {}
        consumer: dict[Value, Value] = {}
        constants: set[Value] = set()
        for node in self.order:
            if node._op is None:
                continue
            for x in self.inputs[node]:
                if type(x) is Value:
                    if x._op is None:
                        continue
                    if x in uses:
                        uses[x] += 1
                    else:
                        uses[x] = 1
                        consumer[x] = node
        for found_constants in self.constant_inputs.values():
            for c in found_constants:
                constants.update(c.values)
        outputs = set(self.outputs)
        found: set[Value] = set()
        read: set[Value] = set()
        for node, n in uses.items():
            if n != 1 or node in outputs or node in constants or not _inlines(node._op):  # type: ignore[arg-type]
                continue
            user = consumer[node]
            if not _inlines(user._op):  # type: ignore[arg-type]
                continue
            read.clear()
            self.partials_read(user, self.inputs[user], read)
            if node not in read:
                found.add(node)
        return found

    def partials_read(self, node: Value, inputs: tuple[Any, ...], read: set[Value]) -> None:
        """Add to ``read`` the nodes whose numbers ``node``'s partial derivatives read."""
        rule = node._op
        assert rule is not None
        if rule is DOT:
            half = len(inputs) // 2
            for v, p in zip(inputs, (*inputs[half:], *inputs[:half])):
                if type(v) is Value and type(p) is Value:
                    read.add(p)
            return
        templates = self.templates_of(rule)
        if templates is None:
            read.update(x for x in (*inputs, node) if type(x) is Value)
            return
        for x, positions in zip(inputs, templates.reads):
            if positions and type(x) is Value:
                for position in positions:
                    v = node if position == len(inputs) else inputs[position]
                    if type(v) is Value:
                        read.add(v)

    def operand(self, x: Any) -> str:
        """``text(x)``'s text: what an input of a rule's code is filled in with."""
        if type(x) is Value and x not in self.texts:
            return self.names[x]
        return self.text(x).text

    def text(self, x: Any) -> _Text:
        """How an input is written: a name, a number, or the expression of a node written into
        its consumer's line (``texts`` holds those)."""
        if type(x) is Value:
            known = self.texts.get(x)
            if known is None:
                return _Text(self.names[x])
            return known
        if type(x) is Constant:
            return _Text(self.constants[id(x)])
        return _Text(_literal(x))

    def plain_dot(self, xs: tuple[Any, ...], ys: tuple[Any, ...]) -> list[str] | None:
        """The products of a dot of named Values (and numbers, a factor 1 left out: x * 1.0 is
        x, exactly), as text; None if some element is a node written inline, or a constant."""
        terms = []
        for x, y in zip(xs, ys):
            a, b = self.plain(x), self.plain(y)
            if a is None or b is None:
                return None
            terms.append(f"{a} * {b}" if a and b else a or b or "1.0")
        return terms

    def plain(self, x: Any) -> str | None:
        """A dot's element as a name or a number ("" for 1); None for a node written inline or
        a constant, which need the general way."""
        if type(x) is Value:
            return None if x in self.texts else self.names[x]
        if type(x) is Constant:
            return None
        return "" if _is_one(x) else _literal(x)

    def formula(self, node: Value) -> list[_Text]:
        """A node's formula: one expression, or for a long dot product its terms, to be added
        up over several lines."""
        rule = node._op
        assert rule is not None
        inputs = self.inputs[node]
        if rule is DOT:
            half = len(inputs) // 2
            plain = self.plain_dot(inputs[:half], inputs[half:])
            if plain is not None:  # the usual case: names (and numbers) times names
                if len(plain) > TERMS_PER_LINE:
                    return [_Text(term, _PRODUCT, 1) for term in plain]
                return [_Text(" + ".join(plain), _SUM if len(plain) > 1 else _PRODUCT, 2 * len(plain) - 1,
                              ("dot",))]
            terms = []
            for x, y in zip(inputs[:half], inputs[half:]):
                if type(y) is not Value and _is_one(y):  # x * 1.0 is x, exactly
                    terms.append(self.text(x))
                elif type(x) is not Value and _is_one(x):
                    terms.append(self.text(y))
                else:
                    terms.append(_Text.binary(self.text(x), "*", self.text(y)))
            if len(terms) > TERMS_PER_LINE:
                return terms
            total = terms[0]
            for term in terms[1:]:
                total = _Text.binary(total, "+", term)
            return [total._replace(rules=(*total.rules, "dot"))]
        if rule.name in _ARITHMETIC and RULES[rule.name] is rule:
            return [_Text.binary(self.text(inputs[0]), rule.symbol, self.text(inputs[1]), rule.name)]
        operands = [self.operand(x) for x in inputs]
        templates = self.templates_of(rule)
        if templates is not None:
            return [_Text(templates.forward.format(*operands), _LOWEST, 0, (rule.name,))]
        return [_Text(f"{self.function(rule.forward, 'forward')}({', '.join(operands)})", rules=(rule.name,))]

    # --- backward ---

    def backward(self) -> list[str]:
        """One line per node, consumers first: a node's gradient is the sum of the shares its
        consumers sent it, in the order ``backward()`` adds them up; the leaves' last. A node
        whose one share is its consumer's gradient times 1 (a term of a sum) takes that
        gradient's name instead of a line of its own. Only nodes on a path to a wanted leaf
        are written."""
        root = self.outputs[0]
        order = _backward_order(root, self.inputs) if root._op is not None else []
        # with every leaf wanted, every node leads to one (or sends nothing that counts)
        every = len(self.wanted) == len(self.leaves)
        leading = _Everything() if every else _leading_to(self.order, self.wanted)
        shares: dict[Value, list[str]] = {}
        senders: dict[Value, list[str]] = {}
        lines = ["    # backward: d root / d node, consumers first (the chain rule)"]
        for node in order:
            if node not in leading:
                continue
            if node is root:
                lines.append(f"    {self.grads[node]} = grad  # the seed")
            elif len(shares[node]) == 1 and shares[node][0].isidentifier():
                self.grads[node] = shares[node][0]
            else:
                lines += _assign(self.grads[node], shares[node], _said(senders[node]))
            self.send(node, shares, senders, leading)
        wanted = set(self.wanted)
        grads = []
        for i, leaf in enumerate(self.leaves):
            if leaf not in wanted:
                continue
            terms = [f"inputs[{i}].grad", *shares.get(leaf, ()), *(("grad",) if leaf is root else ())]
            lines += _assign(self.grads[leaf], terms, _said(senders.get(leaf, ())) or "not used")
            grads.append(self.grads[leaf])
        lines += _checks(grads, "every gradient is finite (else the interpreter says where)")
        if grads:
            lines.append("    # the leaves keep their gradients (added to what they held), all at once")
            lines.append(f"    _set_grads(wrt, ({', '.join(grads)}{',' if len(grads) == 1 else ''}))")
        return lines

    def send(self, node: Value, shares: dict[Value, list[str]], senders: dict[Value, list[str]],
             leading: Container[Value]) -> None:
        """The shares ``node`` sends those of its Value inputs on a path to a wanted leaf, its
        gradient times each partial, in the order ``backward()`` sends them."""
        rule = node._op
        assert rule is not None
        inputs = self.inputs[node]
        upstream = self.grads[node]
        name = rule.name
        if rule is DOT:
            half = len(inputs) // 2
            names, everything = self.names, type(leading) is _Everything
            for x, partner in zip(inputs, (*inputs[half:], *inputs[:half])):
                if type(x) is not Value or not (everything or x in leading):
                    continue
                if type(partner) is Value:  # read by this partial, so never written inline
                    share = f"{upstream} * {names[partner]}"
                else:
                    text = self.operand(partner)
                    share = upstream if text in _UNIT else (
                        f"-{upstream}" if text in _MINUS_UNIT else f"{upstream} * {text}")
                _add_share(shares, senders, x, share, name)
            return
        templates = self.templates_of(rule)
        if rule is POW and templates is not None:
            templates = _pow_templates(inputs, templates)
        operands: list[str] = []  # filled in when a partial needs more than one operand's name
        for i, x in enumerate(inputs):
            if type(x) is not Value or x not in leading:
                continue
            kind = templates.kinds[i] if templates is not None else "function"
            if kind == "unit":
                share = upstream
            elif kind == "minus unit":
                share = f"-{upstream}"
            elif kind == "operand":  # x, y or out: that input's name or number (or the node's)
                position = templates.reads[i][0]  # type: ignore[union-attr]
                text = self.names[node] if position == len(inputs) else self.operand(inputs[position])
                atomic = text.isidentifier() or _is_number(text)
                share = f"{upstream} * {text}" if atomic else f"{upstream} * ({text})"
            else:
                if not operands:
                    operands = [*map(self.operand, inputs), self.names[node]]
                if templates is None:
                    function = self.function(rule.partials[i], "partial")
                    share = f"{upstream} * {function}({', '.join(operands)})"
                else:
                    share = f"{upstream} * ({templates.partials[i].format(*operands)})"
            _add_share(shares, senders, x, share, name)


def _add_share(shares: dict[Value, list[str]], senders: dict[Value, list[str]], x: Value, share: str,
               sender: str) -> None:
    """``x`` receives ``share`` (text) from a node of rule ``sender``, after the shares before it."""
    found = shares.get(x)
    if found is None:
        shares[x] = [share]
        senders[x] = [sender]
    else:
        found.append(share)
        senders[x].append(sender)


class _Templates(NamedTuple):
    """A rule's code text made ready to fill in: ``str.format`` templates of the forward
    formula and partials (operands by position: x, y, then out), the operands each partial
    reads (by the same positions), and what kind each partial is: "unit" (1), "minus unit"
    (-1), "operand" (one of x, y, out) or "expression"."""

    forward: str
    partials: tuple[str, ...]
    reads: tuple[tuple[int, ...], ...]
    kinds: tuple[str, ...]


def _pow_templates(inputs: tuple[Any, ...], templates: _Templates) -> _Templates:
    """pow's partials with a number for the exponent or the base worked out where that changes
    no float operation: ``x ** 2`` sends ``2 * x ** 1`` (``y * x ** (y - 1)`` with y = 2; the
    branch for y = 0 cannot be taken), and ``2 ** y`` sends ``out * 0.693...`` (``out * ln 2``,
    the logarithm of a number computed once)."""
    x, y = inputs
    d_dx, d_dy = templates.partials
    if _is_fixed(x) and x > 0:
        d_dy = "{2} * " + _literal(math.log(x))
    if _is_fixed(y) and y != 0:
        d_dx = f"{_literal(y)} * {{0}} ** {_literal(y - 1)}"
    return templates._replace(partials=(d_dx, d_dy), kinds=("expression", "expression"))


def _is_fixed(x: Any) -> bool:
    """Whether an input is a number that never changes (a ``constant`` is computed again)."""
    return type(x) is not Value and type(x) is not Constant


def _templates(rule: Rule) -> _Templates | None:
    """The templates of ``rule``'s code text (see ``_code_of``); None without code text."""
    code = _code_of(rule)
    made = None
    if code is not None:
        position = {"x": "{0}", "y": "{1}", "out": f"{{{rule.arity}}}"}

        def template(text: str) -> str:
            escaped = text.replace("{", "{{").replace("}", "}}")
            return _PLACEHOLDER.sub(lambda match: position[match.group(1)], escaped)

        made = _Templates(
            template(code.forward),
            tuple(template(text) for text in code.partials),
            tuple(tuple(sorted({_POSITIONS[name] if name != "out" else rule.arity
                                for name in _PLACEHOLDER.findall(text)})) for text in code.partials),
            tuple("unit" if text in _UNIT else "minus unit" if text in _MINUS_UNIT
                  else "operand" if text in ("x", "y", "out") else "expression" for text in code.partials),
        )
    return made


def _is_number(text: str) -> bool:
    """A number as ``_literal`` writes it: ``2.5``, ``(-1e-05)``."""
    try:
        float(text[1:-1] if text.startswith("(") else text)
    except ValueError:
        return False
    return True


def _said(rules: Sequence[str]) -> str:
    """The rules that sent shares, for a comment: ``mul``, ``dot ×100, mul``."""
    if len(rules) == 1:
        return rules[0]
    counted: dict[str, int] = {}
    for name in rules:
        counted[name] = counted.get(name, 0) + 1
    return ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in counted.items())


def _is_one(x: Any) -> bool:
    return type(x) in (int, float) and x == 1


def _assign(target: str, terms: Sequence[str], comment: str) -> list[str]:
    """``target = t1 + t2 + ...``, added left to right (``a - b`` for ``a + -b``: the same float),
    over lines of at most TERMS_PER_LINE terms, going on with ``target = target + ...``."""
    lines = []
    for start in range(0, len(terms), TERMS_PER_LINE):
        chunk = terms[start:start + TERMS_PER_LINE]
        text = " + ".join(chunk if start == 0 else (target, *chunk)).replace(" + -", " - ")
        lines.append(f"    {target} = {text}  # {comment}" if start == 0 else f"    {target} = {text}")
    return lines


def _checks(names: list[str], what: str) -> list[str]:
    if not names:
        return []
    lines = [f"    # {what}"]
    for start in range(0, len(names), TERMS_PER_LINE):
        lines.append(f"    if not _all_finite({', '.join(names[start:start + TERMS_PER_LINE])}):")
        lines.append("        raise _NotFiniteError")
    return lines


# --- the program -------------------------------------------------------------------------------


class Program:
    """A graph compiled by ``compile(root)``: call it to run the forward and backward passes.

    ``program()`` recomputes every node from the leaves' current ``.data``, then adds d root /
    d leaf to each leaf's ``.grad``, exactly as ``root.backward()`` on a graph rebuilt from the
    same data would (zeroing stays yours: two calls add twice), and returns the root's new
    value. ``program(grad=g)`` seeds d root / d root with g, as ``backward(g)``.
    ``program.forward()`` computes the value only (a list of values, for a program compiled
    from a list of outputs). ``program.source`` is the Python it runs, ``program.inputs`` its
    leaves in the order the source reads them, ``program.wrt`` those whose gradients it adds
    up. Running it changes no node of the graph it was compiled from.
    """

    def __init__(self, outputs: list[Value], single: bool, order: list[Value], writer: _Writer,
                 forward: list[str], backward: list[str] | None) -> None:
        self.outputs = tuple(outputs)
        self.inputs: tuple[Value, ...] = tuple(writer.leaves)
        self.wrt: tuple[Value, ...] = tuple(writer.wanted)
        self.fallbacks = 0
        """How many runs handed over to the interpreter (a number that was not finite, or an
        operation outside its domain)."""
        self._single = single
        self._order = order
        self._namespace = writer.namespace
        names = [writer.names[out] for out in outputs]
        result = f"    return {names[0]}" if single else f"    return [{', '.join(names)}]"
        self._forward_source = "\n".join(["def forward(inputs):", *forward, result, ""])
        self._forward: Callable[[tuple[Value, ...]], Any] | None = None
        if backward is None:
            header = (f"# autodiff.compile: {len(order)} nodes, {len(self.inputs)} of them inputs; "
                      f"returns {', '.join(names)}")
            self.source = "\n".join([header, self._forward_source])
            self._forward = self._define(self.source, "forward")
            return
        top = names[0]
        header = (f"# autodiff.compile: {len(order)} nodes, {len(self.inputs)} of them inputs; "
                  f"returns {top} and adds d{top}/d(input) to each input's .grad")
        self.source = "\n".join([header, "def program(inputs, wrt, grad):", *forward, *backward, result, ""])
        self._run: Callable[[tuple[Value, ...], tuple[Value, ...], Any], float] = self._define(
            self.source, "program"
        )

    def _define(self, source: str, name: str) -> Any:
        exec(builtins.compile(source, f"<autodiff.compile {name}>", "exec"), self._namespace)
        return self._namespace[name]

    @property
    def nodes(self) -> int:
        """How many nodes the program computes, its inputs included."""
        return len(self._order)

    def __call__(self, grad: float = 1.0) -> float:
        if not self._single:
            raise TypeError(
                f"a program of {len(self.outputs)} outputs has no backward pass: call program.forward() "
                "(compile one output for its gradients)"
            )
        seed = _constant(grad, "program")
        if seed is None:
            raise TypeError(f"program() grad must be a number, got {type(grad).__name__}: {shown(grad)}")
        with _backward_lock:
            try:
                return self._run(self.inputs, self.wrt, seed)
            except Exception:  # a number that is not finite, an operation outside its domain
                self.fallbacks += 1
            # the interpreter on the graph rebuilt from the same data: the DomainError an operation
            # raises, as recorded; then the gradients, or the error backward() raises there, with
            # no gradient changed
            root = self._rebuild()[0]
            if len(self.wrt) == len(self.inputs):
                root.backward(seed)
            else:
                found = gradients(root, self.wrt, seed)
                for leaf, g in zip(self.wrt, found):
                    if not math.isfinite(leaf.grad + g):
                        raise _gradient_overflow(leaf, leaf.grad + g)
                for leaf, g in zip(self.wrt, found):
                    leaf.grad += g
            return root.data

    def forward(self) -> Any:
        """The root's value at the leaves' current data, without the backward pass; for a
        program compiled from a list of outputs, their values in a list."""
        if self._forward is None:
            self._forward = self._define(self._forward_source, "forward")
        try:
            return self._forward(self.inputs)
        except Exception:
            self.fallbacks += 1
        values = [out.data for out in self._rebuild()]
        return values[0] if self._single else values

    def _rebuild(self) -> list[Value]:
        """The graph again, on the same leaves at their current data and with the same labels,
        made by the engine's own operations (which raise what the program could not say)."""
        token = _recording.set(True)
        try:
            made: dict[Value, Value] = {}

            def again(x: Any) -> Any:
                if type(x) is Value:
                    return made.get(x, x)
                if type(x) is Constant:
                    return constant(x.function, [made.get(v, v) for v in x.values])
                return x

            for node in self._order:
                rule = node._op
                if rule is None:
                    continue
                inputs = [again(x) for x in node.inputs]
                if rule is DOT:
                    half = len(inputs) // 2
                    new = apply(DOT, inputs[:half], inputs[half:])  # type: ignore[arg-type]
                else:
                    new = apply(rule, *inputs)
                new.label = node.label
                made[node] = new
            return [made.get(out, out) for out in self.outputs]
        finally:
            _recording.reset(token)

    def __repr__(self) -> str:
        lines = self.source.count("\n")
        return f"<Program of {self.nodes} nodes, {len(self.inputs)} inputs, {lines} lines>"


def compile(root: Value | Sequence[Value], wrt: Sequence[Value] | None = None) -> Program:
    """The graph below ``root`` as a ``Program``: straight-line Python for its forward and
    backward passes, run again and again on the leaves' current data, bit for bit as
    ``backward()`` would (see this module's docstring). Control flow is frozen as recorded.

    ``wrt`` names the leaves whose gradients the program adds up (all of them by default, as
    ``backward()``); the other leaves are inputs only, and the partial derivatives on paths to
    them alone are not computed (as ``gradients()``). ``root`` may be a list of Values: the
    program then computes their values (``program.forward()``) and has no backward pass.

    Raises TypeError for anything but Values, ValueError for a ``wrt`` that is not a list of
    the graph's leaves, and GraphTooLargeToCompileError (a ValueError) for a graph of more than
    ``MAX_NODES`` nodes."""
    single = isinstance(root, Value)
    listed = isinstance(root, Sequence) and not isinstance(root, (str, bytes))
    outputs: list[Any] = [root] if single else list(root) if listed else [root]  # type: ignore[arg-type]
    for out in outputs:
        if not isinstance(out, Value):
            raise TypeError(f"compile() needs the Value at the top of a graph, or a list of them, got "
                            f"{type(out).__name__}: {shown(out)}")
    if not outputs:
        raise ValueError("compile() got an empty list of outputs")
    if wrt is not None and not single:
        raise TypeError("compile() wrt needs one output: a list of outputs has no backward pass")
    collecting = gc.isenabled()
    gc.disable()  # the walk makes hundreds of thousands of objects and no cycle: no collections
    try:
        order, inputs, constants = _order(outputs)
        names = _names(order)
        leaves = [n for n in order if n._op is None]
        wanted = leaves if wrt is None else _wanted(_list(wrt, "compile() wrt"), leaves)
        writer = _Writer(outputs, order, inputs, constants, names, _gradient_names(names), leaves, wanted)
        forward = writer.forward()
        backward = writer.backward() if single else None
        return Program(outputs, single, order, writer, forward, backward)
    finally:
        if collecting:
            gc.enable()


def _list(items: Any, what: str) -> list[Any]:
    if isinstance(items, (str, bytes, Value)) or not isinstance(items, Sequence):
        raise TypeError(f"{what} must be a list, got {type(items).__name__}")
    return list(items)


def _wanted(wrt: list[Any], leaves: list[Value]) -> list[Value]:
    """``wrt`` in the order of ``leaves``, checked: Values, leaves of this graph, none twice."""
    known = set(leaves)
    seen: set[Value] = set()
    for x in wrt:
        if not isinstance(x, Value):
            raise TypeError(f"compile() wrt must be Values, got {type(x).__name__}")
        if x not in known:
            what = "an operation node" if x._op is not None else "a leaf this graph does not use"
            raise ValueError(f"compile() wrt must name leaves of the graph, got {what}: {x!r}")
        if x in seen:
            raise ValueError(f"compile() wrt names a leaf twice: {x!r}")
        seen.add(x)
    return [leaf for leaf in leaves if leaf in seen]
