"""Derivatives as functions: ``grad(f)`` is a function that returns the gradient of ``f``.

Every transform takes a plain Python function of Values (or numbers) and returns a function.
Called with numbers, it returns numbers. Called with Values (as happens when one transform is
inside another, ``grad(grad(f))``), it returns Values with a graph, so that the outer transform
can differentiate them again: that is all higher-order derivatives need.

Conventions, as in ``torch.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``
and ``hvp`` take ``f`` from a list of n inputs to one output or a list of m outputs, and
matrices are lists of rows (m x n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

from .forward import tangents
from .grad_mode import is_tracing, no_grad
from .grad_mode import tracing as _tracing
from .value import Value, _chain_rule, gradients

Mode = Literal["rev", "fwd"]
ArgNums = int | Sequence[int]


def _is_nested(*groups: Sequence[Any]) -> bool:
    """True when results must stay Values: inside another transform, or given Values."""
    return is_tracing() or any(isinstance(x, Value) for group in groups for x in group)


class GradcheckError(AssertionError):
    """Analytic derivatives disagree with finite differences; the message tables every miss."""


# --- helpers ------------------------------------------------------------------------------


def _leaves(xs: Sequence[Any], name: str, *others: Sequence[Any]) -> tuple[list[Value], bool]:
    """Inputs as Values: numbers become fresh leaves; Values (from an enclosing transform) are
    kept, and then the results must stay Values too (``nested``), as they must inside another
    transform or when ``others`` (a vector ``v``) holds Values."""
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"{name}() needs a list of inputs, got {type(xs).__name__}")
    return [x if isinstance(x, Value) else Value(x) for x in xs], _is_nested(xs, *others)


def _outputs(result: Any, name: str) -> list[Any]:
    """``f``'s result as a list: one Value or number, or a list or tuple of them."""
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if not isinstance(item, (Value, int, float)) or isinstance(item, bool):
            raise TypeError(f"{name}() needs f to return Values or numbers, got {type(item).__name__}")
    return items


def _scalar(result: Any, name: str) -> Any:
    if isinstance(result, (list, tuple)):
        raise TypeError(
            f"{name}() needs f to return one scalar (a Value or a number), got a {type(result).__name__}"
            f" of {len(result)}; use jacobian() for several outputs"
        )
    return _outputs(result, name)[0]


def _number(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


def _finish(x: Any, nested: bool) -> Any:
    """A result as the caller asked: a Value when nested, else a float."""
    return x if nested else _number(x)


def _vector(v: Sequence[Any], n: int, name: str, what: str) -> list[Any]:
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
        raise TypeError(f"{name}() needs {what} as a list, got {type(v).__name__}")
    if len(v) != n:
        raise ValueError(f"{name}() needs {what} of length {n}, got {len(v)}")
    return list(v)


def _reverse(outputs: list[Any], seeds: list[Any], wrt: list[Value], nested: bool) -> tuple[list[Any], int]:
    """sum_j seeds[j] * d outputs[j] / d wrt, one reverse sweep, and its multiply-adds."""
    pairs = [(out, seed) for out, seed in zip(outputs, seeds) if isinstance(out, Value)]
    if not pairs:
        return [0.0] * len(wrt), 0
    grads, cost = _chain_rule([p[0] for p in pairs], [p[1] for p in pairs], create_graph=nested)
    return [_finish(grads.get(x, 0.0), nested) for x in wrt], cost


# --- gradients of scalar functions -----------------------------------------------------------


def value_and_grad(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), gradient)``; the gradient is with respect to argument
    ``argnums`` (an int), or a tuple of gradients for a sequence of argument positions."""

    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        positions = [argnums] if isinstance(argnums, int) else list(argnums)
        for i in positions:
            if isinstance(i, bool) or not isinstance(i, int) or not -len(args) <= i < len(args):
                raise ValueError(f"argnums {i!r} is out of range for {len(args)} argument(s)")
        nested = _is_nested(args)
        values = list(args)
        for i in positions:
            if not isinstance(values[i], Value):
                values[i] = Value(values[i])
        with _tracing():
            out = _scalar(f(*values), "grad")
        wrt = [values[i] for i in positions]
        gs = gradients(out, wrt, create_graph=nested) if isinstance(out, Value) else [0.0] * len(wrt)
        gs = [_finish(g, nested) for g in gs]
        return _finish(out, nested), gs[0] if isinstance(argnums, int) else tuple(gs)

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The gradient of scalar ``f`` as a function: ``grad(f)(x) = df/dx``; compose freely,
    ``grad(grad(f))`` is the second derivative."""
    value_and_grad_f = value_and_grad(f, argnums)

    def grad_f(*args: Any) -> Any:
        return value_and_grad_f(*args)[1]

    return grad_f


