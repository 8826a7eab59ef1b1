"""Derivatives of derivatives: ``backward(create_graph=True)``, ``gradients(create_graph=True)``
and nested transforms (``grad(grad(f))``).

Every rule's second derivative (both inputs of the binary ones, and the mixed partial) is
checked against central differences of its *first-order* analytic derivative, which
``test_rules`` already pins to finite differences of the forward values; higher orders of
``tanh`` against closed forms; and the gradient of an MLP's squared gradient norm against finite
differences of its first-order gradient and against a Hessian-vector product.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from helpers import assert_matches_fd, step_for

import nn
from autodiff import (
    RULES,
    Value,
    apply,
    dot,
    grad,
    gradients,
    hessian,
    hvp,
    topological_order,
    value_and_grad,
)

# --- helpers -----------------------------------------------------------------------------------


def first_derivatives(name: str, point: tuple[float, ...]) -> list[float]:
    """The first-order derivatives of rule ``name`` at ``point`` from plain ``backward()`` on
    floats: the reference that finite differences of second derivatives are taken of."""
    leaves = [Value(p) for p in point]
    CASES[name].make(*leaves).backward()
    return [leaf.grad for leaf in leaves]


def second_by_backward(out: Value, leaves: list[Value]) -> list[list[float]]:
    """The Hessian of ``out`` by ``backward(create_graph=True)``, then ``backward()`` of each
    gradient. A gradient that is a plain number is a constant: its row is zero."""
    out.backward(create_graph=True)
    first = [leaf.grad for leaf in leaves]
    rows = []
    for g in first:
        for leaf in leaves:
            leaf.grad = 0.0
        if isinstance(g, Value):
            g.backward()
            rows.append([float(leaf.grad) for leaf in leaves])
        else:
            rows.append([0.0] * len(leaves))
    return rows


# --- every rule's second derivative ------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    points: tuple[tuple[float, ...], ...]
    relative: tuple[bool, ...]
    """Finite-difference steps scale with |x| (power-like) rather than absolutely."""
    vector: bool = False
    """A rule over two vectors (dot): a point holds both, one after the other."""

    def make(self, *args: Any) -> Any:
        """The rule applied to ``args``, through the public API."""
        if self.vector:
            half = len(args) // 2
            return dot(args[:half], args[half:])
        return apply(RULES[self.name], *args)


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case("neg", ((-2.0,), (0.5,), (3.0,)), (True,)),
        Case("abs", ((-2.0,), (0.5,), (3.0,)), (True,)),
        Case("exp", ((-3.0,), (0.0,), (2.5,)), (False,)),
        Case("log", ((0.1,), (1.0,), (7.5,)), (True,)),
        Case("sqrt", ((0.25,), (2.0,), (9.0,)), (True,)),
        Case("tanh", ((-2.0,), (0.0,), (0.7,), (3.0,)), (False,)),
        Case("sigmoid", ((-3.0,), (0.0,), (1.5,)), (False,)),
        Case("relu", ((-2.0,), (0.5,), (3.0,)), (True,)),
        Case("softplus", ((-3.0,), (0.0,), (2.0,)), (False,)),
        Case("sin", ((-2.0,), (0.0,), (1.0,), (3.0,)), (False,)),
        Case("cos", ((-2.0,), (0.0,), (1.0,), (3.0,)), (False,)),
        Case("add", ((1.5, -2.25), (0.3, 4.0)), (True, True)),
        Case("sub", ((1.5, -2.25), (0.3, 4.0)), (True, True)),
        Case("mul", ((1.5, -2.25), (0.3, 4.0)), (True, True)),
        Case("div", ((1.0, 3.0), (-2.5, 0.5), (7.0, -4.0)), (True, True)),
        Case(
            "pow",
            ((2.0, 3.0), (0.5, -1.5), (3.0, 0.5), (1.5, 2.0), (0.7, 1.0), (2.0, 0.0), (0.5, 0.0)),
            (True, False),
        ),
        Case("leaky_relu", ((-2.0, 0.01), (3.0, 0.2), (-0.5, -0.5)), (True, True)),
        Case("dot", ((0.5, -1.0, 2.0, 0.3), (1.5, 0.25, -0.75, 4.0)), (True,) * 4, vector=True),
    )
}
"""Points inside each rule's domain, off its kinks: x ** 0 included (x^0 = 1 is constant in x
but not in the exponent: d^2(x^y)/dx dy = x^(y-1) (1 + y ln x) = 1/x there)."""


def test_the_table_covers_every_rule() -> None:
    assert set(CASES) == set(RULES)
    for name, case in CASES.items():
        arity = len(case.points[0]) if case.vector else RULES[name].arity
        assert all(len(p) == arity for p in case.points), name
        assert len(case.relative) == arity, name
        assert case.make(*(Value(p) for p in case.points[0])).op is RULES[name]


SINGULAR_AT_ZERO = {
    ("abs", 0), ("relu", 0), ("log", 0), ("sqrt", 0), ("leaky_relu", 0), ("pow", 0), ("div", 1)
}
"""(rule, input) pairs with a kink or a domain edge at 0: finite-difference steps stay clear."""


def _hessian_cases():  # type: ignore[no-untyped-def]
    for name, case in CASES.items():
        for point in case.points:
            for how in ("grad(grad)", "create_graph"):
                yield pytest.param(name, point, how, id=f"{name}-{point!r}-{how}")


def _second_by_nesting(name: str, point: tuple[float, ...]) -> list[list[float]]:
    """The Hessian of rule ``name`` by ``grad`` of ``grad``: all arguments are differentiated
    at both levels, so that the inner gradient sees Values wherever the outer one does."""
    positions = tuple(range(len(point)))
    f = CASES[name].make

    rows = []
    for i in positions:
        def component(*args: Any, i: int = i) -> Any:
            return grad(f, argnums=positions)(*args)[i]

        row = grad(component, argnums=positions)(*point)
        assert all(type(h) is float for h in row), "called with numbers, grad returns floats"
        rows.append(list(row))
    return rows


@pytest.mark.parametrize(("name", "point", "how"), list(_hessian_cases()))
def test_every_rule_second_derivative_matches_finite_differences(
    name: str, point: tuple[float, ...], how: str
) -> None:
    """H[i][j] = d/dx_j (d rule / dx_i), against a central difference in x_j of the first-order
    derivative d rule / dx_i. For binary rules this is the full 2 x 2 matrix: both second
    derivatives and both mixed partials (which must then also agree with each other)."""
    case = CASES[name]
    if how == "grad(grad)":
        h_analytic = _second_by_nesting(name, point)
    else:
        leaves = [Value(p) for p in point]
        h_analytic = second_by_backward(case.make(*leaves), leaves)
    n = len(point)
    for i in range(n):
        for j in range(n):
            def d_i(t: float, i: int = i, j: int = j) -> float:
                moved = tuple(t if k == j else p for k, p in enumerate(point))
                return first_derivatives(name, moved)[i]

            h = step_for(point[j], case.relative[j], (0.0,) if (name, j) in SINGULAR_AT_ZERO else ())
            assert_matches_fd(
                h_analytic[i][j], d_i, point[j], h, rtol=1e-8,
                what=f"d^2 {name} / dx{i} dx{j} at {point!r} by {how}",
            )


_BINARY_FORMS = [
    pytest.param(name, point, form, id=f"{name}-{point!r}-{form}")
    for name, case in CASES.items() if RULES[name].arity == 2 and not case.vector
    for point in case.points
    for form in ("Value-constant", "constant-Value")
]


@pytest.mark.parametrize(("name", "point", "form"), _BINARY_FORMS)
def test_binary_rule_second_derivative_with_a_constant_operand(
    name: str, point: tuple[float, float], form: str
) -> None:
    """``v ** 2.5``, ``2.0 ** v``, ``3.0 / v``, ...: the partials are then called with a plain
    number for the constant operand while recording a graph for the other."""
    x, y = point
    k = 0 if form == "Value-constant" else 1
    rule = RULES[name]

    def f(t: Any) -> Any:
        return apply(rule, t, y) if k == 0 else apply(rule, x, t)

    nested = grad(grad(f))(point[k])
    v = Value(point[k])
    by_backward = second_by_backward(f(v), [v])[0][0]

    def slope(t: float) -> float:
        return first_derivatives(name, (t, y) if k == 0 else (x, t))[k]

    h = step_for(point[k], CASES[name].relative[k], (0.0,) if (name, k) in SINGULAR_AT_ZERO else ())
    reference = assert_matches_fd(nested, slope, point[k], h, rtol=1e-8, what=f"{name} {form} grad(grad)")
    assert by_backward == pytest.approx(reference, rel=1e-8, abs=1e-9)
    assert by_backward == pytest.approx(nested, rel=1e-14, abs=1e-300)


def _tanh_dot(w: Any, x: Any) -> Any:
    return dot([w.tanh(), 2.0], [x, x * x])


def _tanh_dot_hessian(w: float, x: float) -> list[list[float]]:
    s = 1.0 - math.tanh(w) ** 2
    return [[-2.0 * math.tanh(w) * s * x, s], [s, 4.0]]


@pytest.mark.parametrize(
    ("f", "point", "want"),
    [
        pytest.param(lambda w, x: dot([w, 1.5], [x, w]), (0.5, 2.0), lambda w, x: [[0.0, 1.0], [1.0, 0.0]],
                     id="w x + 1.5 w"),
        pytest.param(lambda w: dot([w, w], [w, 2.0]), (0.75,), lambda w: [[2.0]], id="w w + 2 w"),
        pytest.param(_tanh_dot, (0.3, -1.25), _tanh_dot_hessian, id="tanh(w) x + 2 x^2"),
    ],
)
def test_dot_second_derivatives_with_constants_and_repeated_values(f, point, want) -> None:  # type: ignore[no-untyped-def]
    """``dot`` mixing Values and constants, and one Value in several places (in both vectors)."""
    expected = want(*point)
    by_hessian = hessian(lambda v: f(*v))(list(point))
    leaves = [Value(p) for p in point]
    by_backward = second_by_backward(f(*leaves), leaves)
    for got in (by_hessian, by_backward):
        for row, row_want in zip(got, expected):
            assert row == pytest.approx(row_want, rel=1e-15, abs=0.0)


@pytest.mark.parametrize(("x", "y"), [(2.0, 0.0), (0.5, 0.0), (3.0, 0.0)])
def test_pow_mixed_partial_at_a_zero_exponent(x: float, y: float) -> None:
    """d^2(x^y)/dx dy = x^(y-1) (1 + y ln x), which is 1/x at y = 0. The rule's d/dx returns the
    constant 0.0 when y == 0 (true in value: x^0 is flat in x), but a constant has no slope in y,
    so differentiating d/dx with respect to y must not give 0 there. The Hessian of a smooth
    function is symmetric: both mixed partials must agree."""
    want = x ** (y - 1.0) * (1.0 + y * math.log(x))
    h = hessian(lambda v: v[0] ** v[1])([x, y])
    assert h[1][0] == pytest.approx(want, rel=1e-14)
    assert h[0][1] == pytest.approx(want, rel=1e-14), f"H = {h}: d/dy (d x^y / dx) at {(x, y)}"


# --- higher orders: tanh against closed forms -------------------------------------------------


def _tanh_closed_forms(x: float) -> list[float]:
    """tanh and its first four derivatives in t = tanh x."""
    t = math.tanh(x)
    s = 1.0 - t * t
    return [t, s, -2.0 * t * s, s * (6.0 * t * t - 2.0), 8.0 * t * s * (2.0 - 3.0 * t * t)]


TANH_POINTS = (-1.5, -0.3, 0.0, 0.4, 1.2, 2.5)


@pytest.mark.parametrize("x", TANH_POINTS)
def test_tanh_derivatives_to_fourth_order_by_nested_grad(x: float) -> None:
    f: Callable[[Any], Any] = Value.tanh
    want = _tanh_closed_forms(x)
    for order in range(1, 5):
        f = grad(f)
        got = f(x)
        assert type(got) is float
        assert got == pytest.approx(want[order], rel=1e-12, abs=1e-14), f"tanh^({order})({x})"


@pytest.mark.parametrize("x", TANH_POINTS)
def test_tanh_derivatives_to_fourth_order_by_repeated_create_graph(x: float) -> None:
    """backward(create_graph=True) four times over: each gradient is a Value whose own
    backward gives the next derivative."""
    want = _tanh_closed_forms(x)
    v = Value(x)
    current = v.tanh()
    for order in range(1, 5):
        v.grad = 0.0
        current.backward(create_graph=True)
        current = v.grad
        assert isinstance(current, Value), f"order {order}: {current!r}"
        assert current.data == pytest.approx(want[order], rel=1e-12, abs=1e-14), f"tanh^({order})({x})"


@pytest.mark.parametrize("x", TANH_POINTS)
def test_tanh_derivatives_to_fourth_order_by_gradients(x: float) -> None:
    want = _tanh_closed_forms(x)
    v = Value(x)
    current = v.tanh()
    for order in range(1, 5):
        (current,) = gradients(current, [v], create_graph=True)
        assert current.data == pytest.approx(want[order], rel=1e-12, abs=1e-14), f"tanh^({order})({x})"
    assert v.grad == 0.0  # gradients() touches no .grad


def _tanh4(x: Any) -> Any:
    return x.tanh().tanh().tanh().tanh()


@pytest.mark.parametrize("x", TANH_POINTS)
def test_tanh_nested_four_times(x: float) -> None:
    """f = tanh(tanh(tanh(tanh x))): f' = prod_k (1 - t_k^2) with t_0 = tanh x, t_k = tanh t_(k-1)
    (closed form); f'' against finite differences of f' (as computed by backward)."""
    ts = [math.tanh(x)]
    for _ in range(3):
        ts.append(math.tanh(ts[-1]))
    want = math.prod(1.0 - t * t for t in ts)
    assert grad(_tanh4)(x) == pytest.approx(want, rel=1e-14)
    v = Value(x)
    _tanh4(v).backward(create_graph=True)
    assert isinstance(v.grad, Value)
    assert v.grad.data == pytest.approx(want, rel=1e-14)

    def slope(t: float) -> float:
        return float(grad(_tanh4)(t))

    second = grad(grad(_tanh4))(x)
    assert_matches_fd(second, slope, x, 1e-3, rtol=1e-8, what=f"(tanh^4)''({x})")
    g = v.grad
    v.grad = 0.0
    g.backward()
    assert v.grad == pytest.approx(second, rel=1e-13, abs=1e-15)


