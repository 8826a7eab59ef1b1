"""Every rule in ``autodiff.RULES``: forward values against the ``math`` module, derivatives from
``backward()`` against central finite differences, exact subgradients at kinks, and the accuracy
of the saturating functions at their extremes (against 500-digit ``decimal`` references)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext

import pytest
from helpers import EPS, assert_matches_fd, leaky_relu, relu, step_for

from autodiff import RULES, Value

# --- the tables: how to reach each rule through the public API, and where to test it ----------


@dataclass(frozen=True)
class Unary:
    apply: Callable[[Value], Value]
    reference: Callable[[float], float] | None
    """The ``math`` module's value, expected bit for bit (None: see the decimal references)."""
    relative: bool
    """Finite-difference steps scale with |x| (power-like) rather than absolutely."""
    points: tuple[float, ...]
    singular: tuple[float, ...] = ()


UNARY: dict[str, Unary] = {
    "neg": Unary(operator.neg, operator.neg, True, (-1e300, -3.5, -1e-9, 0.0, 1e-9, 2.0, 1e300)),
    "abs": Unary(abs, abs, True, (-1e300, -5.0, -1e-3, -1e-12, 1e-12, 1e-3, 5.0, 1e300), (0.0,)),
    "exp": Unary(
        Value.exp, math.exp, False, (-700.0, -30.0, -1.0, -1e-9, 0.0, 1e-9, 0.5, 30.0, 700.0, 709.7)
    ),
    "log": Unary(
        Value.log, math.log, True, (1e-300, 1e-8, 1e-3, 0.5, 1.0, 2.0, 1e8, 1e300), (0.0,)
    ),
    "sqrt": Unary(Value.sqrt, math.sqrt, True, (1e-300, 1e-8, 0.25, 2.0, 1e8, 1e300), (0.0,)),
    "tanh": Unary(Value.tanh, math.tanh, False, (-30.0, -5.0, -1.0, -1e-9, 0.0, 1e-9, 0.5, 5.0, 30.0)),
    "sigmoid": Unary(Value.sigmoid, None, False, (-30.0, -5.0, -1.0, 0.0, 0.5, 5.0, 30.0)),
    "relu": Unary(Value.relu, relu, True, (-1e300, -2.0, -1e-12, 1e-12, 2.0, 1e300), (0.0,)),
    "softplus": Unary(Value.softplus, None, False, (-30.0, -5.0, -1.0, 0.0, 1.0, 5.0, 30.0)),
    "sin": Unary(Value.sin, math.sin, False, (-100.0, -3.0, -1.0, 0.0, 0.5, math.pi / 2, 3.0, 100.0)),
    "cos": Unary(Value.cos, math.cos, False, (-100.0, -3.0, -1.0, 0.0, 0.5, math.pi / 2, 3.0, 100.0)),
}

ALL_FORMS = ("Value-Value", "Value-constant", "constant-Value")


@dataclass(frozen=True)
class Binary:
    apply: Callable[[object, object], Value]
    reference: Callable[[float, float], float]
    relative: tuple[bool, bool]
    points: tuple[tuple[float, float], ...]
    forms: tuple[str, ...] = ALL_FORMS


SIMPLE_POINTS = ((1.5, -2.25), (-1e-9, 3.0), (0.0, 0.0), (7.0, 1e-300), (1e150, -1e150))