# --- Jacobians and Hessians --------------------------------------------------------------------


def _check_mode(mode: str, name: str) -> None:
    if mode not in ("rev", "fwd"):
        raise ValueError(f"{name}() mode must be 'rev' or 'fwd', got {mode!r}")


def _jacobian(f: Callable[[list[Value]], Any], xs: Sequence[Any], mode: Mode) -> tuple[list[list[Any]], int]:
    leaves, nested = _leaves(xs, "jacobian")
    with _tracing():
        outs = _outputs(f(leaves), "jacobian")
    n, m = len(leaves), len(outs)
    cost = 0
    if mode == "rev":  # one reverse sweep per output: the rows of J
        rows = []
        for j in range(m):
            row, c = _reverse(outs, [1.0 if k == j else 0.0 for k in range(m)], leaves, nested)
            rows.append(row)
            cost += c
        return rows, cost
    columns = []  # one forward sweep per input: the columns of J
    for i in range(n):
        column, c = tangents(outs, leaves, [1.0 if k == i else 0.0 for k in range(n)], nested)
        columns.append([_finish(t, nested) for t in column])
        cost += c
    return [[columns[i][j] for i in range(n)] for j in range(m)], cost


def jacobian(
    f: Callable[[list[Value]], Any], mode: Mode = "rev"
) -> Callable[[Sequence[Any]], list[list[Any]]]:
    """The m x n Jacobian of ``f``: R^n -> R^m as a function of the inputs, a list of rows.

    ``mode="rev"`` runs one reverse sweep per output (row), ``"fwd"`` one forward sweep per
    input (column): the cheaper one has fewer sweeps, see ``jacobian_cost``.
    """
    _check_mode(mode, "jacobian")

    def jacobian_f(xs: Sequence[Any]) -> list[list[Any]]:
        return _jacobian(f, xs, mode)[0]

    return jacobian_f


def jacobian_cost(f: Callable[[list[Value]], Any], mode: Mode = "rev") -> Callable[[Sequence[Any]], int]:
    """How many scalar multiply-adds (partial times incoming gradient or tangent) ``jacobian``
    needs in ``mode`` at the given inputs: about m x (graph size) in reverse mode and n x (graph
    size) in forward mode, the VJP/JVP cost argument made countable."""
    _check_mode(mode, "jacobian_cost")

    def cost_f(xs: Sequence[Any]) -> int:
        return _jacobian(f, xs, mode)[1]

    return cost_f


def hessian(f: Callable[[list[Value]], Any]) -> Callable[[Sequence[Any]], list[list[Any]]]:
    """The n x n matrix of second derivatives of scalar ``f``: the Jacobian of its gradient,
    reverse mode over reverse mode (one sweep for the gradient, then one per row)."""

    def hessian_f(xs: Sequence[Any]) -> list[list[Any]]:
        leaves, nested = _leaves(xs, "hessian")
        with _tracing():
            out = _scalar(f(leaves), "hessian")
        if not isinstance(out, Value):
            return [[_finish(0.0, nested)] * len(leaves) for _ in leaves]
        first = gradients(out, leaves, create_graph=True)
        return [_reverse([g], [1.0], leaves, nested)[0] for g in first]

    return hessian_f


# --- products with a vector ------------------------------------------------------------------


def vjp(f: Callable[[list[Value]], Any], xs: Sequence[Any], v: Sequence[Any]) -> tuple[Any, list[Any]]:
    """``(f(xs), v^T J)``: one reverse sweep seeded with ``v`` at the outputs (length m)."""
    leaves, nested = _leaves(xs, "vjp", v)
    with _tracing():
        result = f(leaves)
    outs = _outputs(result, "vjp")
    seeds = _vector(v, len(outs), "vjp", "v (one entry per output)")
    values = [_finish(o, nested) for o in outs]
    shaped = values if isinstance(result, (list, tuple)) else values[0]
    return shaped, _reverse(outs, seeds, leaves, nested)[0]


