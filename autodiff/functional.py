"""Derivatives as functions, in one convention for every transform: JAX's.

``grad(f)`` is a function that returns the gradient of ``f``. Every transform takes ``f`` of
positional arguments and differentiates it with respect to the arguments that ``argnums`` names
(an int, or a tuple of ints; default 0, the first):

- An argument is a number, a Value, or a list or tuple of them, nested to any depth: a list is
  a vector, a list of rows a matrix.
- A derivative has the structure of what it is taken with respect to: ``grad(f)(x)`` is a float
  for a number ``x`` and a list for a list. A tuple ``argnums`` gives a tuple, one entry per
  argument named: ``grad(f, argnums=(0, 1))(x, y) = (df/dx, df/dy)``.
- A Jacobian puts the structure of ``f``'s result outside and the argument's inside:
  ``jacobian(f)(v)[j][i] = d f_j / d v_i``, an m x n list of rows for f: R^n -> R^m. A scalar f
  of a list gives the gradient list; a list-valued f of a number gives a list.

```
grad(f)(2.0)                            # f'(2), a float
grad(f, argnums=(0, 1))(x, y)           # (df/dx, df/dy)
jacobian(g)([1.0, 2.0])                 # [[dg0/dv0, dg0/dv1], [dg1/dv0, dg1/dv1], ...]
hessian(f, argnums=(0, 1))(x, y)        # ((f_xx, f_xy), (f_yx, f_yy))
jvp(g, (v,), (t,))                      # (g(v), J t), one forward sweep
out, vjp_g = vjp(g, v); vjp_g(u)        # (u^T J,), one reverse sweep, one entry per argument
hvp(f, (v,), (t,))                      # (f(v), (H t,)), two reverse sweeps, no H
```

Called with numbers a transform returns floats. Called with Values, or inside another transform
(``grad(grad(f))``, ``jacobian(grad(f))``, or a transform in a closure that the outer one
traces), it returns Values with a graph, so that the outer transform can differentiate them
again: that is all higher-order derivatives need.

A transform never lets a bad number through silently: a NaN or an infinity given to it or
returned by ``f`` is a DomainError naming the transform, and a wrong type or structure a
TypeError or ValueError naming it, the argument and the value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from .forward import tangents
from .grad_mode import is_tracing, no_grad, tracing
from .value import DomainError, Value, _chain_rule, _sweep_plan, shown

Mode = Literal["rev", "fwd"]
_MODES: tuple[Mode, ...] = ("rev", "fwd")
ArgNums = int | tuple[int, ...]

class GradcheckError(AssertionError):
    """Analytic derivatives disagree with finite differences; the message tables every miss."""


# --- error messages --------------------------------------------------------------------------


def _show(x: Any) -> str:
    """``x`` for an error message: its type and its shortened repr (``value.shown``); only the
    type when there is no repr to show (a list holding an int too long to print has none)."""
    try:
        return f"{type(x).__name__} {shown(x)}"
    except Exception:  # any repr that fails: the message must still be made
        return f"a {type(x).__name__}"


# --- structures: an argument or a result as its numbers and its shape --------------------------

Shape = tuple[bool, tuple["Shape", ...]] | None
"""None for one number (or Value); else (is a list, the shapes of the entries) for a list or
tuple, nested to any depth."""

_MAX_DEPTH = 64


def _leaf(x: Any, where: str) -> Any:
    """``x`` as a transform takes a number: a Value as it is, a real number (numpy's too) as a
    finite float. A bool is refused: it is a flag, not a point to differentiate at."""
    if type(x) is Value or (type(x) is float and math.isfinite(x)):
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        hint = "; for an array, pass .tolist()" if getattr(x, "ndim", 0) else ""
        raise TypeError(
            f"{where} must be a number or a Value (or a list or tuple of them), got {_show(x)}{hint}"
        )
    try:
        number = float(x)
    except OverflowError:
        raise DomainError(f"{where} must be a number a float can hold, got {_show(x)}") from None
    except TypeError:  # registered as a number, yet no float (numpy's timedelta64)
        raise TypeError(f"{where} must be a number or a Value, got {_show(x)}") from None
    if not math.isfinite(number):
        raise DomainError(f"{where} must be finite, got {_show(x)}")
    return number


def _flatten(tree: Any, where: str, leaves: list[Any], depth: int = 0) -> Shape:
    """Append the numbers of ``tree`` to ``leaves`` (checked by ``_leaf``), in order; its shape."""
    if not isinstance(tree, (list, tuple)):
        leaves.append(_leaf(tree, where))
        return None
    if depth == _MAX_DEPTH:
        raise ValueError(f"{where} is nested more than {_MAX_DEPTH} lists deep")
    entries = tuple(_flatten(t, f"{where}[{i}]", leaves, depth + 1) for i, t in enumerate(tree))
    return isinstance(tree, list), entries


def _unflatten(shape: Shape, leaves: Iterator[Any]) -> Any:
    """The structure ``shape`` filled with the next items of ``leaves``."""
    if shape is None:
        return next(leaves)
    is_list, entries = shape
    items = [_unflatten(entry, leaves) for entry in entries]
    return items if is_list else tuple(items)


def _same(a: Shape, b: Shape) -> bool:
    """One structure: the same nesting and lengths (a list and a tuple may stand for each other)."""
    if a is None or b is None:
        return a is b
    return len(a[1]) == len(b[1]) and all(_same(x, y) for x, y in zip(a[1], b[1]))


def _outline(shape: Shape) -> str:
    """A shape as an error shows it: ``x`` for a number, ``[x, (x, x)]`` for nesting."""
    if shape is None:
        return "x"
    is_list, entries = shape
    inner = ", ".join(_outline(e) for e in entries[:4])
    if len(entries) > 4:
        inner += f", ... ({len(entries)} entries)"
    return f"[{inner}]" if is_list else f"({inner})"


def _flatten_like(tree: Any, shape: Shape, where: str, what: str) -> list[Any]:
    """The numbers of ``tree``, which must have the structure ``shape`` (that of ``what``)."""
    leaves: list[Any] = []
    found = _flatten(tree, where, leaves)
    if not _same(found, shape):
        raise ValueError(
            f"{where} must have the structure of {what}, {_outline(shape)}; got {_outline(found)}"
        )
    return leaves


def _holds_value(tree: Any, depth: int = 0) -> bool:
    """Is ``tree`` a Value, or a list or tuple holding one (looked for down to ``_MAX_DEPTH``)?"""
    if isinstance(tree, Value):
        return True
    if isinstance(tree, (list, tuple)) and depth < _MAX_DEPTH:
        return any(_holds_value(t, depth + 1) for t in tree)
    return False


# --- argnums ---------------------------------------------------------------------------------


def _argnums(argnums: Any, name: str) -> tuple[tuple[int, ...], bool]:
    """``argnums`` checked when the transform is made: the positions, and whether it was one int
    (then the derivative is not wrapped in a tuple)."""
    if isinstance(argnums, numbers.Integral) and not isinstance(argnums, bool):
        return (int(argnums),), True
    if isinstance(argnums, tuple) and all(
        isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in argnums
    ):
        if not argnums:
            raise ValueError(f"{name}() argnums must name at least one argument, got ()")
        return tuple(int(i) for i in argnums), False
    named_mode = isinstance(argnums, str) and argnums in _MODES
    hint = f" (pass the mode by name: mode={argnums!r})" if named_mode else ""
    raise TypeError(f"{name}() argnums must be an int or a tuple of ints, got {_show(argnums)}{hint}")


def _positions(argnums: tuple[int, ...], count: int, name: str) -> list[int]:
    """``argnums`` checked against the ``count`` arguments of a call: counted from 0, once each."""
    positions = []
    for i in argnums:
        if not -count <= i < count:
            raise ValueError(f"{name}() argnums {shown(i)} is out of range for {count} argument(s)")
        if i % count in positions:
            raise ValueError(f"{name}() argnums names argument {i % count} twice")
        positions.append(i % count)
    return positions


def _check_mode(mode: Any, name: str) -> None:
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{name}() mode must be 'rev' or 'fwd', got {_show(mode)}")


def _check_function(f: Any, name: str) -> None:
    if not callable(f):
        raise TypeError(f"{name}() needs a function f, got {_show(f)}")


# --- one call of a transform ------------------------------------------------------------------


def _finish(x: Any, nested: bool) -> Any:
    """A result as the caller needs it: a Value when nested (a number becomes a constant leaf),
    else a float."""
    if nested:
        return x if type(x) is Value else Value(x)
    return x.data if type(x) is Value else float(x)


def _derivative(x: Any, nested: bool) -> Any:
    """A derivative as the caller needs it (see ``_finish``); a zero is 0.0, never -0.0: the
    sign that a product with a zero tangent or seed leaves on it means nothing."""
    found = _finish(x, nested)
    return found if nested else found + 0.0


class _Call:
    """One call of a transform: ``f``'s arguments checked and flattened (``__init__``), then ``f``
    evaluated on fresh Values in their place (``evaluate``), then swept (``reverse``,
    ``forward``), and the results put back in shape (``arrange``, ``jacobian``).

    The differentiated numbers of all arguments named are one flat vector ``wrt`` (argument
    ``argnums[0]``'s first); f's result is one flat vector ``outputs``.
    """

    def __init__(self, name: str, f: Callable[..., Any], args: Sequence[Any], argnums: tuple[int, ...],
                 single: bool) -> None:
        self.name, self.f, self.args, self.single = name, f, list(args), single
        self.positions = _positions(argnums, len(args), name)
        self.points: list[Any] = []
        self.shapes = [_flatten(args[p], f"{name}() argument {p}", self.points) for p in self.positions]
        self.nested = is_tracing() or any(
            type(x) is Value for x in self.points
        ) or any(_holds_value(a) for i, a in enumerate(args) if i not in self.positions)
        self.wrt: list[Value] = []
        self.outputs: list[Any] = []
        self.out_shape: Shape = None

    def arguments(self, leaves: Sequence[Any]) -> list[Any]:
        """f's arguments with the differentiated ones rebuilt, in their shapes, from ``leaves``."""
        call = list(self.args)
        it = iter(leaves)
        for p, shape in zip(self.positions, self.shapes):
            call[p] = _unflatten(shape, it)
        return call

    def evaluate(self, *others: Any) -> None:
        """Evaluate f on fresh Values. A number becomes a new leaf; a Value becomes a new node
        ``x + 0`` that depends on it, so that an outer transform still reaches it while this
        one's derivative is taken at this position only (the same Value may appear elsewhere,
        in another argument or a closure). ``others`` (tangents, cotangents) holding Values
        make the results Values too.

        ``grad_mode.tracing()`` marks the evaluation, so that a transform called inside keeps its
        results as Values (they may depend on this one's inputs, through a closure too, and this
        one differentiates them); and the graph is recorded even under ``no_grad()``, since a
        transform's result must not depend on a switch outside ``f`` (as in ``torch.func``)."""
        self.nested = self.nested or any(_holds_value(o) for o in others)
        with tracing():
            self.wrt = [x + 0.0 if type(x) is Value else Value(x) for x in self.points]
            result = self.f(*self.arguments(self.wrt))
        self.outputs = []
        self.out_shape = _flatten(result, f"{self.name}() f's result", self.outputs)

    def scalar(self) -> Any:
        """f's result, which must be one number or Value."""
        if self.out_shape is not None:
            kind = "list" if self.out_shape[0] else "tuple"
            raise TypeError(
                f"{self.name}() needs f to return one scalar (a Value or a number), got a {kind} of "
                f"{len(self.out_shape[1])}; use jacobian() for several outputs"
            )
        return self.outputs[0]

    def value(self) -> Any:
        """f's result, in its shape, finished."""
        return _unflatten(self.out_shape, iter([_finish(o, self.nested) for o in self.outputs]))

    def reverse(
        self, outputs: list[Any], seeds: list[Any], nested: bool, plan: Any = None
    ) -> tuple[list[Any], int]:
        """sum_j seeds[j] * d outputs[j] / d wrt, one reverse sweep, and its multiply-adds.
        Only the partials along paths to ``wrt`` are computed (and counted). ``plan``: the
        walk of a graph that several sweeps share (``value._sweep_plan``)."""
        pairs = [(out, seed) for out, seed in zip(outputs, seeds) if type(out) is Value]
        if not pairs:
            return [_derivative(0.0, nested) for _ in self.wrt], 0
        try:
            grads, cost = _chain_rule(
                [p[0] for p in pairs], [p[1] for p in pairs], create_graph=nested, wrt=self.wrt, plan=plan
            )
        except DomainError as error:
            raise DomainError(f"{self.name}(): {error}") from None
        return [_derivative(grads.get(x, 0.0), nested) for x in self.wrt], cost

    def forward(self, direction: list[Any]) -> tuple[list[Any], int]:
        """The tangents of the outputs along ``direction`` (J v), one forward sweep."""
        try:
            ts, cost = tangents(self.outputs, self.wrt, direction, self.nested)
        except DomainError as error:
            raise DomainError(f"{self.name}(): {error}") from None
        return [_derivative(t, self.nested) for t in ts], cost

    def rows(self, mode: Mode) -> tuple[list[list[Any]], int]:
        """The flat Jacobian J[j][i] = d outputs[j] / d wrt[i], and its multiply-adds: one
        reverse sweep per output (a row), or one forward sweep per input (a column). Each sweep
        runs over the whole graph between the inputs and the outputs, seeded with a 1 in one
        place and 0 elsewhere."""
        n, m = len(self.wrt), len(self.outputs)
        cost = 0
        if mode == "rev":
            rows = []
            for j in range(m):
                row, c = self.reverse(self.outputs, [1.0 if k == j else 0.0 for k in range(m)], self.nested)
                rows.append(row)
                cost += c
            return rows, cost
        columns = []
        for i in range(n):
            column, c = self.forward([1.0 if k == i else 0.0 for k in range(n)])
            columns.append(column)
            cost += c
        return [[columns[i][j] for i in range(n)] for j in range(m)], cost

    def arrange(self, flat: list[Any]) -> Any:
        """A derivative with respect to ``wrt`` in the arguments' structure: one argument's shape
        for an int ``argnums``, else a tuple with one entry per argument."""
        it = iter(flat)
        pieces = [_unflatten(shape, it) for shape in self.shapes]
        return pieces[0] if self.single else tuple(pieces)

    def jacobian(self, rows: list[list[Any]]) -> Any:
        """The flat Jacobian in shape: f's result outside, the arguments inside."""
        return _unflatten(self.out_shape, iter([self.arrange(row) for row in rows]))


# --- gradients of scalar functions -----------------------------------------------------------


def _value_and_grad(f: Callable[..., Any], argnums: Any, name: str) -> Callable[..., tuple[Any, Any]]:
    _check_function(f, name)
    positions, single = _argnums(argnums, name)

    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        call = _Call(name, f, args, positions, single)
        call.evaluate()
        gradient, _ = call.reverse([call.scalar()], [1.0], call.nested)
        return call.value(), call.arrange(gradient)

    return value_and_grad_f


def value_and_grad(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), gradient)`` for ``f`` returning one scalar, in one
    evaluation of ``f`` and one reverse sweep; the gradient is as ``grad`` gives it."""
    return _value_and_grad(f, argnums, "value_and_grad")


def grad(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The gradient of scalar ``f`` as a function, by one reverse sweep.

    ``grad(f)(x, y)`` is df/dx, shaped like ``x`` (a float for a number, a list for a list);
    ``grad(f, argnums=1)`` is df/dy; ``grad(f, argnums=(0, 1))`` the tuple (df/dx, df/dy).
    Compose freely: ``grad(grad(f))`` is the second derivative.
    """
    value_and_grad_f = _value_and_grad(f, argnums, "grad")

    def grad_f(*args: Any) -> Any:
        return value_and_grad_f(*args)[1]

    return grad_f


# --- Jacobians and Hessians --------------------------------------------------------------------


def _jacobian_call(
    f: Callable[..., Any], argnums: Any, mode: Any, name: str, scalar: bool = False
) -> Callable[..., _Call]:
    """A function of f's arguments that evaluates f and returns the call, ready to sweep."""
    _check_function(f, name)
    _check_mode(mode, name)
    positions, single = _argnums(argnums, name)

    def call_f(*args: Any) -> _Call:
        call = _Call(name, f, args, positions, single)
        call.evaluate()
        if scalar:
            call.scalar()
        return call

    return call_f


def _jacobian(
    f: Callable[..., Any], argnums: Any, mode: Any, name: str, scalar: bool = False
) -> Callable[..., Any]:
    call_f = _jacobian_call(f, argnums, mode, name, scalar)

    def jacobian_f(*args: Any) -> Any:
        call = call_f(*args)
        return call.jacobian(call.rows(mode)[0])

    return jacobian_f


def jacobian(f: Callable[..., Any], argnums: ArgNums = 0, *, mode: Mode = "rev") -> Callable[..., Any]:
    """The Jacobian of ``f`` as a function (JAX's ``jacrev`` and ``jacfwd``).

    The structure of f's result is outside, the argument's inside: for a list ``v`` of n and a
    result of m, ``jacobian(f)(v)[j][i] = d f_j / d v_i``, a list of m rows. A scalar f of a
    list gives its gradient (a list); a list-valued f of a number, a list (the column). With a
    tuple ``argnums`` every entry of the result holds a tuple, one piece per argument.

    ``mode="rev"`` runs one reverse sweep per output (a row), ``"fwd"`` one forward sweep per
    input (a column): the cheaper one has fewer sweeps, as ``jacobian_cost`` counts.
    """
    return _jacobian(f, argnums, mode, "jacobian")


def jacobian_cost(f: Callable[..., Any], argnums: ArgNums = 0, *, mode: Mode = "rev") -> Callable[..., int]:
    """How many scalar multiply-adds (a partial times an incoming gradient or tangent)
    ``jacobian(f, argnums, mode=mode)`` needs at the given arguments: each sweep costs one per
    (node, Value input) edge of f's graph on a path from the inputs to the outputs, and reverse
    mode makes m sweeps (one per output), forward mode n (one per input): the VJP/JVP cost
    argument made countable.

    Counted at numbers: an argument that is a Value is reached through one more edge each (a
    fresh node ``x + 0`` stands in its place), and its own history is swept too."""
    call_f = _jacobian_call(f, argnums, mode, "jacobian_cost")

    def cost_f(*args: Any) -> int:
        return call_f(*args).rows(mode)[1]

    return cost_f


def hessian(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The second derivatives of scalar ``f`` as a function: the Jacobian of its gradient,
    reverse mode over reverse mode (one sweep for the gradient, then one per entry of it).

    For a list ``v`` of n, ``hessian(f)(v)`` is the n x n list of rows H[i][k] = d^2 f / dv_i dv_k;
    for numbers, ``hessian(f, argnums=(0, 1))(x, y)`` is ((f_xx, f_xy), (f_yx, f_yy)), as JAX
    gives it.
    """
    gradient = _jacobian(f, argnums, "rev", "hessian", scalar=True)
    call_f = _jacobian_call(gradient, argnums, "rev", "hessian")

    def hessian_f(*args: Any) -> Any:
        call = call_f(*args)  # the gradient, as Values with a graph
        # one reverse sweep per entry of the gradient, through that entry's own graph only (the
        # entries share one graph: it is walked once, and each sweep skips what its entry
        # does not reach)
        values = [entry for entry in call.outputs if type(entry) is Value]
        plan = _sweep_plan(values, call.wrt) if values else None
        rows = [call.reverse([entry], [1.0], call.nested, plan)[0] for entry in call.outputs]
        return call.jacobian(rows)

    return hessian_f


# --- products with a vector ------------------------------------------------------------------


def _primals(primals: Any, name: str, what: str) -> tuple[Any, ...]:
    if not isinstance(primals, tuple):
        raise TypeError(
            f"{name}() {what} must be a tuple with one entry per argument of f, e.g. "
            f"{name}(f, (x,), (v,)), got {_show(primals)}"
        )
    return primals


def _along(name: str, f: Callable[..., Any], primals: Any, tangents_: Any) -> tuple[_Call, list[Any]]:
    """The call of f at ``primals`` (every argument differentiated) and the flat direction."""
    _check_function(f, name)
    args, directions = _primals(primals, name, "primals"), _primals(tangents_, name, "tangents")
    if len(directions) != len(args):
        raise ValueError(
            f"{name}() needs one tangent per primal: {len(args)} primal(s), {len(directions)} tangent(s)"
        )
    call = _Call(name, f, args, tuple(range(len(args))), single=False)
    direction = []
    for p, (shape, t) in enumerate(zip(call.shapes, directions)):
        direction += _flatten_like(t, shape, f"{name}() tangents[{p}]", f"primals[{p}]")
    call.evaluate(directions)
    return call, direction


def jvp(f: Callable[..., Any], primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    """``(f(*primals), J t)``: one forward sweep along the tangents (JAX's ``jvp``).

    ``primals`` is a tuple of f's arguments, all differentiated; ``tangents`` a tuple of the
    same structure, the direction t in which they move. The product J t has the structure of
    f's result: d/ds f(primals + s t) at s = 0. Both must be tuples, not lists, so that a list
    always means one vector argument: ``jvp(f, (v,), (t,))`` for f of one list ``v``.
    """
    call, direction = _along("jvp", f, primals, tangents)
    return call.value(), _unflatten(call.out_shape, iter(call.forward(direction)[0]))


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*primals), vjp_fn)`` (JAX's ``vjp``): f is evaluated once, and ``vjp_fn(u)``, for a
    cotangent ``u`` with the structure of f's result, returns u^T J by one reverse sweep, as a
    tuple with one entry per primal, each shaped like that primal."""
    _check_function(f, "vjp")
    call = _Call("vjp", f, primals, tuple(range(len(primals))), single=False)
    call.evaluate()

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        seeds = _flatten_like(cotangent, call.out_shape, "vjp() cotangent", "f's result")
        nested = call.nested or is_tracing() or _holds_value(cotangent)
        product: tuple[Any, ...] = call.arrange(call.reverse(call.outputs, seeds, nested)[0])
        return product

    return call.value(), vjp_fn


def hvp(
    f: Callable[..., Any], primals: tuple[Any, ...], tangents: tuple[Any, ...]
) -> tuple[Any, tuple[Any, ...]]:
    """``(f(*primals), H t)`` for scalar ``f``: the gradient of (grad f) . t, two reverse
    sweeps, without forming H (torch's ``hvp`` pair). ``primals`` and ``tangents`` are tuples
    as for ``jvp``; H t is a tuple with one entry per primal, each shaped like it."""
    call, direction = _along("hvp", f, primals, tangents)
    first, _ = call.reverse([call.scalar()], [1.0], nested=True)
    second, _ = call.reverse(first, direction, call.nested)
    return call.value(), call.arrange(second)


# --- checking derivatives against finite differences ------------------------------------------


def _setting(x: Any, name: str, what: str, positive: bool = False) -> float:
    """A step or tolerance of a check: a finite number, > 0 (``positive``) or >= 0."""
    bound = "> 0" if positive else ">= 0"
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}() {what} must be a number {bound}, got {_show(x)}")
    try:
        number = float(x)
    except OverflowError:
        number = math.inf
    except TypeError:  # registered as a number, yet no float (numpy's timedelta64)
        raise TypeError(f"{name}() {what} must be a number {bound}, got {_show(x)}") from None
    if not math.isfinite(number) or number < 0.0 or (positive and number == 0.0):
        raise ValueError(f"{name}() {what} must be a finite number {bound}, got {_show(x)}")
    return number


def _numeric_jacobian(
    g: Callable[[list[float]], list[float]], xs: list[float], eps: float
) -> list[list[float]]:
    """Central differences: column i is (g(x + eps e_i) - g(x - eps e_i)) / (2 eps)."""
    columns = []
    for i in range(len(xs)):
        up = g([x + eps if k == i else x for k, x in enumerate(xs)])
        down = g([x - eps if k == i else x for k, x in enumerate(xs)])
        columns.append([(a - b) / (2 * eps) for a, b in zip(up, down)])
    return [[columns[i][j] for i in range(len(xs))] for j in range(len(columns[0]) if columns else 0)]


def _compare(
    checks: Sequence[tuple[str, list[list[Any]]]],
    numeric: list[list[float]],
    atol: float,
    rtol: float,
    what: str,
) -> bool:
    misses = []
    for mode, analytic in checks:
        for j, (row, num_row) in enumerate(zip(analytic, numeric)):
            for i, (a, b) in enumerate(zip(row, num_row)):
                # an infinite difference quotient checks nothing (inf <= rtol * inf): a miss
                if not (math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)):
                    misses.append((mode, j, i, a, b))
    if misses:
        header = ("mode", "output", "input", "analytic", "numeric", "difference")
        lines = ["{:>4} {:>6} {:>5} {:>16} {:>16} {:>12}".format(*header)]
        lines += [f"{m:>4} {j:>6} {i:>5} {a:>16.9g} {b:>16.9g} {a - b:>12.3g}" for m, j, i, a, b in misses]
        raise GradcheckError(
            f"{what} disagree with central differences at {len(misses)} place(s) "
            f"(atol={atol}, rtol={rtol}; outputs and inputs are numbered in order through f's "
            "result and through its arguments):\n" + "\n".join(lines)
        )
    return True


def _against_differences(
    name: str, what: str, f: Callable[..., Any], args: Any, eps: Any, atol: Any, rtol: Any,
    leaf: Callable[[float], Any],
) -> bool:
    """The flat Jacobian of ``f`` in both modes against central differences of ``f``, which is
    evaluated on ``leaf(number)`` for each differentiated number (under ``no_grad``)."""
    step = _setting(eps, name, "eps", positive=True)
    atol, rtol = _setting(atol, name, "atol"), _setting(rtol, name, "rtol")
    call = _Call(name, f, args, tuple(range(len(args))), single=False)
    xs = [x.data if type(x) is Value else x for x in call.points]
    at = call.arguments(xs)

    def evaluate(point: list[float]) -> list[float]:
        outputs: list[Any] = []
        try:
            with no_grad():
                _flatten(f(*call.arguments([leaf(p) for p in point])), f"{name}() f's result", outputs)
        except DomainError as error:
            raise DomainError(
                f"{name}() evaluates f at the point moved by eps = {step!r} in each input, and f is "
                f"undefined there ({error}): check a point further inside f's domain, or take a "
                "smaller eps"
            ) from None
        return [_finish(o, nested=False) for o in outputs]

    numeric = _numeric_jacobian(evaluate, xs, step)
    checks = []
    for mode in _MODES:
        analytic = _Call(name, f, at, tuple(range(len(at))), single=False)
        analytic.evaluate()
        rows = analytic.rows(mode)[0]
        checks.append((mode, [[_finish(a, nested=False) for a in row] for row in rows]))
    return _compare(checks, numeric, atol, rtol, what)


def _arguments(args: Any, name: str) -> tuple[Any, ...]:
    """A check's ``args``: a tuple is f's arguments, anything else the one argument."""
    arguments = args if isinstance(args, tuple) else (args,)
    if not arguments:
        raise ValueError(f"{name}() needs at least one argument of f to check, got ()")
    return arguments


def gradcheck(
    f: Callable[..., Any], args: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4
) -> bool:
    """True if the Jacobian of ``f`` with respect to every argument, in reverse and in forward
    mode, matches central differences (|analytic - numeric| <= atol + rtol |numeric| everywhere);
    otherwise raises GradcheckError with a table of every mismatch (JAX's ``check_grads``).

    ``args`` is a tuple of f's positional arguments, or one argument that is not a tuple:
    ``gradcheck(f, [2.0, 3.0])`` checks f of one vector, ``gradcheck(f, (2.0, 3.0))`` f(2.0, 3.0).
    """
    _check_function(f, "gradcheck")
    return _against_differences("gradcheck", "first derivatives", f, _arguments(args, "gradcheck"),
                                eps, atol, rtol, leaf=Value)


def gradgradcheck(
    f: Callable[..., Any], args: Any, *, eps: float = 1e-5, atol: float = 1e-4, rtol: float = 1e-3
) -> bool:
    """True if the second derivatives of ``f`` (for several outputs, of their sum), in forward
    over reverse and reverse over reverse mode, match central differences of its analytic
    gradient; ``args`` as for ``gradcheck``. Raises GradcheckError with a table of every
    mismatch otherwise."""
    _check_function(f, "gradgradcheck")
    arguments = _arguments(args, "gradgradcheck")

    def total(*xs: Any) -> Any:
        outputs: list[Any] = []
        _flatten(f(*xs), "gradgradcheck() f's result", outputs)
        return sum(outputs, 0.0)

    gradient = _value_and_grad(total, tuple(range(len(arguments))), "gradgradcheck")

    def first(*xs: Any) -> Any:
        return gradient(*xs)[1]

    return _against_differences("gradgradcheck", "second derivatives", first, arguments,
                                eps, atol, rtol, leaf=float)