BINARY: dict[str, Binary] = {
    "add": Binary(operator.add, operator.add, (True, True), SIMPLE_POINTS),
    "sub": Binary(operator.sub, operator.sub, (True, True), SIMPLE_POINTS),
    "mul": Binary(operator.mul, operator.mul, (True, True), SIMPLE_POINTS),
    "div": Binary(
        operator.truediv, operator.truediv, (True, True),
        ((1.0, 3.0), (-2.5, 1e-8), (7.0, -4.0), (1e-300, 1e-300), (1e300, 10.0), (0.0, 2.0)),
    ),
    "pow": Binary(
        operator.pow, math.pow, (True, False),
        ((2.0, 3.0), (0.5, -1.5), (3.0, 0.5), (1e-8, 0.5), (1.5, 40.0), (2.0, 0.0), (0.0, 2.0),
         (7.0, 1e-9)),
    ),
    "leaky_relu": Binary(
        lambda x, slope: x.leaky_relu(slope),  # type: ignore[attr-defined]
        leaky_relu, (True, True),
        ((-2.0, 0.01), (-1e-12, 0.2), (1e-12, 0.2), (3.0, 0.01), (-5.0, -0.5), (-1e300, 0.01)),
        forms=("Value-Value", "Value-constant"),  # the slope method needs a Value to call it on
    ),
}
# A negative base needs an integer exponent and has no derivative in the exponent: only the
# base can be a Value there.
NEGATIVE_BASE_POWERS = ((-2.0, 3.0), (-1.5, -2.0), (-0.5, 2.0))


VECTOR = ("dot",)
"""Rules over two vectors, tested below."""


def test_the_tables_cover_every_rule() -> None:
    """A rule added to RULES without a row here must fail this suite, not slip past it."""
    assert set(UNARY) | set(BINARY) | set(VECTOR) == set(RULES)
    assert not set(UNARY) & set(BINARY)
    for name in UNARY:
        assert RULES[name].arity == 1, name
    for name in BINARY:
        assert RULES[name].arity == 2, name


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_metadata(name: str) -> None:
    rule = RULES[name]
    assert rule.name == name
    assert rule.arity in (1, 2)
    assert len(rule.partials) == rule.arity
    assert all(callable(p) for p in rule.partials)
    assert callable(rule.forward)
    assert isinstance(rule.symbol, str) and rule.symbol
    assert isinstance(rule.math, str) and rule.math
    assert isinstance(rule.domain, str) and rule.domain


# --- forward values ----------------------------------------------------------------------------

UNARY_POINTS = [(n, x) for n, case in UNARY.items() for x in case.points]
BINARY_POINTS = [(n, x, y) for n, case in BINARY.items() for x, y in case.points] + [
    ("pow", x, y) for x, y in NEGATIVE_BASE_POWERS
]


@pytest.mark.parametrize(("name", "x"), UNARY_POINTS)
def test_unary_forward_records_the_rule(name: str, x: float) -> None:
    v = Value(x)
    out = UNARY[name].apply(v)
    assert type(out) is Value
    assert type(out.data) is float
    assert out.op is RULES[name]
    assert out.inputs == (v,)
    assert out.inputs[0] is v
    assert not out.is_leaf


@pytest.mark.parametrize(
    ("name", "x"), [(n, x) for n, x in UNARY_POINTS if UNARY[n].reference is not None]
)
def test_unary_forward_equals_math_exactly(name: str, x: float) -> None:
    reference = UNARY[name].reference
    assert reference is not None
    assert UNARY[name].apply(Value(x)).data == reference(x)


@pytest.mark.parametrize(("name", "x", "y"), BINARY_POINTS)
def test_binary_forward_equals_python_exactly(name: str, x: float, y: float) -> None:
    case = BINARY[name]
    a, b = Value(x), Value(y)
    out = case.apply(a, b)
    assert out.data == case.reference(x, y)
    assert out.op is RULES[name]
    assert out.inputs[0] is a and out.inputs[1] is b


def _decimal_sigmoid(x: float) -> float:
    with localcontext() as ctx:
        ctx.prec = 500  # enough that 1 + e^-1000 keeps its tail
        return float(1 / (1 + (-Decimal(x)).exp()))


def _decimal_softplus(x: float) -> float:
    with localcontext() as ctx:
        ctx.prec = 500  # enough that 1 + e^-1000 keeps its tail
        return float((1 + Decimal(x).exp()).ln())


