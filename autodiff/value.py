"""``Value``: a scalar that records the operations applied to it, and the backward pass.

Every operation makes one new ``Value`` node that remembers its rule (``autodiff.rules``) and its
inputs: one or two, or two vectors for ``dot``. An input is another ``Value`` or a plain number
folded in as a constant: a constant is not a node and receives no gradient.

``backward()`` applies the chain rule consumers first: each node passes to each of its inputs
the upstream gradient times the local derivative, ``input.grad += node.grad * d node / d input``.
The order comes from counting each node's consumers (Kahn's algorithm), not from recursion, so
depth is bounded by memory only. A node refers to its inputs and never to itself or its
consumers, so graphs hold no reference cycles and are freed by reference counting alone (except
after ``backward(create_graph=True)``, whose gradients are graphs that refer back to the nodes
they were computed from, as in PyTorch).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, final

from . import rules
from .grad_mode import _recording
from .rules import Rule

Number = int | float

_isfinite = math.isfinite


class DomainError(ArithmeticError, ValueError):
    """An operation met an input outside its domain, a non-finite number, or an infinite slope."""


def _constant(x: object, operation: str = "backward", node: Value | None = None) -> Number | None:
    """``x`` as a number the engine folds in as a constant, or None when it is not a real number.

    Plain ints and floats pass as they are; bools, fractions and numpy scalars become floats.
    Raises DomainError, naming the ``operation`` and the ``node``, for NaN and infinities: a
    Value is always finite.
    """
    kind = type(x)
    if kind is int:
        return x  # type: ignore[return-value]
    if kind is float:
        number: float = x  # type: ignore[assignment]
    elif isinstance(x, numbers.Real):
        number = float(x)
    else:
        return None
    if _isfinite(number):
        return number
    where = f" (node '{node.label}')" if node is not None and node.label else ""
    raise DomainError(f"{operation}() needs finite numbers, got {x!r}{where}")


_SEQUENCES = (str, bytes, list, tuple)


def _unsupported(rule: Rule, value: Value, other: object, reflected: bool) -> Any:
    """NotImplemented, so that a type that knows Values (a numpy array) may take over; but a
    TypeError of our own for sequences, whose ``*`` and ``+`` would say something misleading."""
    if not isinstance(other, _SEQUENCES):
        return NotImplemented
    pair = (type(other).__name__, "Value") if reflected else ("Value", type(other).__name__)
    raise TypeError(f"unsupported operand type(s) for {rule.symbol}: '{pair[0]}' and '{pair[1]}'")


def _describe(rule: Rule, inputs: tuple[Any, ...]) -> str:
    """The inputs of an operation as an error shows them, with the labels of labelled nodes."""
    numbers_ = [v.data if type(v) is Value else v for v in inputs]
    shown = " ".join(f"{n!r}" for n in numbers_) if rule.arity == 1 else (
        f"{numbers_[0]!r} {rule.symbol} {numbers_[1]!r}"
    )
    labels = [f"'{v.label}'" for v in inputs if type(v) is Value and v.label]
    return shown + (f" (node {', '.join(labels)})" if labels else "")


def _forward_error(rule: Rule, inputs: tuple[Any, ...], error: Exception) -> DomainError:
    if isinstance(error, OverflowError):
        return DomainError(
            f"{rule.name}() overflowed a float at {_describe(rule, inputs)}; it needs {rule.domain}"
        )
    return DomainError(f"{rule.name}() needs {rule.domain}, got {_describe(rule, inputs)}")


def _derivative_error(node: Value) -> DomainError:
    op = node._op
    assert op is not None
    return DomainError(f"{op.name}() has no finite derivative at {_describe(op, node.inputs)}")


def _gradient_overflow(node: Value, gradient: float) -> DomainError:
    what = f"node '{node.label}'" if node.label else (f"a {node._op.name}() node" if node._op else "a leaf")
    return DomainError(f"backward() overflowed: the gradient at {what} (data {node.data!r}) is {gradient!r}")


def _overflow_error(rule: Rule, inputs: tuple[Any, ...], out: float) -> DomainError:
    return DomainError(f"{rule.name}() overflowed to {out!r} from {_describe(rule, inputs)}")


_new = object.__new__
recording = _recording.get


def _numbers(vector: Sequence[Any]) -> list[Any]:
    """The numbers behind a vector of Values and constants."""
    return [v.data if type(v) is Value else v for v in vector]


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
        except (ArithmeticError, ValueError) as error:
            raise _forward_error(rule, (self,), error) from None
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
            y = _constant(other, rule.name, self)
            if y is None:
                return _unsupported(rule, self, other, reflected)  # type: ignore[no-any-return]
            other = y
        if reflected:
            a, b, x, y = other, self, y, self.data
        else:
            a, b, x = self, other, self.data
        try:
            out = forward(x, y)
        except (ArithmeticError, ValueError) as error:
            raise _forward_error(rule, (a, b), error) from None
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
    if isinstance(other, Value):
        return test(self.data, other.data)
    if isinstance(other, numbers.Real):
        return test(self.data, float(other))
    return NotImplemented  # type: ignore[no-any-return]


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
        if label is not None and not isinstance(label, str):
            raise TypeError(f"Value() label must be a str, got {type(label).__name__}")
        self.label = label
        try:
            number = _constant(data, "Value", self)
            if number is None:
                raise TypeError(f"Value() needs a real number, got {type(data).__name__}: {data!r}")
            self.data = float(number)
        except OverflowError:
            where = f" (node '{label}')" if label else ""
            shown = f"{data!r:.40}..."
            raise DomainError(f"Value() needs a number a float can hold, got {shown}{where}") from None
        self.grad = 0.0
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
        if type(self._a) is tuple:  # a rule over vectors (dot): both vectors, one after the other
            return (*self._a, *self._b)
        return (self._a,) if self._b is None else (self._a, self._b)

    def local_derivatives(self) -> list[float | None]:
        """d self / d input for each of ``self.inputs``, in order, from the node's rule (None for
        a constant input): the numbers ``backward()`` multiplies the upstream gradient by."""
        if self._op is None:
            return []
        return _local_derivatives(self, create_graph=False)

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

    def backward(self, grad: float = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node this one depends on with d self / d node.

        ``grad`` seeds d self / d self (default 1). As in PyTorch, leaves accumulate: a second
        call adds to their ``.grad`` until ``zero_grad()``; every intermediate node's gradient
        is recomputed from zero on each call.

        With ``create_graph=True`` the gradients are themselves Values, recorded in a graph of
        their own, so they can be differentiated again (``x.grad.backward()``, or more simply
        ``autodiff.grad``). Off by default: the first-order pass works on plain floats.
        """
        seed = _constant(grad)
        if seed is None:
            raise TypeError(f"backward() grad must be a number, got {type(grad).__name__}")
        if create_graph:
            for node, g in _chain_rule([self], [seed], create_graph=True)[0].items():
                # a constant gradient becomes a leaf, so that .grad.backward() always works
                gradient: Any = g if type(g) is Value else Value(g)
                node.grad = _accumulate(node.grad, gradient) if node._op is None else gradient
            return
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


