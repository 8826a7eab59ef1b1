"""``Value``: a scalar that records the operations applied to it, and the backward pass.

Every operation makes one new ``Value`` node that remembers its rule (``autodiff.rules``) and its
one or two inputs. An input is another ``Value`` or a plain number folded in as a constant: a
constant is not a node and receives no gradient.

``backward()`` applies the chain rule in reverse topological order: each node passes to each of
its inputs the upstream gradient times the local derivative, ``input.grad += node.grad * d node /
d input``. The order comes from an explicit stack, not recursion, so depth is bounded by memory
only. A node refers to its inputs and never to itself or its consumers, so graphs hold no
reference cycles and are freed by reference counting alone.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, final

from . import rules
from .grad_mode import _recording
from .rules import Rule

Number = int | float

_isfinite = math.isfinite


class DomainError(ArithmeticError, ValueError):
    """An operation met an input outside its domain, a non-finite number, or an infinite slope."""


def _constant(x: object) -> Number | None:
    """``x`` as a number the engine folds in as a constant, or None when it is not a real number.

    Plain ints and floats pass as they are; bools, fractions and numpy scalars become floats.
    Raises DomainError for NaN and infinities: a Value is always finite.
    """
    kind = type(x)
    if kind is float:
        if _isfinite(x):  # type: ignore[arg-type]
            return x  # type: ignore[return-value]
        raise DomainError(f"expected a finite number, got {x!r}")
    if kind is int:
        return x  # type: ignore[return-value]
    if isinstance(x, numbers.Real):
        return _constant(float(x))
    return None


def _describe(rule: Rule, inputs: tuple[Any, ...]) -> str:
    """The inputs of an operation as an error shows them, with the labels of labelled nodes."""
    numbers_ = [v.data if type(v) is Value else v for v in inputs]
    shown = " ".join(f"{n!r}" for n in numbers_) if rule.arity == 1 else (
        f"{numbers_[0]!r} {rule.symbol} {numbers_[1]!r}"
    )
    labels = [f"'{v.label}'" for v in inputs if type(v) is Value and v.label]
    return shown + (f" (node {', '.join(labels)})" if labels else "")


def _forward_error(rule: Rule, inputs: tuple[Any, ...]) -> DomainError:
    return DomainError(f"{rule.name}() needs {rule.domain}, got {_describe(rule, inputs)}")


def _overflow_error(rule: Rule, inputs: tuple[Any, ...], out: float) -> DomainError:
    return DomainError(f"{rule.name}() overflowed to {out!r} from {_describe(rule, inputs)}")


_new = object.__new__
recording = _recording.get


def _record(out: float, rule: Rule, a: Any, b: Any) -> Value:
    """The node for ``out = rule(a[, b])``: with its rule and inputs while recording, a bare leaf
    under ``no_grad()``. ``b`` is None for a one-input rule."""
    node: Value = _new(Value)
    node.data = out
    node.grad = 0.0
    node.label = None
    node._pending = 0
    if recording():
        node._op = rule
        node._a = a
        node._b = b
    else:
        node._op = node._a = node._b = None
    return node


def _unary_method(rule: Rule) -> Callable[[Value], Value]:
    forward = rule.forward

    def method(self: Value) -> Value:
        try:
            out = forward(self.data)
        except (ArithmeticError, ValueError):
            raise _forward_error(rule, (self,)) from None
        if not _isfinite(out):
            raise _overflow_error(rule, (self,), out)
        return _record(out, rule, self, None)

    method.__name__ = method.__qualname__ = rule.name
    method.__doc__ = rule.math
    return method


def _binary_method(rule: Rule, reflected: bool = False) -> Callable[[Value, Any], Value]:
    """``self <rule> other``, or ``other <rule> self`` when ``reflected``; NotImplemented when
    ``other`` is neither a Value nor a real number, so that Python raises its TypeError."""
    forward = rule.forward

    def method(self: Value, other: Any) -> Value:
        y: Any
        if type(other) is Value:
            y = other.data
        elif type(other) is float and _isfinite(other):
            y = other
        else:
            other = y = _constant(other)
            if y is None:
                return NotImplemented  # type: ignore[no-any-return]
        if reflected:
            a, b, x, y = other, self, y, self.data
        else:
            a, b, x = self, other, self.data
        try:
            out = forward(x, y)
        except (ArithmeticError, ValueError):
            raise _forward_error(rule, (a, b)) from None
        if not _isfinite(out):
            raise _overflow_error(rule, (a, b), out)
        node: Value = _new(Value)  # _record(out, rule, a, b), inlined: the hottest path
        node.data = out
        node.grad = 0.0
        node.label = None
        node._pending = 0
        if recording():
            node._op = rule
            node._a = a
            node._b = b
        else:
            node._op = node._a = node._b = None
        return node

    name = f"__{'r' if reflected else ''}{rule.name}__"
    method.__name__ = method.__qualname__ = name
    operands = ("other", "self") if reflected else ("self", "other")
    method.__doc__ = f"{operands[0]} {rule.symbol} {operands[1]}  --  {rule.math}"
    return method


_leaky_relu = _binary_method(rules.LEAKY_RELU)


def _compare(self: Value, other: object, test: Callable[[float, float], bool]) -> bool:
    y = other.data if isinstance(other, Value) else _constant(other)
    if y is None:
        return NotImplemented  # type: ignore[no-any-return]
    return test(self.data, y)


@final
class Value:
    """A scalar in a computation graph: ``data`` (float), ``grad`` (float, d output / d self
    after ``backward()``), an optional ``label``, and the rule and inputs that produced it.

    Equality and hashing are by identity, so Values work as dict keys and in sets; ``<``, ``<=``,
    ``>``, ``>=`` compare data and return plain bools.
    """

    __slots__ = ("_a", "_b", "_op", "_pending", "data", "grad", "label")

    data: float
    grad: float
    label: str | None
    _op: Rule | None
    _a: Any
    _b: Any
    _pending: int

    def __init__(self, data: float, label: str | None = None) -> None:
        number = _constant(data)
        if number is None:
            raise TypeError(f"Value() needs a real number, got {type(data).__name__}: {data!r}")
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Value() label must be a str, got {type(label).__name__}")
        self.data = float(number)
        self.grad = 0.0
        self.label = label
        self._op = self._a = self._b = None
        self._pending = 0

    # --- the graph ---------------------------------------------------------------------------

    @property
    def op(self) -> Rule | None:
        """The rule that produced this node (see ``autodiff.rules``), None for a leaf."""
        return self._op

    @property
    def inputs(self) -> tuple[Value | float, ...]:
        """The inputs of the operation that made this node, in order; constants as numbers."""
        if self._op is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def is_leaf(self) -> bool:
        """True for Values made by the user (or under ``no_grad``) rather than by an operation."""
        return self._op is None

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        if self._op is not None:
            extra += f", op={self._op.name!r}"
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def __float__(self) -> float:
        return self.data

    # --- arithmetic: each is one rule of autodiff.rules -------------------------------------

    __add__ = _binary_method(rules.ADD)
    __radd__ = _binary_method(rules.ADD, reflected=True)
    __sub__ = _binary_method(rules.SUB)
    __rsub__ = _binary_method(rules.SUB, reflected=True)
    __mul__ = _binary_method(rules.MUL)
    __rmul__ = _binary_method(rules.MUL, reflected=True)
    __truediv__ = _binary_method(rules.DIV)
    __rtruediv__ = _binary_method(rules.DIV, reflected=True)
    __pow__ = _binary_method(rules.POW)
    __rpow__ = _binary_method(rules.POW, reflected=True)
    __neg__ = _unary_method(rules.NEG)
    __abs__ = _unary_method(rules.ABS)

    def __pos__(self) -> Value:
        return self

    # --- functions ---------------------------------------------------------------------------

    exp = _unary_method(rules.EXP)
    log = _unary_method(rules.LOG)
    sqrt = _unary_method(rules.SQRT)
    tanh = _unary_method(rules.TANH)
    sigmoid = _unary_method(rules.SIGMOID)
    relu = _unary_method(rules.RELU)
    softplus = _unary_method(rules.SOFTPLUS)
    sin = _unary_method(rules.SIN)
    cos = _unary_method(rules.COS)

    def leaky_relu(self, slope: Operand = 0.01) -> Value:
        """x if x > 0 else slope * x (see ``rules.LEAKY_RELU``); ``slope`` may be a Value."""
        result = _leaky_relu(self, slope)
        if result is NotImplemented:
            raise TypeError(f"leaky_relu() slope must be a number or Value, got {type(slope).__name__}")
        return result

    # --- comparisons of data -----------------------------------------------------------------

    def __lt__(self, other: Operand) -> bool:
        return _compare(self, other, float.__lt__)

    def __le__(self, other: Operand) -> bool:
        return _compare(self, other, float.__le__)

    def __gt__(self, other: Operand) -> bool:
        return _compare(self, other, float.__gt__)

    def __ge__(self, other: Operand) -> bool:
        return _compare(self, other, float.__ge__)

    # --- gradients ---------------------------------------------------------------------------

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node this one depends on with d self / d node.

        ``grad`` seeds d self / d self (default 1). As in PyTorch, leaves accumulate: a second
        call adds to their ``.grad`` until ``zero_grad()``; every intermediate node's gradient
        is recomputed from zero on each call.
        """
        seed = _constant(grad)
        if seed is None:
            raise TypeError(f"backward() grad must be a number, got {type(grad).__name__}")
        if self._op is None:
            self.grad += seed
            return
        try:
            _count_consumers(self)
            self.grad = seed
            _propagate(self)
        except BaseException:
            for node in topological_order(self):
                node._pending = 0
            raise

    def zero_grad(self) -> None:
        """Set ``.grad`` to 0 on this node and on every node it was computed from."""
        for node in topological_order(self):
            node.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut from this node's history."""
        return Value(self.data, self.label)