STABLE_POINTS = (-1000.0, -745.0, -700.0, -40.0, -30.0, -5.0, -1.0, -1e-9, 0.0, 1e-9, 0.5, 1.0, 5.0,
                 30.0, 40.0, 700.0, 1000.0)


@pytest.mark.parametrize(
    ("name", "reference"), [("sigmoid", _decimal_sigmoid), ("softplus", _decimal_softplus)]
)
@pytest.mark.parametrize("x", STABLE_POINTS)
def test_stable_formulas_are_accurate_and_never_overflow(name: str, reference, x: float) -> None:  # type: ignore[no-untyped-def]
    """Within 4 ulp of the exact value, at every magnitude, without raising."""
    got = UNARY[name].apply(Value(x)).data
    want = reference(x)
    assert math.isfinite(got)
    assert got == pytest.approx(want, rel=4 * EPS, abs=1e-320)


@pytest.mark.parametrize(
    ("name", "x", "want"),
    [("sigmoid", -1000.0, 0.0), ("sigmoid", 1000.0, 1.0), ("softplus", 1000.0, 1000.0),
     ("softplus", -1000.0, 0.0), ("tanh", 1000.0, 1.0), ("tanh", -1000.0, -1.0),
     ("sigmoid", 1e308, 1.0), ("softplus", 1e308, 1e308), ("softplus", -1e308, 0.0)],
)
def test_saturation_is_finite_and_differentiable(name: str, x: float, want: float) -> None:
    v = Value(x)
    out = UNARY[name].apply(v)
    assert out.data == want
    out.backward()
    assert math.isfinite(v.grad)
    # the slope of a saturated function is 0, that of softplus at +inf is 1
    assert v.grad == (1.0 if (name == "softplus" and x > 0) else 0.0)


# --- derivatives against finite differences ------------------------------------------------


@pytest.mark.parametrize(("name", "x"), UNARY_POINTS)
def test_unary_derivative_matches_finite_differences(name: str, x: float) -> None:
    case = UNARY[name]
    v = Value(x)
    out = case.apply(v)
    out.backward()
    assert out.grad == 1.0
    h = step_for(x, case.relative, case.singular)
    assert_matches_fd(v.grad, lambda t: case.apply(Value(t)).data, x, h, what=f"{name}'({x!r})")


def _binary_cases():  # type: ignore[no-untyped-def]
    for name, case in BINARY.items():
        for form in case.forms:
            for x, y in case.points:
                yield pytest.param(name, form, x, y, id=f"{name}-{form}-{x!r}-{y!r}")
    for x, y in NEGATIVE_BASE_POWERS:
        yield pytest.param("pow", "Value-constant", x, y, id=f"pow-Value-constant-{x!r}-{y!r}")


@pytest.mark.parametrize(("name", "form", "x", "y"), list(_binary_cases()))
def test_binary_derivatives_match_finite_differences(name: str, form: str, x: float, y: float) -> None:
    """Both partials of every binary rule, with each operand a Value or a folded constant:
    ``v + w``, ``v + 2``, ``2 + v``, ``3 - v``, ``1 / v``, ``2 ** v``, ``v ** w``, ..."""
    case = BINARY[name]
    a: object = Value(x) if form != "constant-Value" else x
    b: object = Value(y) if form != "Value-constant" else y
    out = case.apply(a, b)
    assert out.op is RULES[name]
    assert out.inputs[0] is a or out.inputs[0] == a
    assert out.inputs[1] is b or out.inputs[1] == b
    assert len([n for n in out.inputs if isinstance(n, Value)]) == (2 if form == "Value-Value" else 1)
    out.backward()

    if isinstance(a, Value):
        h = step_for(x, case.relative[0], _singular_x(name, y))
        assert_matches_fd(a.grad, lambda t: case.apply(Value(t), Value(y)).data, x, h,
                          what=f"d {name}(x, y) / dx at {(x, y)!r}")
    if isinstance(b, Value):
        h = step_for(y, case.relative[1], _singular_y(name, x))
        assert_matches_fd(b.grad, lambda t: case.apply(Value(x), Value(t)).data, y, h,
                          what=f"d {name}(x, y) / dy at {(x, y)!r}")