def topological_order(*roots: Value) -> list[Value]:
    """Every node the ``roots`` depend on, each once, inputs before the nodes computed from
    them; each root comes after everything it depends on.

    Depth-first with an explicit stack instead of recursion: a node whose inputs are not all
    placed yet goes back on the stack beneath them, and is placed when it comes up again.
    """
    order: list[Value] = []
    placed: set[Value] = set()
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in placed:
            continue
        if node._op is not None:
            waiting = [v for v in node.inputs if type(v) is Value and v not in placed]
            if waiting:
                stack.append(node)
                stack.extend(waiting)
                continue
        placed.add(node)
        order.append(node)
    return order


def _count_consumers(root: Value) -> None:
    """First sweep of ``backward()``: set ``_pending`` of every operation node below ``root`` to
    the number of its consumers in this graph, and its ``grad`` to -0.0 (recomputed, never
    doubled). -0.0 rather than 0.0 because it is the float that adds nothing to any other, so a
    node's first contribution arrives exactly, the sign of a zero included, as in a program that
    writes ``dz = g * w`` (``autodiff.compile``).

    Leaves are not visited: they have no inputs to pass a gradient to, and their ``grad``
    accumulates across calls. (The sweeps are ``for`` loops over lists that grow as they go, a
    well-defined idiom for lists, rather than ``while stack``: it needs no pop, and CPython 3.11
    specializes a ``for`` loop's bytecode at once but a ``while`` loop's only after 8 calls.)
    """
    root._pending = 1
    found = [root]
    for node in found:
        node.grad = -0.0
        a = node._a
        if type(a) is tuple:  # a rule over vectors: count every element
            for v in (*a, *node._b):
                if type(v) is Value and v._op is not None:
                    if v._pending:
                        v._pending += 1
                    else:
                        v._pending = 1
                        found.append(v)
            continue
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
        if not _isfinite(g):
            raise _gradient_overflow(node, g)
        a = node._a
        b = node._b
        if type(a) is tuple:
            _propagate_dot(node, g, ready)
            continue
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
            raise _derivative_error(node) from None
        # release each input: one consumer fewer to wait for (written out for a and b rather
        # than looped over: this is the engine's hottest path, run once per node)
        if a is not None:
            if a._op is not None:
                a._pending -= 1
                if not a._pending:
                    ready.append(a)
            elif not _isfinite(a.grad):
                raise _gradient_overflow(a, a.grad)
        if b is not None:
            if b._op is not None:
                b._pending -= 1
                if not b._pending:
                    ready.append(b)
            elif not _isfinite(b.grad):
                raise _gradient_overflow(b, b.grad)