Operand = Value | int | float
"""What an operation takes: a Value, or a number folded in as a constant."""


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each once, inputs before the nodes computed from them,
    ``root`` last.

    Depth-first with an explicit stack instead of recursion: a node whose inputs are not all
    placed yet goes back on the stack beneath them, and is placed when it comes up again.
    """
    order: list[Value] = []
    placed: set[Value] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node in placed:
            continue
        if node._op is not None:
            a = node._a
            b = node._b
            waiting = False
            if type(a) is Value and a not in placed:
                stack.append(node)
                stack.append(a)
                waiting = True
            if type(b) is Value and b not in placed:
                if not waiting:
                    stack.append(node)
                    waiting = True
                stack.append(b)
            if waiting:
                continue
        placed.add(node)
        order.append(node)
    return order


def _count_consumers(root: Value) -> None:
    """First sweep of ``backward()``: set ``_pending`` of every operation node below ``root`` to
    the number of its consumers in this graph, and its ``grad`` to 0 (recomputed, never doubled).

    Leaves are not visited: they have no inputs to pass a gradient to, and their ``grad``
    accumulates across calls. (The sweeps are ``for`` loops over lists that grow as they go, a
    well-defined idiom for lists, rather than ``while stack``: it needs no pop, and CPython 3.11
    specializes a ``for`` loop's bytecode at once but a ``while`` loop's only after 8 calls.)
    """
    root._pending = 1
    found = [root]
    for node in found:
        node.grad = 0.0
        a = node._a
        if type(a) is Value and a._op is not None:
            if a._pending:
                a._pending += 1
            else:
                a._pending = 1
                found.append(a)
        b = node._b
        if type(b) is Value and b._op is not None:
            if b._pending:
                b._pending += 1
            else:
                b._pending = 1
                found.append(b)


def _propagate(root: Value) -> None:
    """Second sweep: the chain rule, consumers first. A node is taken once all its consumers have
    added their share to its ``grad``; it then adds ``grad * partial`` to each Value input.
    (Kahn's algorithm: the order falls out of the counts, with no separate sort.)"""
    root._pending = 0
    ready: list[Any] = [root]  # operation nodes only: leaves are never queued
    for node in ready:
        op = node._op
        g = node.grad
        a = node._a
        b = node._b
        try:
            if b is None:
                a.grad += g * op.partials[0](a.data, node.data)
            else:
                d_dx, d_dy = op.partials
                if type(b) is not Value:
                    a.grad += g * d_dx(a.data, b, node.data)
                    b = None
                elif type(a) is not Value:
                    b.grad += g * d_dy(a, b.data, node.data)
                    a = None
                else:
                    x = a.data
                    y = b.data
                    out = node.data
                    a.grad += g * d_dx(x, y, out)
                    b.grad += g * d_dy(x, y, out)
        except (ArithmeticError, ValueError):
            raise DomainError(
                f"{op.name}() has no finite derivative at {_describe(op, node.inputs)}"
            ) from None
        if a is not None and a._op is not None:
            a._pending -= 1
            if not a._pending:
                ready.append(a)
        if b is not None and b._op is not None:
            b._pending -= 1
            if not b._pending:
                ready.append(b)