def test_third_order_of_a_polynomial_is_exact() -> None:
    """x^4: 4x^3, 12x^2, 24x, 24, then 0 -- small integers, exact in floating point."""
    f: Callable[[Any], Any] = lambda x: x**4
    want = [16.0, 32.0, 48.0, 48.0, 24.0, 0.0]
    for expected in want[1:]:
        f = grad(f)
        assert f(2.0) == expected


# --- gradients of gradients of an MLP loss ------------------------------------------------------

DATA = [([0.5, -1.0], 1.0), ([1.5, 0.3], -0.5), ([-0.7, 0.8], 0.2)]


def _mlp() -> nn.MLP:
    return nn.MLP(2, [3, 1], activation="tanh", seed=0)


def _loss(model: nn.MLP) -> Value:
    total: Any = 0.0
    for x, y in DATA:
        total = total + (model(x) - y) ** 2
    return total  # type: ignore[no-any-return]


def _squared_gradient_norm(model: nn.MLP) -> float:
    """|dL/dp|^2 from a plain first-order backward."""
    model.zero_grad()
    _loss(model).backward()
    return math.fsum(p.grad * p.grad for p in model.parameters())


def test_mlp_gradient_of_squared_gradient_norm_matches_finite_differences() -> None:
    """G(p) = sum_k (dL/dp_k)^2 from create_graph gradients; dG/dp_k by differentiating that
    graph, against a central difference of the first-order G in p_k, for every parameter."""
    model = _mlp()
    params = model.parameters()
    assert len(params) == 13
    loss = _loss(model)
    loss.backward(create_graph=True)
    grads = [p.grad for p in params]
    assert all(isinstance(g, Value) for g in grads)
    norm = sum((g * g for g in grads), Value(0.0))
    d_norm = gradients(norm, params)
    assert all(type(d) is float for d in d_norm)
    assert norm.data == pytest.approx(_squared_gradient_norm(model), rel=1e-14)

    for k, p in enumerate(params):
        original = p.data

        def g_of(t: float, p: Value = p, original: float = original) -> float:
            p.data = t
            try:
                return _squared_gradient_norm(model)
            finally:
                p.data = original

        assert_matches_fd(d_norm[k], g_of, original, 1e-4, rtol=1e-7, what=f"dG/dp{k}")


