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
import itertools
import keyword
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .grad_mode import _recording
from .rules import CODE_NAMES, DOT, RULES, Code, Rule
from .value import Constant, Value, _backward_lock, _constant, apply, constant, shown

MAX_NODES = 100_000
"""The largest graph ``compile`` takes. Python's own compiler needs about 40 µs and 6 kB for
each node's two lines: a chain of 100,000 nodes takes it about 4 seconds and 600 MB, and past
that ``backward()`` is the better tool."""

TERMS_PER_LINE = 100
"""Longer sums are written over several lines: Python's compiler recurses once per term."""

_SAFE = frozenset({"neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "softplus", "sin",
                   "cos", "pow"})
"""Built-in rules whose result is finite whenever their inputs are, or which raise (math.exp and
math.pow raise OverflowError): a program need not check their results. Sums, products and
quotients of finite numbers can overflow to inf without a word."""


class GraphTooLargeToCompileError(ValueError):
    """A graph of more than ``MAX_NODES`` nodes."""


class _NotFiniteError(Exception):
    """Raised inside a program when a number is not finite: the interpreter takes over."""


def _all_finite(*numbers: float) -> bool:
    return math.isfinite(math.fsum(numbers))


def _set_grads(leaves: tuple[Value, ...], grads: tuple[Any, ...]) -> None:
    """Every leaf's new gradient at once (one C loop, which Ctrl-C does not interrupt halfway)."""
    list(map(setattr, leaves, itertools.repeat("grad"), grads))


_HELPERS = {
    "_all_finite": _all_finite, "_NotFiniteError": _NotFiniteError, "_set_grads": _set_grads, **CODE_NAMES
}
"""What every program can call, besides Python's builtins."""


# --- the walk --------------------------------------------------------------------------------


def _order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs before the nodes made from them (the values a
    ``constant`` was computed from count as inputs of the nodes that use it). An explicit
    stack, no recursion; refuses a graph past MAX_NODES as soon as it has seen that many."""
    order: list[Value] = []
    placed: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if node in placed:
            continue
        if ready:
            placed.add(node)
            order.append(node)
            if len(order) > MAX_NODES:
                raise GraphTooLargeToCompileError(
                    f"compile() takes graphs of at most {MAX_NODES:,} nodes (autodiff.compile.MAX_NODES) "
                    "and this one has more: Python's own compiler would take minutes and gigabytes on a "
                    "program that long. Call backward() on it instead, or compile a smaller part."
                )
            continue
        stack.append((node, True))
        for x in reversed(_dependencies(node)):
            if x not in placed:
                stack.append((x, False))
    return order


def _dependencies(node: Value) -> list[Value]:
    """The Values a node's number is computed from: its Value inputs, and the values behind any
    ``constant`` among its inputs."""
    found: list[Value] = []
    for x in node.inputs:
        if type(x) is Value:
            found.append(x)
        elif type(x) is Constant:
            found.extend(x.values)
    return found


def _backward_order(root: Value) -> list[Value]:
    """The operation nodes in the order ``backward()`` takes them: Kahn's algorithm over the
    consumer counts, as ``value._propagate`` runs it."""
    pending: dict[Value, int] = {root: 0}
    found = [root]
    for node in found:
        for x in node.inputs:
            if type(x) is Value and x._op is not None:
                if x not in pending:
                    pending[x] = 0
                    found.append(x)
                pending[x] += 1
    ready = [root]
    for node in ready:
        for x in node.inputs:
            if type(x) is Value and x._op is not None:
                pending[x] -= 1
                if not pending[x]:
                    ready.append(x)
    return ready


# --- names -------------------------------------------------------------------------------------

_RESERVED = frozenset((*keyword.kwlist, *keyword.softkwlist, *dir(builtins), *_HELPERS, "inputs", "grad",
                       "program", "forward"))
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_GENERATED = re.compile(r"d*v\d+\Z")


def _names(order: list[Value]) -> dict[Value, str]:
    """A variable name for every node: its label where the label is a Python identifier that no
    other node carries (``w1``, ``z``), else ``v`` and a number counted along the order (``v12``)."""
    counts: dict[str | None, int] = {}
    for node in order:
        counts[node.label] = counts.get(node.label, 0) + 1
    names: dict[Value, str] = {}
    numbered = 0
    for node in order:
        label = node.label
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


def _fill(template: str, operands: dict[str, str]) -> str:
    """``template`` with x, y and out replaced, in one pass, by the operands' text."""
    return _PLACEHOLDER.sub(lambda match: operands[match.group(1)], template)


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