def _propagate_dot(node: Value, g: float, ready: list[Any]) -> None:
    """``_propagate`` for ``rules.DOT``, the one rule over vectors: ``x · y`` passes ``g * y_i``
    to ``x_i`` and ``g * x_i`` to ``y_i``. These are the rule's partials applied inline, element
    by element, rather than through ``DOT.partials``, which build both data vectors first: a
    neuron's weighted sum is the hot path of training (``test_rules`` checks the two agree).
    Elements go in the order of ``node.inputs``, all of x then all of y, as ``backward_steps``
    shows them."""
    xs = node._a
    ys = node._b
    for v, partner in zip((*xs, *ys), (*ys, *xs)):
        if type(v) is Value:
            total = v.grad + g * (partner.data if type(partner) is Value else partner)
            v.grad = total
            if v._op is not None:
                v._pending -= 1
                if not v._pending:
                    ready.append(v)
            elif total - total:  # inf - inf and nan - nan are nan; finite - itself is 0.0
                raise _gradient_overflow(v, total)


def _local_derivatives(node: Value, create_graph: bool) -> list[Any]:
    """d node / d input for each of ``node.inputs``, in order (None for a constant input),
    from the node's rule: on the Values themselves with ``create_graph``, else on numbers."""
    op = node._op
    assert op is not None
    inputs = node.inputs
    try:
        if type(node._a) is tuple:
            xs: Any = node._a
            ys: Any = node._b
            if not create_graph:
                xs = _numbers(xs)
                ys = _numbers(ys)
            out = node if create_graph else node.data
            found = [*op.partials[0](xs, ys, out), *op.partials[1](xs, ys, out)]
            return [d if type(v) is Value else None for v, d in zip(inputs, found)]
        if create_graph:
            args: tuple[Any, ...] = (*inputs, node)
        else:
            args = (*(v.data if type(v) is Value else v for v in inputs), node.data)
        return [op.partials[i](*args) if type(v) is Value else None for i, v in enumerate(inputs)]
    except (ArithmeticError, ValueError):
        raise _derivative_error(node) from None


def _accumulate(total: Any, term: Any) -> Any:
    """``total + term``, without recording ``0 + term`` when nothing has been added yet."""
    return term if type(total) is float and total == 0.0 else total + term


def _chain_rule(
    outputs: Sequence[Value], seeds: Sequence[Any], create_graph: bool
) -> tuple[dict[Value, Any], int]:
    """Reverse mode in its general form: for every node the ``outputs`` depend on, the sum over
    outputs of seed * d output / d node (a vector-Jacobian product), in a dict, touching no
    ``.grad``; and the number of multiply-adds it took.

    Each node, consumers first, sends ``grad * partial_i`` to its input ``i``. With
    ``create_graph`` the partials are evaluated on the Values themselves, so every gradient is a
    Value recorded in a graph that can be differentiated again; otherwise on their numbers.
    (``backward()`` runs the first-order case on a faster path with the same result.)
    """
    grads: dict[Value, Any] = {}
    for output, seed in zip(outputs, seeds):
        grads[output] = _accumulate(grads[output], seed) if output in grads else seed
    multiply_adds = 0
    for node in reversed(topological_order(*outputs)):
        op = node._op
        if op is None or node not in grads:
            continue
        g = grads[node]
        for inp, local in zip(node.inputs, _local_derivatives(node, create_graph)):
            if type(inp) is not Value:
                continue
            term = g if type(local) is float and local == 1.0 else g * local
            grads[inp] = _accumulate(grads[inp], term) if inp in grads else term
            multiply_adds += 1
    if not create_graph:
        for node, g in grads.items():
            if not _isfinite(g):
                raise _gradient_overflow(node, g)
    return grads, multiply_adds


