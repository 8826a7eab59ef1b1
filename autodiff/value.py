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
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, final

from . import rules
from .grad_mode import _recording, is_recording_program, is_tracing
from .rules import Rule

Number = int | float

_isfinite = math.isfinite


class DomainError(ArithmeticError, ValueError):
    """An operation met an input outside its domain, a non-finite number, or an infinite slope."""


def _constant(x: object, operation: str = "backward", node: Value | None = None) -> Number | None:
    """``x`` as a number the engine folds in as a constant, or None when it is not a real number.

    Plain floats, and ints a float holds exactly, pass as they are; bools, fractions, numpy
    scalars and larger ints become floats. Raises DomainError, naming the ``operation`` and the
    ``node``, for NaN, infinities and ints too large for a float: a Value is always finite.
    """
    kind = type(x)
    if kind is int:
        if -_EXACT <= x <= _EXACT:  # type: ignore[operator]
            return x  # type: ignore[return-value]
    elif kind is float:
        number: float = x  # type: ignore[assignment]
        if _isfinite(number):
            return number
    elif kind is Constant:
        return x  # type: ignore[return-value]
    elif not isinstance(x, numbers.Real):
        return None
    try:
        number = float(x)  # type: ignore[arg-type]
    except OverflowError:
        number = math.inf
    except TypeError:  # registered as a number, yet no float (numpy's timedelta64)
        return None
    if _isfinite(number):
        return number
    where = f" (node '{node.label}')" if node is not None and node.label else ""
    raise DomainError(f"{operation}() needs finite numbers a float can hold, got {shown(x)}{where}")


_EXACT = 2**53
"""Every int up to this size is exactly a float: folded in as it is, it computes the same."""


class Constant(float):
    """A number computed from the data of some Values and folded into operations as a constant
    (see ``constant``): a float that remembers how it was made."""

    __slots__ = ("function", "values")
    function: Callable[[list[float]], float]
    values: tuple[Value, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return _remade_constant, (float(self), self.function, self.values)


def _remade_constant(
    number: float, function: Callable[[list[float]], float], values: tuple[Value, ...]
) -> Constant:
    made = Constant(number)
    made.function, made.values = function, values
    return made


def constant(function: Callable[[list[float]], float], values: Sequence[Value]) -> Constant:
    """``function([v.data for v in values])`` as a constant of the graph: operations fold it in
    like any number, and no gradient flows through it (JAX's ``stop_gradient``), but it is not
    a frozen number. A compiled program (``autodiff.compile``) computes it again from the
    values' current data on every run, as rebuilding the graph would.

    ``m = constant(max, logits)`` is the largest logit, which a stable softmax subtracts from
    every logit (softmax(z - m) = softmax(z)): the derivative is the same with or without it,
    so it need not be differentiated, but it must follow the data."""
    if not callable(function):
        raise TypeError(f"constant() function must be callable, got {type(function).__name__}")
    if isinstance(values, Value) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"constant() values must be a non-empty list of Values, got {shown(values)}")
    for v in values:
        if type(v) is not Value:
            raise TypeError(f"constant() values must be Values, got {type(v).__name__}")
    result = function([v.data for v in values])
    number = _constant(result, "constant")
    if number is None:
        raise TypeError(f"constant() function must return a real number, got {type(result).__name__}")
    return _remade_constant(float(number), function, tuple(values))


def shown(x: object, limit: int = 40) -> str:
    """``repr(x)`` short enough for an error message: an int of thousands of digits (which
    Python refuses to write out at all) as its number of digits, anything else cut at ``limit``
    characters."""
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 10**limit:
        n = abs(x)
        digits = int((n.bit_length() - 1) * 0.30102999566398) + 1  # 10^(digits-1) <= n, nearly
        while n >= 10**digits:
            digits += 1
        return f"{'-' if x < 0 else ''}an int of {digits} digits"
    try:
        text = repr(x)
    except ValueError:  # a list holding an int of thousands of digits, say
        return f"a {type(x).__name__} too long to write out"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same_float(a: object, b: object) -> bool:
    """Equal as IEEE doubles, down to the sign of zero (two NaNs count as equal); False for
    anything but two real numbers. What "bit for bit" means for compiled programs."""
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return False
    x, y = float(a), float(b)
    return (x == y and math.copysign(1.0, x) == math.copysign(1.0, y)) or (x != x and y != y)


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
    numbers_ = [shown(v.data if type(v) is Value else v) for v in inputs]
    text = " ".join(numbers_) if rule.arity == 1 else f"{numbers_[0]} {rule.symbol} {numbers_[1]}"
    labels = [f"'{v.label}'" for v in inputs if type(v) is Value and v.label]
    return text + (f" (node {', '.join(labels)})" if labels else "")


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