def test_mlp_gradient_of_squared_gradient_norm_is_twice_hessian_times_gradient() -> None:
    """d |g|^2 / dp = 2 H g: the create_graph route against ``hvp``, which never forms H."""
    model = _mlp()
    params = model.parameters()
    start = [p.data for p in params]
    model.zero_grad()
    _loss(model).backward()
    g = [p.grad for p in params]
    first = gradients(_loss(model), params, create_graph=True)
    norm = sum((x * x for x in first), Value(0.0))
    d_norm = gradients(norm, params)

    def loss_of(ps: list[Value]) -> Value:
        """The same network with its parameters replaced by ``ps``."""
        it = iter(ps)
        for layer in model.layers:
            for neuron in layer.neurons:
                neuron.w = [next(it) for _ in neuron.w]
                neuron.b = next(it)
        return _loss(model)

    value, (hg,) = hvp(loss_of, (start,), (g,))
    assert type(value) is float
    for k in range(len(params)):
        assert d_norm[k] == pytest.approx(2.0 * hg[k], rel=1e-12, abs=1e-15), k


# --- nesting with several arguments -----------------------------------------------------------


@pytest.mark.parametrize(("inner", "outer"), [(1, 0), (0, 1)])
def test_mixed_partial_by_nesting_grad_over_different_arguments(inner: int, outer: int) -> None:
    """f(x, y) = x y^2: d^2 f / dx dy = 2y. ``grad(grad(f, argnums=inner), argnums=outer)``: the
    inner gradient is called with a Value in position ``outer`` (from the outer transform), so it
    must return a Value that depends on it, not a float (which the outer grad sees as constant)."""

    def f(x: Any, y: Any) -> Any:
        return x * y**2

    x, y = 2.0, 3.0
    assert grad(grad(f, argnums=inner), argnums=outer)(x, y) == 2.0 * y