def jvp(f: Callable[[list[Value]], Any], xs: Sequence[Any], v: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(xs), J v)``: one forward sweep along ``v`` (length n), in forward mode."""
    leaves, nested = _leaves(xs, "jvp", v)
    direction = _vector(v, len(leaves), "jvp", "v (one entry per input)")
    with _tracing():
        result = f(leaves)
    outs = _outputs(result, "jvp")
    ts = [_finish(t, nested) for t in tangents(outs, leaves, direction, nested)[0]]
    values = [_finish(o, nested) for o in outs]
    if isinstance(result, (list, tuple)):
        return values, ts
    return values[0], ts[0]


def hvp(f: Callable[[list[Value]], Any], xs: Sequence[Any], v: Sequence[Any]) -> tuple[Any, list[Any]]:
    """``(f(xs), H v)`` for scalar ``f``: the gradient of ``grad f . v``, two reverse sweeps,
    without forming H."""
    leaves, nested = _leaves(xs, "hvp", v)
    direction = _vector(v, len(leaves), "hvp", "v (one entry per input)")
    with _tracing():
        out = _scalar(f(leaves), "hvp")
    if not isinstance(out, Value):
        return _finish(out, nested), [_finish(0.0, nested)] * len(leaves)
    first = gradients(out, leaves, create_graph=True)
    return _finish(out, nested), _reverse(first, direction, leaves, nested)[0]


# --- checking derivatives against finite differences ------------------------------------------


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
    checks: list[tuple[str, list[list[Any]]]], numeric: list[list[float]], atol: float, rtol: float, what: str
) -> bool:
    misses = []
    for mode, analytic in checks:
        for j, (row, num_row) in enumerate(zip(analytic, numeric)):
            for i, (a, b) in enumerate(zip(row, num_row)):
                a = _number(a)
                if not abs(a - b) <= atol + rtol * abs(b) or math.isnan(a):
                    misses.append((mode, j, i, a, b))
    if misses:
        header = ("mode", "output", "input", "analytic", "numeric", "difference")
        lines = ["{:>4} {:>6} {:>5} {:>16} {:>16} {:>12}".format(*header)]
        lines += [f"{m:>4} {j:>6} {i:>5} {a:>16.9g} {b:>16.9g} {a - b:>12.3g}" for m, j, i, a, b in misses]
        raise GradcheckError(
            f"{what} disagree with central differences at {len(misses)} place(s) "
            f"(atol={atol}, rtol={rtol}):\n" + "\n".join(lines)
        )
    return True


def _floats(xs: Sequence[Any], name: str) -> list[float]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"{name}() needs a list of numbers, got {type(xs).__name__}")
    return [x.data if isinstance(x, Value) else Value(x).data for x in xs]


def gradcheck(
    f: Callable[[list[Value]], Any],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """True if the Jacobian of ``f`` in both reverse and forward mode matches central
    differences at ``inputs`` (|analytic - numeric| <= atol + rtol |numeric| everywhere);
    otherwise raises GradcheckError with a table of every mismatch."""
    xs = _floats(inputs, "gradcheck")

    def evaluate(point: list[float]) -> list[float]:
        with no_grad():
            return [_number(o) for o in _outputs(f([Value(p) for p in point]), "gradcheck")]

    numeric = _numeric_jacobian(evaluate, xs, eps)
    checks: list[tuple[str, list[list[Any]]]] = [(mode, _jacobian(f, xs, mode)[0]) for mode in ("rev", "fwd")]
    return _compare(checks, numeric, atol, rtol, "first derivatives")


def gradgradcheck(
    f: Callable[[list[Value]], Any],
    inputs: Sequence[float],
    eps: float = 1e-5,
    atol: float = 1e-4,
    rtol: float = 1e-3,
) -> bool:
    """True if the second derivatives of ``f`` match central differences of its analytic
    gradient; for several outputs, of the gradient of their sum. Raises GradcheckError with a
    table of every mismatch otherwise."""
    xs = _floats(inputs, "gradgradcheck")

    def total(leaves: list[Value]) -> Any:
        return sum(_outputs(f(leaves), "gradgradcheck"), Value(0.0))

    def gradient(point: list[float]) -> list[float]:
        leaves = [Value(p) for p in point]
        return [_number(g) for g in gradients(total(leaves), leaves)]

    numeric = _numeric_jacobian(gradient, xs, eps)
    return _compare([("rev", hessian(total)(xs))], numeric, atol, rtol, "second derivatives")