def _not_a_number(rule: Rule, function: str, result: object) -> TypeError:
    """A rule of one's own whose function returned something other than a number."""
    return TypeError(f"{rule.name}() {function} must return a real number, got "
                     f"{type(result).__name__}: {shown(result)}")


def _gradient_type_error(node: Value) -> TypeError:
    """Why ``backward()`` met something other than a number at ``node``: a ``.grad`` set to
    None (or anything else) by the user, or a partial of a rule of one's own."""
    op = node._op
    assert op is not None
    inputs = (*node._a, *node._b) if type(node._a) is tuple else (node._a, node._b)
    for v in inputs:
        if type(v) is Value and not isinstance(v.grad, (int, float, Value)):
            return TypeError(f"backward() met {shown(v, 80)} holding grad = {shown(v.grad)}: a "
                             "gradient must be a number; set it to 0.0 (or call zero_grad()) first")
    if type(node._a) is tuple:
        return TypeError(f"backward() met something other than a number at a {op.name}() node")
    numbers_ = [v.data if type(v) is Value else v for v in node.inputs]
    for i, partial in enumerate(op.partials):
        try:
            result = partial(*numbers_, node.data)
        except Exception as error:
            return TypeError(f"backward(): {op.name}() partials[{i}] failed at {_describe(op, node.inputs)}: "
                             f"{type(error).__name__}: {str(error)[:200]}")
        if not isinstance(result, (int, float)):
            return _not_a_number(op, f"partials[{i}]", result)
    return TypeError(f"backward() met something other than a number at a {op.name}() node")


def _gradient_overflow(node: Value, gradient: float) -> DomainError:
    what = f"node '{node.label}'" if node.label else (f"a {node._op.name}() node" if node._op else "a leaf")
    return DomainError(
        f"backward() overflowed: the gradient at {what} (data {shown(node.data)}) is {gradient!r}"
    )


def _overflow_error(rule: Rule, inputs: tuple[Any, ...], out: float) -> DomainError:
    return DomainError(f"{rule.name}() overflowed to {shown(out)} from {_describe(rule, inputs)}")


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
        try:  # (free in CPython 3.11 unless it raises: a rule of one's own returning no number)
            if not _isfinite(out):
                raise _overflow_error(rule, (self,), out)
        except TypeError:
            raise _not_a_number(rule, "forward", out) from None
        return _record(out, rule, self, None)

    method.__name__ = rule.name
    method.__qualname__ = f"Value.{rule.name}"
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
        try:  # (free in CPython 3.11 unless it raises: a rule of one's own returning no number)
            if not _isfinite(out):
                raise _overflow_error(rule, (a, b), out)
        except TypeError:
            raise _not_a_number(rule, "forward", out) from None
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
    method.__name__ = name
    method.__qualname__ = f"Value.{name}"
    operands = ("other", "self") if reflected else ("self", "other")
    method.__doc__ = f"{operands[0]} {rule.symbol} {operands[1]}  --  {rule.math}"
    return method


_leaky_relu = _binary_method(rules.LEAKY_RELU)


def _frozen_branch(what: str) -> TypeError:
    return TypeError(
        f"{what} of a Value while a graph is recorded for a compiled program (fit(compile=True)): "
        "the branch it takes now would be taken for every batch, whatever its numbers. Write the "
        "model with operations that branch inside their rules (relu, abs, leaky_relu), or train "
        "with compile=False"
    )