def test_mixed_partial_by_nesting_over_all_arguments() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * y**2

    dfdy = lambda x, y: grad(f, argnums=(0, 1))(x, y)[1]
    assert grad(dfdy, argnums=(0, 1))(2.0, 3.0) == (6.0, 4.0)


def test_nested_transforms_return_values() -> None:
    """Called with Values, a transform returns Values whose graph reaches those Values."""
    x = Value(0.5)
    value, slope = value_and_grad(lambda t: t.sin() * t)(x)
    assert isinstance(value, Value) and isinstance(slope, Value)
    assert slope.data == pytest.approx(math.cos(0.5) * 0.5 + math.sin(0.5), rel=1e-15)
    (second,) = gradients(slope, [x])
    assert second == pytest.approx(-math.sin(0.5) * 0.5 + 2.0 * math.cos(0.5), rel=1e-15)


# --- the guard: first order builds no graph ----------------------------------------------------


def test_first_order_backward_builds_no_graph() -> None:
    """With create_graph off (the default), every gradient is a plain float: no Value, no
    graph, on every node (leaves and intermediates)."""
    model = _mlp()
    loss = _loss(model)
    loss.backward()
    assert all(type(p.grad) is float for p in model.parameters())
    assert all(type(node.grad) is float for node in topological_order(loss))
    assert all(type(g) is float for g in gradients(loss, model.parameters()))