def _singular_x(name: str, y: float) -> tuple[float, ...]:
    if name == "leaky_relu" or (name == "pow" and y != int(y)):
        return (0.0,)
    return ()


def _singular_y(name: str, x: float) -> tuple[float, ...]:
    return (0.0,) if name == "div" or (name == "pow" and x == 0.0) else ()


@pytest.mark.parametrize(("x", "y"), [(2.0, 3.0), (0.5, -1.5), (3.0, 0.5)])
def test_pow_with_value_exponent_matches_closed_form(x: float, y: float) -> None:
    """Hand-derived: d(x^y)/dx = y x^(y-1), d(x^y)/dy = x^y ln x."""
    a, b = Value(x), Value(y)
    (a**b).backward()
    assert a.grad == pytest.approx(y * x ** (y - 1), rel=4 * EPS, abs=0.0)
    assert b.grad == pytest.approx(x**y * math.log(x), rel=4 * EPS, abs=0.0)


# --- kinks: the exact subgradients -----------------------------------------------------------


@pytest.mark.parametrize("zero", [0.0, -0.0])
@pytest.mark.parametrize(
    ("apply", "value", "slope"),
    [
        pytest.param(Value.relu, 0.0, 0.0, id="relu"),
        pytest.param(abs, 0.0, 0.0, id="abs"),
        pytest.param(Value.leaky_relu, 0.0, 0.01, id="leaky_relu-default"),
        pytest.param(lambda v: v.leaky_relu(0.3), 0.0, 0.3, id="leaky_relu-0.3"),
        pytest.param(lambda v: v.leaky_relu(-2), 0.0, -2.0, id="leaky_relu-int"),
    ],
)
def test_subgradient_at_the_kink(apply, value: float, slope: float, zero: float) -> None:  # type: ignore[no-untyped-def]
    """relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope (PyTorch's choices), also at -0.0."""
    v = Value(zero)
    out = apply(v)
    assert out.data == value
    out.backward()
    assert v.grad == slope


def test_leaky_relu_with_value_slope_at_the_kink() -> None:
    x, slope = Value(0.0), Value(0.25)
    x.leaky_relu(slope).backward()
    assert x.grad == 0.25
    assert slope.grad == 0.0  # d/dslope = x = 0


@pytest.mark.parametrize(("x", "slope_grad"), [(-3.0, -3.0), (2.0, 0.0)])
def test_leaky_relu_slope_gradient(x: float, slope_grad: float) -> None:
    v, slope = Value(x), Value(0.1)
    v.leaky_relu(slope).backward()
    assert slope.grad == slope_grad
    assert v.grad == (1.0 if x > 0 else 0.1)


def test_zero_to_the_zero_has_zero_slope_in_the_base() -> None:
    """x ** 0 is the constant 1, so d/dx = 0 everywhere, at x = 0 too (PyTorch gives 0; the rule
    allows x = 0 with y >= 0)."""
    x = Value(0.0)
    out = x**0
    assert out.data == 1.0
    out.backward()
    assert x.grad == 0.0


def test_zero_base_with_value_exponent_takes_the_limit() -> None:
    """d(0^y)/dy = lim x->0+ x^y ln x = 0 for y > 0; d/dx = y 0^(y-1) = 0 for y > 1."""
    x, y = Value(0.0), Value(2.0)
    (x**y).backward()
    assert y.grad == 0.0
    assert x.grad == 0.0


# --- accuracy at the extremes ------------------------------------------------------------------