def _compare(self: Value, other: object, test: Callable[[float, float], bool]) -> bool:
    if is_recording_program():
        raise _frozen_branch("comparing the number")
    if isinstance(other, Value):
        return test(self.data, other.data)
    if type(other) is int:  # exactly, however large (a float compares with an int exactly)
        return test(self.data, other)
    if isinstance(other, numbers.Real):
        try:
            number = float(other)
        except OverflowError:  # a Fraction beyond every float: beyond every Value too
            number = math.inf if other > 0 else -math.inf  # type: ignore[operator]
        except TypeError:  # registered as a number, yet no float (numpy's timedelta64)
            return NotImplemented  # type: ignore[no-any-return]
        return test(self.data, number)
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
        number = _constant(data, "Value", self)
        if number is None:
            raise TypeError(f"Value() needs a real number, got {type(data).__name__}: {shown(data)}")
        self.data = float(number)
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
        return f"Value(data={shown(self.data)}, grad={shown(self.grad)}{extra})"

    def item(self) -> float:
        """The number, ``self.data`` (``torch.Tensor.item``): for printing and logging."""
        return self.data

    def __float__(self) -> float:
        """``float(v)``, and with it ``math.exp(v)``, ``math.sqrt(v)``, ..., which would hand back
        a plain number that ``backward()`` cannot see through: a silently wrong gradient. So it
        is a TypeError for a Value made by an operation, and for any Value while a transform
        (``grad``, ``jacobian``, ...) evaluates its function, as JAX refuses it on traced values.
        A leaf outside transforms (what ``no_grad()`` makes, say) converts."""
        if self._op is not None or is_tracing():
            what = f"'{self.label}'" if self.label else (
                f"made by {self._op.name}()" if self._op is not None else "a leaf, inside a transform"
            )
            if is_recording_program():  # x.data would freeze the number too: not that advice
                raise TypeError(
                    f"float() of a Value ({what}) while fit(compile=True) records a graph to replay "
                    "on every batch: its inputs and targets are placeholders, whose numbers change "
                    "from batch to batch, and a number read now (float(), .data, .item()) would be "
                    "this batch's for every batch. Compute with arithmetic on them (t * p, "
                    "(p - t) ** 2, x.exp(), ...), or train with compile=False"
                )
            raise TypeError(
                f"float() of a Value ({what}) would cut it out of the graph, and its gradient would "
                "be silently wrong: for math on Values use their methods (x.exp(), x.log(), "
                "x.sqrt(), x.tanh(), x ** 2, ...); for the number itself use x.data or x.item()"
            )
        return self.data

    def __bool__(self) -> bool:
        """The truth of the number, as PyTorch's: False only at 0 (``if v:`` tests v.data); an
        error while a graph is recorded for a compiled program (``grad_mode.recording_program``)."""
        if is_recording_program():
            raise _frozen_branch("bool()")
        return self.data != 0.0

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats the number; an empty spec gives the repr."""
        return format(self.data, spec) if spec else repr(self)

    # --- pickle and copy: graphs of any depth, without recursion ------------------------------

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        """How pickle and ``copy.deepcopy`` take a Value apart, at any depth.

        A leaf is its numbers and label. A node made by an operation is its rule, inputs,
        numbers and label; its inputs are pickled before it, which for a deep graph would
        recurse as deep as the graph. So the node pickled first (the root) puts every node
        below it in front of itself, inputs before consumers: each of them then refers only to
        nodes already written, and the depth of the pickling stays constant.

        After ``backward(create_graph=True)`` gradients are graphs, which read the nodes they
        belong to (a cycle): the root's state, pickled once the graph exists, holds them all
        (a leaf pickled alone holds its own), and each of them is pickled as a root in turn."""
        grad: Any = self.grad
        if type(grad) is Value:
            grad = 0.0  # written with the root's state, or this Value's own
        key = id(self)
        pickling = _being_pickled
        deferred = key in pickling.deferred
        if deferred:
            pickling.deferred.discard(key)
        if self._op is None:
            made: tuple[Any, ...] = _leaf, (self.data, grad, self.label)
            return made if grad is self.grad or deferred else (*made, [(self, self.grad)])
        fields = (self._op, self._a, self._b, self.data, grad, self.label)
        if key in pickling.nodes:
            pickling.nodes.discard(key)
            return _node, fields
        below = topological_order(self)[:-1]
        graphs: list[tuple[Value, Any]] = [(node, node.grad) for node in (*below, self)
                                           if isinstance(node.grad, Value)]
        pickling.nodes = {id(node) for node in below if node._op is not None}
        pickling.deferred = {id(node) for node, _ in graphs}
        made = _root, (below, _PicklingDone(pickling.nodes, pickling.deferred), *fields)
        return (*made, graphs) if graphs else made

    def __setstate__(self, graphs: list[tuple[Value, Value]]) -> None:
        """The gradient graphs of a graph pickled after ``backward(create_graph=True)``."""
        for node, grad in graphs:
            node.grad = grad  # type: ignore[assignment]

    def __copy__(self) -> Value:
        """A new node with the same rule, inputs, numbers and label (``copy.copy``)."""
        return _node(self._op, self._a, self._b, self.data, self.grad, self.label)

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

        All or nothing: if anything raises on the way (a derivative outside its domain, an
        overflow, Ctrl-C), every ``.grad`` is left as it was. Threads may call it at once, on
        graphs that share Values: the calls take turns (one lock for the process), so that
        shared gradients add up exactly; building graphs needs no turns.
        """
        seed = _constant(grad, "backward")
        if seed is None:
            raise TypeError(f"backward() grad must be a number, got {type(grad).__name__}: {shown(grad)}")
        with _backward_lock:
            if create_graph:
                found = _chain_rule([self], [seed], create_graph=True)[0]
                # a constant gradient becomes a leaf, so that .grad.backward() always works
                new = [(node, g if type(g) is Value else Value(g)) for node, g in found.items()]
                totals: list[tuple[Value, Any]] = [
                    (n, _accumulate(n.grad, g) if n._op is None else g) for n, g in new
                ]
                for node, value in totals:
                    node.grad = value
            elif self._op is None:
                total = self.grad + seed
                if type(total) is float and not _isfinite(total):
                    raise _gradient_overflow(self, total)
                self.grad = total
            else:
                _backward(self, seed)

    def zero_grad(self) -> None:
        """Set ``.grad`` to 0 on this node and on every node it was computed from."""
        for node in topological_order(self):
            node.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same data and label, cut from this node's history."""
        return Value(self.data, self.label)