@dataclass
class _Writer:
    """Writes the source of one program: the inputs, the forward section, the backward section."""

    root: Value
    order: list[Value]
    names: dict[Value, str]
    grads: dict[Value, str]
    leaves: list[Value]
    namespace: dict[str, Any] = field(default_factory=lambda: dict(_HELPERS))
    constants: dict[int, str] = field(default_factory=dict)
    functions: dict[int, str] = field(default_factory=dict)

    def operand(self, x: Any) -> str:
        if type(x) is Value:
            return self.names[x]
        if type(x) is Constant:
            return self.constants[id(x)]
        return _literal(x)

    def function(self, function: Callable[..., Any], what: str) -> str:
        """The name under which the program calls ``function`` (a rule's, without code text)."""
        if id(function) not in self.functions:
            self.functions[id(function)] = name = f"_{what}{len(self.functions)}"
            self.namespace[name] = function
        return self.functions[id(function)]

    # --- forward ---

    def forward(self) -> list[str]:
        lines = ["    # the inputs: each leaf's number, read on every run"]
        checked: list[str] = []
        for i, leaf in enumerate(self.leaves):
            lines.append(f"    {self.names[leaf]} = inputs[{i}].data")
            checked.append(self.names[leaf])
        lines.append("    # forward: every node from its inputs, as recorded")
        for node in self.order:
            rule = node._op
            if rule is None:
                continue
            for x in node.inputs:
                if type(x) is Constant and id(x) not in self.constants:
                    self.constants[id(x)] = name = f"_c{len(self.constants)}"
                    call = "max" if x.function is builtins.max else self.function(x.function, "constant")
                    values = ", ".join(self.names[v] for v in x.values)
                    lines.append(f"    {name} = {call}([{values}])  # a constant: no gradient flows back")
            lines += _assign(self.names[node], self.formula(node), rule.name)
            if rule.name not in _SAFE or RULES.get(rule.name) is not rule:
                checked.append(self.names[node])
        return lines + _checks(checked, "every number so far is finite (else the interpreter says why)")

    def formula(self, node: Value) -> list[str]:
        """A node's formula as terms to add up: one for most rules, a dot's products."""
        rule = node._op
        assert rule is not None
        inputs = node.inputs
        if rule is DOT:
            half = len(inputs) // 2
            terms = []
            for x, y in zip(inputs[:half], inputs[half:]):
                if _is_one(y):  # x * 1.0 is x, exactly
                    terms.append(self.operand(x))
                elif _is_one(x):
                    terms.append(self.operand(y))
                else:
                    terms.append(f"{self.operand(x)} * {self.operand(y)}")
            return terms
        operands = [self.operand(x) for x in inputs]
        code = _code_of(rule)
        if code is not None:
            return [_fill(code.forward, dict(zip(("x", "y"), operands)))]
        return [f"{self.function(rule.forward, 'forward')}({', '.join(operands)})"]

    # --- backward ---

    def backward(self) -> list[str]:
        """One line per node, consumers first: a node's gradient is the sum of the shares its
        consumers sent it, in the order ``backward()`` adds them up; the leaves' last."""
        order = _backward_order(self.root) if self.root._op is not None else []
        shares: dict[Value, list[str]] = {}
        senders: dict[Value, list[str]] = {}
        for node in order:
            self.send(node, shares, senders)
        lines = ["    # backward: d root / d node, consumers first (the chain rule)"]
        for node in order:
            if node is self.root:
                lines.append(f"    {self.grads[node]} = grad  # the seed")
            else:
                lines += _assign(self.grads[node], shares[node], _said(senders[node]))
        for i, leaf in enumerate(self.leaves):
            terms = [f"inputs[{i}].grad", *shares.get(leaf, ()), *(("grad",) if leaf is self.root else ())]
            lines += _assign(self.grads[leaf], terms, _said(senders.get(leaf, ())) or "not used")
        leaf_grads = [self.grads[leaf] for leaf in self.leaves]
        lines += _checks(leaf_grads, "every gradient is finite (else the interpreter says where)")
        if leaf_grads:
            lines.append("    # the leaves keep their gradients (added to what they held), all at once")
            lines.append(f"    _set_grads(inputs, ({', '.join(leaf_grads)},))")
        return lines

    def send(self, node: Value, shares: dict[Value, list[str]], senders: dict[Value, list[str]]) -> None:
        """The shares ``node`` sends its Value inputs, upstream times partial, in the order
        ``backward()`` sends them."""
        rule = node._op
        assert rule is not None
        inputs = node.inputs
        upstream = self.grads[node]
        if rule is DOT:
            half = len(inputs) // 2
            partials = [self.operand(partner) for partner in (*inputs[half:], *inputs[:half])]
        else:
            operands = {key: self.operand(x) for key, x in zip(("x", "y"), inputs)}
            operands["out"] = self.names[node]
            code = _code_of(rule)
            if code is not None:
                partials = [_fill(text, operands) for text in code.partials]
            else:
                arguments = ", ".join(operands.values())
                partials = [f"{self.function(partial, 'partial')}({arguments})" for partial in rule.partials]
        name = rule.name
        for x, partial in zip(inputs, partials):
            if type(x) is not Value:
                continue
            if partial in _UNIT:
                share = upstream
            elif partial in _MINUS_UNIT:
                share = f"-{upstream}"
            elif partial.isidentifier() or _is_number(partial):
                share = f"{upstream} * {partial}"
            else:
                share = f"{upstream} * ({partial})"
            shares.setdefault(x, []).append(share)
            senders.setdefault(x, []).append(name)


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
    ``program.forward()`` computes the value only. ``program.source`` is the Python it runs,
    ``program.inputs`` its leaves in the order the source reads them. Running it changes no
    node of the graph it was compiled from.
    """

    def __init__(self, root: Value, order: list[Value], writer: _Writer, forward: list[str],
                 backward: list[str]) -> None:
        self.root = root
        self.inputs: tuple[Value, ...] = tuple(writer.leaves)
        self.fallbacks = 0
        """How many runs handed over to the interpreter (a number that was not finite, or an
        operation outside its domain)."""
        self._order = order
        self._namespace = writer.namespace
        result = f"    return {writer.names[root]}"
        top = writer.names[root]
        header = (f"# autodiff.compile: {len(order)} nodes, {len(self.inputs)} of them inputs; "
                  f"returns {top} and adds d{top}/d(input) to each input's .grad")
        self.source = "\n".join([header, "def program(inputs, grad):", *forward, *backward, result, ""])
        self._forward_source = "\n".join(["def forward(inputs):", *forward, result, ""])
        self._run: Callable[[tuple[Value, ...], Any], float] = self._define(self.source, "program")
        self._forward: Callable[[tuple[Value, ...]], float] | None = None

    def _define(self, source: str, name: str) -> Any:
        exec(builtins.compile(source, f"<autodiff.compile {name}>", "exec"), self._namespace)
        return self._namespace[name]

    @property
    def nodes(self) -> int:
        """How many nodes the program computes, its inputs included."""
        return len(self._order)

    def __call__(self, grad: float = 1.0) -> float:
        seed = _constant(grad, "program")
        if seed is None:
            raise TypeError(f"program() grad must be a number, got {type(grad).__name__}: {shown(grad)}")
        with _backward_lock:
            try:
                return self._run(self.inputs, seed)
            except Exception:  # a number that is not finite, an operation outside its domain
                self.fallbacks += 1
            root = self._rebuild()  # raises the DomainError an operation raises, as recorded
            root.backward(seed)  # raises, and changes no gradient, where the gradients fail
            return root.data

    def forward(self) -> float:
        """The root's value at the leaves' current data, without the backward pass."""
        if self._forward is None:
            self._forward = self._define(self._forward_source, "forward")
        try:
            return self._forward(self.inputs)
        except Exception:
            self.fallbacks += 1
        return self._rebuild().data

    def _rebuild(self) -> Value:
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
            return made.get(self.root, self.root)
        finally:
            _recording.reset(token)

    def __repr__(self) -> str:
        lines = self.source.count("\n")
        return f"<Program of {self.nodes} nodes, {len(self.inputs)} inputs, {lines} lines>"


def compile(root: Value) -> Program:
    """The graph below ``root`` as a ``Program``: straight-line Python for its forward and
    backward passes, run again and again on the leaves' current data, bit for bit as
    ``backward()`` would (see this module's docstring). Control flow is frozen as recorded.

    Raises TypeError for anything but a Value, and GraphTooLargeToCompileError (a ValueError)
    for a graph of more than ``MAX_NODES`` nodes."""
    if not isinstance(root, Value):
        raise TypeError(f"compile() needs the Value at the top of a graph, got {type(root).__name__}: "
                        f"{shown(root)}")
    order = _order(root)
    names = _names(order)
    writer = _Writer(root, order, names, _gradient_names(names), [n for n in order if n._op is None])
    forward = writer.forward()
    backward = writer.backward()
    return Program(root, order, writer, forward, backward)