def _decimal_derivative(name: str, x: float) -> float:
    with localcontext() as ctx:
        ctx.prec = 500  # enough that 1 + e^-1000 keeps its tail
        d = Decimal(x)
        if name == "sigmoid":
            e = (-d).exp()
            return float(e / (1 + e) ** 2)
        if name == "softplus":
            return float(1 / (1 + (-d).exp()))
        if name == "tanh":
            return float(4 / (d.exp() + (-d).exp()) ** 2)
        if name == "exp":
            return float(d.exp())
        if name == "log":
            return float(1 / d)
        raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "x"),
    [("sigmoid", -30.0), ("sigmoid", 30.0), ("softplus", -30.0), ("softplus", 30.0),
     ("tanh", -30.0), ("tanh", 30.0), ("exp", 700.0), ("exp", -700.0), ("log", 1e-8),
     ("log", 1e300)],
)
def test_derivative_relative_accuracy_at_extremes(name: str, x: float) -> None:
    """At +-30 the saturating functions' slopes are tiny (sigmoid'(30) ~ 9.4e-14, tanh'(30) ~
    3.5e-26) but perfectly representable; finite differences cannot resolve them, so the
    reference is a 500-digit ``decimal`` evaluation. Relative tolerance 1e-6, as elsewhere."""
    v = Value(x)
    UNARY[name].apply(v).backward()
    want = _decimal_derivative(name, x)
    assert v.grad == pytest.approx(want, rel=1e-6, abs=0.0), f"{name}'({x}) = {v.grad!r}, exact {want!r}"


# --- dot: the rule over two vectors --------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 17])
@pytest.mark.parametrize("constants", ["none", "inputs", "mixed"])
def test_dot_matches_its_binary_expansion_and_finite_differences(n: int, constants: str) -> None:
    """dot(w, x) = sum_i w_i x_i as one node: the value and every element's gradient agree with
    finite differences; constants (plain numbers) in either vector get no gradient."""
    import random

    from autodiff import dot

    rng = random.Random(n)
    w_data = [rng.uniform(-2, 2) for _ in range(n)]
    x_data = [rng.uniform(-2, 2) for _ in range(n)]
    ws: list[Value | float] = [Value(v) for v in w_data]
    xs: list[Value | float] = [Value(v) if constants == "none" else v for v in x_data]
    if constants == "mixed":
        ws[0] = w_data[0]
        xs[-1] = Value(x_data[-1])
    out = dot(ws, xs).tanh()
    assert out.data == math.tanh(sum(a * b for a, b in zip(w_data, x_data)))
    out.backward()

    def f_of(vector: list[float], i: int) -> Callable[[float], float]:
        def f(t: float) -> float:
            moved = [*vector]
            moved[i] = t
            other = x_data if vector is w_data else w_data
            return math.tanh(sum(a * b for a, b in zip(moved, other)))

        return f

    for vector, values in ((w_data, ws), (x_data, xs)):
        for i, v in enumerate(values):
            if isinstance(v, Value):
                assert_matches_fd(v.grad, f_of(vector, i), vector[i], 1e-4, what=f"dot element {i}")


def test_dot_rejects_bad_vectors() -> None:
    from autodiff import DomainError, dot

    with pytest.raises(ValueError, match="one length"):
        dot([Value(1.0)], [1.0, 2.0])
    with pytest.raises(ValueError, match="one length"):
        dot([], [])
    with pytest.raises(TypeError, match="str"):
        dot([Value(1.0)], ["x"])
    with pytest.raises(DomainError, match="nan"):
        dot([Value(1.0)], [math.nan])
    with pytest.raises(TypeError, match="weights must be a sequence, got Value"):
        dot(Value(1.0), [1.0])
    with pytest.raises(TypeError, match="inputs must be a sequence, got int"):
        dot([Value(1.0)], 3)