Operand = Value | int | float
"""What an operation takes: a Value, or a number folded in as a constant."""


class _BeingPickled(threading.local):
    nodes: set[int] = set()  # noqa: RUF012 -- per thread, reset by each root
    deferred: set[int] = set()  # noqa: RUF012


_being_pickled = _BeingPickled()
"""What this thread's pickle of a root is writing out now: the ids of the nodes below the root,
written plainly (their inputs being already written), and of the nodes whose gradient graphs
the root's state holds. Each id is dropped once used."""


class _PicklingDone:
    """Pickled after a root's nodes: ends their plain writing (and unpickles to None). If the
    pickling fails before that (a rule of one's own made of lambdas), it ends when pickle lets
    go of this object, so that the next pickle of one of those nodes starts afresh."""

    def __init__(self, nodes: set[int], deferred: set[int]) -> None:
        self.nodes, self.deferred = nodes, deferred

    def __reduce__(self) -> tuple[Any, ...]:
        self.__del__()
        return type(None), ()

    def __del__(self) -> None:
        if _being_pickled.nodes is self.nodes:
            _being_pickled.nodes = set()
        if _being_pickled.deferred is self.deferred:
            _being_pickled.deferred = set()


def _leaf(data: float, grad: Any, label: str | None) -> Value:
    leaf = Value(data, label)
    leaf.grad = grad
    return leaf


def _node(op: Rule | None, a: Any, b: Any, data: float, grad: Any, label: str | None) -> Value:
    node: Value = _new(Value)
    node.data, node.grad, node.label = data, grad, label
    node._op, node._a, node._b, node._pending = op, a, b, 0
    return node


def _root(below: list[Value], done: None, *fields: Any) -> Value:
    """The root of an unpickled graph; ``below`` (its nodes, unpickled first) only set the order."""
    return _node(*fields)


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


_backward_lock = threading.RLock()
"""Taken by ``backward()``: calls from several threads take turns, since they share the
consumer counts of the nodes and may add into the same leaves."""


def _backward(root: Value, seed: float) -> None:
    """``backward()`` of an operation node: count consumers, then apply the chain rule; on any
    error, put back every gradient it changed, then raise."""
    found = [root]
    leaves: list[Value] = []
    saved: tuple[list[Any], list[Any]] | None = None
    try:
        _count_consumers(found, leaves)
        saved = [node.grad for node in found], [leaf.grad for leaf in leaves]
        for node in found:
            node.grad = -0.0
        root.grad = seed
        _propagate(root)
    except BaseException:
        if saved is not None:
            for node, g in zip(found, saved[0]):
                node.grad = g
            for leaf, g in zip(leaves, saved[1]):
                leaf.grad = g
        for node in found:
            node._pending = 0
        raise
    finally:
        for leaf in leaves:
            leaf._pending = 0