def gradients(
    output: Value, inputs: Sequence[Value], grad: Any = 1.0, create_graph: bool = False
) -> list[Any]:
    """d output / d x for each ``x`` in ``inputs``, without touching any node's ``.grad``
    (``torch.autograd.grad``). 0.0 for an input ``output`` does not depend on.

    Any node may be asked for, not only leaves. With ``create_graph`` the gradients are Values
    that can be differentiated again; ``grad`` seeds d output / d output and may be a Value.
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients() output must be a Value, got {type(output).__name__}")
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"gradients() inputs must be Values, got {type(x).__name__}")
    grads = _chain_rule([output], [grad], create_graph)[0]
    return [grads.get(x, 0.0) for x in inputs]


def dot(weights: Sequence[Operand], inputs: Sequence[Operand]) -> Value:
    """``sum_i weights[i] * inputs[i]`` as ONE node (``rules.DOT``) instead of 2n - 1 binary
    ones: a neuron's weighted sum. Its local derivatives are the inputs (for the weights) and
    the weights (for the inputs). Either vector may mix Values and numbers."""
    return _dot_rows((weights,), inputs, "dot")[0]


def matvec(rows: Sequence[Sequence[Operand]], vector: Sequence[Operand]) -> list[Value]:
    """The matrix-vector product ``W x``: ``dot(row, vector)`` for each row of ``W``, one node
    per row: the weighted sums of a layer of neurons, which all read the same inputs. The
    vector's numbers are read once for every row."""
    return _dot_rows(rows, vector, "matvec")


def _dot_rows(rows: Iterable[Sequence[Operand]], vector: Sequence[Operand], caller: str) -> list[Value]:
    xs = _tuple(vector, caller, "inputs")
    x_data = _numbers(xs)
    return [_dot_node(_tuple(row, caller, "weights"), xs, x_data, caller) for row in rows]


def _tuple(vector: Any, caller: str, which: str) -> tuple[Any, ...]:
    if type(vector) is tuple:
        return vector
    if isinstance(vector, (str, bytes, Value)) or not isinstance(vector, Iterable):
        raise TypeError(f"{caller}() {which} must be a sequence, got {type(vector).__name__}")
    return tuple(vector)


def _dot_node(ws: tuple[Any, ...], xs: tuple[Any, ...], x_data: list[Any], caller: str) -> Value:
    if len(ws) != len(xs) or not ws:
        raise ValueError(
            f"{caller}() needs two vectors of one length >= 1, got {len(ws)} and {len(xs)}"
        )
    try:
        out = rules.DOT.forward(_numbers(ws), x_data)
        plain = type(out) is float and _isfinite(out)
    except TypeError:
        plain = False
    if not plain:
        # a constant that is not a plain int or float (numpy, bool, str, NaN...): check and
        # convert every constant, then compute again
        ws = tuple(w if type(w) is Value else _dot_constant(w, caller, "weights") for w in ws)
        xs = tuple(x if type(x) is Value else _dot_constant(x, caller, "inputs") for x in xs)
        out = rules.DOT.forward(_numbers(ws), _numbers(xs))
        if not _isfinite(out):
            raise DomainError(f"{caller}() overflowed a float: got {out!r}")
    return _record(out, rules.DOT, ws, xs)


def _dot_constant(v: Any, caller: str, which: str) -> float:
    number = _constant(v, caller)
    if number is None:
        raise TypeError(f"{caller}() {which} must be Values or numbers, got {type(v).__name__}")
    return float(number)


def apply(rule: Rule, *args: Operand) -> Value:
    """Apply any rule, one of ``autodiff.rules`` or your own, to Values and numbers: the way to
    add an operation without touching the engine. At least one argument must be a Value."""
    if rule is rules.DOT:
        return dot(*args)  # type: ignore[arg-type]
    if len(args) != rule.arity:
        raise TypeError(f"{rule.name}() takes {rule.arity} inputs, got {len(args)}")
    if rule.arity == 1:
        if not isinstance(args[0], Value):
            raise TypeError(f"{rule.name}() needs a Value, got {type(args[0]).__name__}")
        return _unary_method(rule)(args[0])
    first, second = args
    if isinstance(first, Value):
        result = _binary_method(rule)(first, second)
    elif isinstance(second, Value):
        result = _binary_method(rule, reflected=True)(second, first)
    else:
        raise TypeError(f"{rule.name}() needs at least one Value, got two numbers")
    if result is NotImplemented:
        raise TypeError(f"{rule.name}() inputs must be Values or numbers, got {args!r}")
    return result