@pytest.mark.parametrize("seed", range(6))
def test_dot_backward_equals_the_rules_partials(seed: int) -> None:
    """``backward()`` applies DOT's partials inline (``value._propagate_dot``); the general chain
    rule (``gradients``) reads them from ``rules.DOT``. On graphs with constants in either
    vector, a Value in both vectors (``dot(d, d)``), leaves and operation nodes as elements, and
    nested dots, the two agree to rounding (they add the same terms in different orders)."""
    import random

    from autodiff import dot, gradients

    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-2, 2), label=f"x{i}") for i in range(5)]
    inner = [v.tanh() for v in leaves[:3]] + [leaves[3] * leaves[4]]
    pool: list[Value | float] = [*leaves, *inner, 0.5, -1.5]
    sums = []
    for _ in range(4):
        n = rng.randint(1, 6)
        sums.append(dot(rng.choices(pool, k=n), rng.choices(pool, k=n)))
    diffs = [s - leaves[0] for s in sums]
    out = dot(diffs, diffs) + dot(sums, [1.0] * len(sums))
    out.backward()
    want = gradients(out, leaves)
    assert [v.grad for v in leaves] == pytest.approx(want, rel=1e-13, abs=1e-13)
    assert any(w != 0.0 for w in want)


def test_matvec_is_one_dot_per_row() -> None:
    """``matvec(W, x)`` = ``[dot(row, x) for row in W]``: the same numbers, nodes and gradients;
    every row reads the one vector."""
    from autodiff import dot, matvec

    x = [Value(0.5), Value(-2.0), 1.0]
    W = [[Value(1.0), Value(2.0), Value(3.0)], [Value(-1.0), 0.25, Value(4.0)]]
    rows = matvec(W, x)
    assert [r.data for r in rows] == [dot(w, x).data for w in W] == [0.5 - 4.0 + 3.0, -0.5 - 0.5 + 4.0]
    assert all(r.op is not None and r.op.name == "dot" and r.inputs[len(x):] == tuple(x) for r in rows)
    (rows[0] * 2.0 + rows[1]).backward()
    # d/dx_i = 2 W_0i + W_1i; d/dW_ji = (2, 1)_j x_i
    assert [v.grad for v in x[:2]] == [2 * 1.0 - 1.0, 2 * 2.0 + 0.25]
    assert [w.grad for w in W[0]] == [2 * 0.5, 2 * -2.0, 2 * 1.0]
    assert [W[1][0].grad, W[1][2].grad] == [0.5, 1.0]
    assert matvec([], x) == []


def test_matvec_names_the_bad_row() -> None:
    from autodiff import matvec

    with pytest.raises(ValueError, match=r"matvec\(\) needs two vectors of one length >= 1, got 1 and 2"):
        matvec([[Value(1.0), 2.0], [Value(1.0)]], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"matvec\(\) weights must be a sequence, got float"):
        matvec([1.0], [1.0])
    with pytest.raises(TypeError, match=r"matvec\(\) weights must be Values or numbers, got NoneType"):
        matvec([[None]], [Value(1.0)])


# --- the rules' code text: the same float operations as their functions ----------------------


def _same_bits(a: float, b: float) -> bool:
    """Equal as IEEE doubles, down to the sign of zero."""
    import struct

    return struct.pack("<d", a) == struct.pack("<d", b)


def _evaluate(text: str, **names: float) -> float:
    from autodiff.rules import CODE_NAMES

    result: float = eval(text, dict(CODE_NAMES), names)
    return result