def test_first_order_backward_leaves_no_reference_cycles() -> None:
    """The first-order pass stores floats only, so the graph is still freed by reference
    counting alone: the cycle collector finds nothing after it. (With create_graph a gradient
    refers back to the nodes it was computed from, as in PyTorch: cycles are expected there.)"""
    gc.collect()
    gc.disable()
    try:
        model = _mlp()
        loss = _loss(model)
        loss.backward()
        gradients(loss, model.parameters())
        del model, loss
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_create_graph_gives_values() -> None:
    model = _mlp()
    loss = _loss(model)
    loss.backward(create_graph=True)
    assert all(isinstance(p.grad, Value) for p in model.parameters())
    assert all(isinstance(g, Value) for g in gradients(loss, model.parameters(), create_graph=True))


def test_create_graph_gradients_equal_first_order_ones() -> None:
    model = _mlp()
    _loss(model).backward()
    plain = [p.grad for p in model.parameters()]
    model.zero_grad()
    _loss(model).backward(create_graph=True)
    recorded = [p.grad.data for p in model.parameters()]
    assert recorded == pytest.approx(plain, rel=1e-14, abs=1e-16)


def test_create_graph_accumulates_into_leaves_like_backward() -> None:
    x = Value(1.5)
    (x * x).backward()
    (x * x * x).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert x.grad.data == 3.0 + 3.0 * 1.5**2
    (second,) = gradients(x.grad, [x])
    assert second == 6.0 * 1.5  # the float 3.0 accumulated before is a constant