def _count_consumers(found: list[Value], leaves: list[Value]) -> None:
    """First sweep of ``backward()``: from the root ``found[0]``, append every operation node
    below it to ``found`` and every leaf to ``leaves``, and set each operation node's
    ``_pending`` to the number of its consumers in this graph (a leaf's ``_pending`` marks it
    as listed, until ``_backward`` clears it).

    Every intermediate gradient then starts at -0.0 (recomputed, never doubled). -0.0 rather
    than 0.0 because it is the float that adds nothing to any other, so a node's first
    contribution arrives exactly, the sign of a zero included, as in a program that writes
    ``dz = g * w`` (``autodiff.compile``). (The sweeps are ``for`` loops over lists that grow
    as they go, a well-defined idiom for lists, rather than ``while stack``: it needs no pop,
    and CPython 3.11 specializes a ``for`` loop's bytecode at once but a ``while`` loop's only
    after 8 calls. The same few lines are written out for the elements of a vector, for ``a``
    and for ``b``, rather than looped over a tuple of them: one loop over ``(a, b)`` makes the
    backward pass of a graph of scalar operations 10% slower.)
    """
    found[0]._pending = 1
    for node in found:
        a = node._a
        if type(a) is tuple:  # a rule over vectors: count every element
            for v in (*a, *node._b):
                if type(v) is Value:
                    if v._op is not None:
                        if v._pending:
                            v._pending += 1
                        else:
                            v._pending = 1
                            found.append(v)
                    elif not v._pending:
                        v._pending = 1
                        leaves.append(v)
            continue
        if type(a) is Value:
            if a._op is not None:
                if a._pending:
                    a._pending += 1
                else:
                    a._pending = 1
                    found.append(a)
            elif not a._pending:
                a._pending = 1
                leaves.append(a)
        b = node._b
        if type(b) is Value:
            if b._op is not None:
                if b._pending:
                    b._pending += 1
                else:
                    b._pending = 1
                    found.append(b)
            elif not b._pending:
                b._pending = 1
                leaves.append(b)


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
            try:
                _propagate_dot(node, g, ready)
            except TypeError as error:
                raise _gradient_type_error(node) from error
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
        except TypeError as error:  # a grad set to None, a partial of one's own: named, and chained
            raise _gradient_type_error(node) from error
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


def _local_derivatives(node: Value, create_graph: bool, wanted: Any = None) -> list[Any]:
    """d node / d input for each of ``node.inputs``, in order, from the node's rule: on the Values
    themselves with ``create_graph``, else on numbers. None for a constant input, and for a Value
    not in ``wanted`` (when given): a partial that nobody needs is not computed, so that it
    cannot raise (d(x^n)/dn at x < 0 when only d/dx is asked)."""
    op = node._op
    assert op is not None
    inputs = node.inputs
    need = [type(v) is Value and (wanted is None or v in wanted) for v in inputs]
    try:
        if type(node._a) is tuple:
            xs: Any = node._a
            ys: Any = node._b
            if not create_graph:
                xs = _numbers(xs)
                ys = _numbers(ys)
            out = node if create_graph else node.data
            found = [*op.partials[0](xs, ys, out), *op.partials[1](xs, ys, out)]
            return [d if needed else None for needed, d in zip(need, found)]
        if create_graph:
            args: tuple[Any, ...] = (*inputs, node)
        else:
            args = (*(v.data if type(v) is Value else v for v in inputs), node.data)
        return [op.partials[i](*args) if needed else None for i, needed in enumerate(need)]
    except (ArithmeticError, ValueError):
        raise _derivative_error(node) from None


def _accumulate(total: Any, term: Any) -> Any:
    """``total + term``, without recording ``0 + term`` when nothing has been added yet."""
    return term if type(total) is float and total == 0.0 else total + term