def _code_points(name: str) -> list[tuple[float, ...]]:
    """Points inside the rule's domain: the rule's table rows, a few kinks and random points."""
    import random

    rng = random.Random(name)
    if name in UNARY:
        points = [(x,) for x in (*UNARY[name].points, *UNARY[name].singular)]
        points += [(rng.uniform(-20, 20),) for _ in range(40)]
        if name in ("log", "sqrt"):
            points = [(abs(x) or 1e-300,) for (x,) in points]
        return points
    if name == "dot":
        return [(rng.uniform(-5, 5), rng.uniform(-5, 5)) for _ in range(40)] + [(0.0, -0.0), (-0.0, 2.0)]
    points = [*BINARY[name].points, *(NEGATIVE_BASE_POWERS if name == "pow" else ())]
    pairs = [(rng.uniform(-20, 20), rng.uniform(-20, 20)) for _ in range(40)]
    if name == "pow":
        pairs = [(abs(x), y / 4) for x, y in pairs] + [(rng.uniform(-3, 3), float(rng.randint(-3, 3)))
                                                      for _ in range(20)]
    if name == "div":
        pairs = [(x, y or 1.0) for x, y in pairs]
    return [*points, *pairs, (0.0, 0.0) if name not in ("div",) else (0.0, 1.0)]


@pytest.mark.parametrize("name", sorted(RULES))
def test_code_text_does_the_float_operations_of_the_functions(name: str) -> None:
    """Every built-in rule's ``code`` evaluates, bit for bit, to its ``forward`` and ``partials``
    on the same floats (the promise compiled programs are built on), wherever the functions give
    a number; where a function raises, the code raises too."""
    rule = RULES[name]
    assert rule.code is not None
    checked = 0
    for point in _code_points(name):
        names = dict(zip(("x", "y"), point))
        try:
            out = rule.forward([point[0]], [point[1]]) if name == "dot" else rule.forward(*point)
        except (ArithmeticError, ValueError):
            with pytest.raises((ArithmeticError, ValueError)):
                _evaluate(rule.code.forward, **names)
            continue
        code_out = _evaluate(rule.code.forward, **names)
        assert _same_bits(code_out, out), (name, point, code_out, out)
        for i, (partial, text) in enumerate(zip(rule.partials, rule.code.partials)):
            args = ([point[0]], [point[1]], out) if name == "dot" else (*point, out)
            try:
                want = partial(*args)
            except (ArithmeticError, ValueError):
                with pytest.raises((ArithmeticError, ValueError)):
                    _evaluate(text, **names, out=out)
                continue
            want = want[0] if name == "dot" else want
            got = _evaluate(text, **names, out=out)
            assert _same_bits(got, want), (name, i, point, got, want)
            checked += 1
    assert checked >= 20


def test_a_rule_must_be_well_formed() -> None:
    """A rule of one's own is checked when it is made: each field's type, one partial per input
    (1 or 2), and functions that take the right number of arguments."""
    from autodiff import Rule
    from autodiff.rules import Code

    def forward(x: float) -> float:
        return 2 * x

    ok = Rule("double", "2·", forward, (lambda x, out: 2.0,), "2x;  d/dx = 2")
    assert ok.arity == 1 and ok.code is None
    with pytest.raises(TypeError, match=r"Rule\(\) partials must be a tuple of one function per input"):
        Rule("double", "2·", forward, (lambda x, out: 2.0,) * 3, "2x")
    with pytest.raises(TypeError, match=r"Rule\(\) partials must be a tuple"):
        Rule("double", "2·", forward, lambda x, out: 2.0, "2x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Rule\(\) partials\[0\] must take 2 arguments"):
        Rule("double", "2·", forward, (lambda x: 2.0,), "2x")
    with pytest.raises(TypeError, match=r"Rule\(\) forward must take 1 arguments"):
        Rule("double", "2·", lambda x, y: x, (lambda x, out: 2.0,), "2x")
    with pytest.raises(TypeError, match=r"Rule\(\) partials\[0\] must be a function"):
        Rule("double", "2·", forward, (2.0,), "2x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Rule\(\) name must be a non-empty str"):
        Rule("", "2·", forward, (lambda x, out: 2.0,), "2x")
    with pytest.raises(ValueError, match=r"Rule\(\) code has 2 partials for 1 inputs"):
        Rule("double", "2·", forward, (lambda x, out: 2.0,), "2x", code=Code("2 * x", ("2.0", "0.0")))