def _chain_rule(
    outputs: Sequence[Value],
    seeds: Sequence[Any],
    create_graph: bool,
    wrt: Sequence[Value] | None = None,
    plan: tuple[list[Value], set[Value] | None] | None = None,
) -> tuple[dict[Value, Any], int]:
    """Reverse mode in its general form: for every node the ``outputs`` depend on, the sum over
    outputs of seed * d output / d node (a vector-Jacobian product), in a dict, touching no
    ``.grad``; and the number of multiply-adds it took.

    Each node, consumers first, sends ``grad * partial_i`` to its input ``i``. With
    ``create_graph`` the partials are evaluated on the Values themselves, so every gradient is a
    Value recorded in a graph that can be differentiated again; otherwise on their numbers.
    With ``wrt``, only the gradients of those nodes are wanted: partials are computed only
    along paths that lead to them. ``plan`` is ``_sweep_plan(outputs, wrt)`` worked out once
    for several sweeps of one graph (a Hessian's rows), else it is worked out here.
    (``backward()`` runs the first-order case on a faster path with the same result.)
    """
    grads: dict[Value, Any] = {}
    for output, seed in zip(outputs, seeds):
        grads[output] = _accumulate(grads[output], seed) if output in grads else seed
    multiply_adds = 0
    order, wanted = plan if plan is not None else _sweep_plan(outputs, wrt)
    for node in reversed(order):
        op = node._op
        if op is None or node not in grads or (wanted is not None and node not in wanted):
            continue
        g = grads[node]
        for inp, local in zip(node.inputs, _local_derivatives(node, create_graph, wanted)):
            if local is None:
                continue
            term = g if type(local) is float and local == 1.0 else g * local
            grads[inp] = _accumulate(grads[inp], term) if inp in grads else term  # type: ignore[index]
            multiply_adds += 1
    if not create_graph:
        for node, g in grads.items():
            if not _isfinite(g):
                raise _gradient_overflow(node, g)
    return grads, multiply_adds


def _sweep_plan(
    outputs: Sequence[Value], wrt: Sequence[Value] | None
) -> tuple[list[Value], set[Value] | None]:
    """What a reverse sweep from ``outputs`` walks: their nodes in a topological order, and the
    nodes on paths to ``wrt`` (None: all of them). A sweep from any of the outputs may use it."""
    order = topological_order(*outputs)
    return order, None if wrt is None else _leading_to(order, wrt)


def _leading_to(order: list[Value], targets: Sequence[Value]) -> set[Value]:
    """The nodes of ``order`` (a topological order) from which some target can be reached: the
    targets themselves and every node that has one of them below it."""
    leading = set(targets)
    for node in order:
        if node._op is not None and node not in leading and any(
            type(v) is Value and v in leading for v in node.inputs
        ):
            leading.add(node)
    return leading


def gradients(
    output: Value, inputs: Sequence[Value], grad: Any = 1.0, create_graph: bool = False
) -> list[Any]:
    """d output / d x for each ``x`` in ``inputs``, without touching any node's ``.grad``
    (``torch.autograd.grad``). 0.0 for an input ``output`` does not depend on.

    Any node may be asked for, not only leaves. With ``create_graph`` the gradients are Values
    that can be differentiated again; ``grad`` seeds d output / d output and may be a Value.
    Only the partial derivatives on paths to ``inputs`` are computed: ``gradients(x ** n, [x])``
    at x = -2 gives 3 x^2 = 12 although d/dn has no real value there.
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients() output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value) or not isinstance(inputs, Sequence):
        raise TypeError(f"gradients() inputs must be a list of Values, got {type(inputs).__name__}")
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"gradients() inputs must be Values, got {type(x).__name__}")
    seed = grad if isinstance(grad, Value) else _constant(grad, "gradients")
    if seed is None:
        raise TypeError(f"gradients() grad must be a number or a Value, got {type(grad).__name__}")
    grads = _chain_rule([output], [seed], create_graph, wrt=inputs)[0]
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
    except (TypeError, OverflowError):  # a str, None...; an int too large for a float
        plain = False
    if not plain:
        # a constant that is not a plain int or float (numpy, bool, str, NaN...): check and
        # convert every constant, then compute again
        ws = tuple(w if type(w) is Value else _dot_constant(w, caller, "weights") for w in ws)
        xs = tuple(x if type(x) is Value else _dot_constant(x, caller, "inputs") for x in xs)
        out = rules.DOT.forward(_numbers(ws), _numbers(xs))
        if not _isfinite(out):
            raise DomainError(f"dot() overflowed a float: got {out!r}")
    return _record(out, rules.DOT, ws, xs)


def _dot_constant(v: Any, caller: str, which: str) -> float:
    number = _constant(v, caller)
    if number is None:
        raise TypeError(f"{caller}() {which} must be Values or numbers, got {type(v).__name__}")
    return float(number)


def apply(rule: Rule, *args: Operand) -> Value:
    """Apply any rule, one of ``autodiff.rules`` or your own, to Values and numbers: the way to
    add an operation without touching the engine. At least one argument must be a Value."""
    if not isinstance(rule, Rule):
        raise TypeError(f"apply() needs a Rule (see autodiff.rules), got {type(rule).__name__}: "
                        f"{shown(rule)}")
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
