"""``Value`` itself: construction, mixing with numbers, constant folding, type errors,
comparisons, identity, repr, and every domain error with the content of its message."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest

import autodiff
from autodiff import DomainError, Value, topological_order

# --- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (3, 3.0),
        (-2.5, -2.5),
        (0, 0.0),
        (True, 1.0),
        (False, 0.0),
        (np.float64(0.1), 0.1),
        (np.float32(0.1), float(np.float32(0.1))),
        (np.int64(-7), -7.0),
        (np.int32(5), 5.0),
        (Fraction(1, 4), 0.25),
        (2**53 + 1, float(2**53 + 1)),
    ],
)
def test_construction_stores_a_plain_float(number: object, expected: float) -> None:
    v = Value(number)  # type: ignore[arg-type]
    assert type(v.data) is float
    assert v.data == expected
    assert type(v.grad) is float and v.grad == 0.0
    assert v.label is None
    assert v.op is None
    assert v.inputs == ()
    assert v.is_leaf


def test_label_is_kept() -> None:
    v = Value(1.0, label="w1")
    assert v.label == "w1"
    assert Value(1.0, "b").label == "b"


@pytest.mark.parametrize("bad", ["1.0", None, 1j, [1.0], (1.0,), {"x": 1}, object()])
def test_construction_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)  # type: ignore[arg-type]


def test_construction_from_a_value_is_rejected_or_copies() -> None:
    """Value(Value) is not a real number; either refusing it or copying its data is acceptable,
    silently sharing a graph node is not."""
    v = Value(2.0)
    try:
        w = Value(v)  # type: ignore[arg-type]
    except TypeError:
        return
    assert w is not v and w.data == 2.0 and w.is_leaf


@pytest.mark.parametrize("bad", [3, 1.5, b"w", ["w"]])
def test_label_must_be_a_string(bad: object) -> None:
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=bad)  # type: ignore[arg-type]


def test_float_conversion() -> None:
    assert float(Value(2.5)) == 2.5
    assert math.sqrt(Value(4.0)) == 2.0  # type: ignore[arg-type]


# --- mixing with numbers and constant folding ------------------------------------------------

OPERATORS: dict[str, Callable[[object, object], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
RULE_OF = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}
SLOPES: dict[str, tuple[Callable[[float, float], float], Callable[[float, float], float]]] = {
    # hand-derived d/dv of (v op c) and of (c op v)
    "+": (lambda v, c: 1.0, lambda v, c: 1.0),
    "-": (lambda v, c: 1.0, lambda v, c: -1.0),
    "*": (lambda v, c: c, lambda v, c: c),
    "/": (lambda v, c: 1.0 / c, lambda v, c: -c / v**2),
    "**": (lambda v, c: c * v ** (c - 1.0), lambda v, c: c**v * math.log(c)),
}
CONSTANTS = [3, 2.5, True, np.float64(2.5), np.float32(0.5), np.int64(3), Fraction(3, 2)]


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("constant", CONSTANTS, ids=lambda c: f"{type(c).__name__}({c})")
@pytest.mark.parametrize("side", ["value-left", "value-right"])
def test_numbers_fold_in_as_constants(symbol: str, constant: object, side: str) -> None:
    """``v op c`` and ``c op v`` for every kind of number: one new node whose inputs are the
    Value and the constant as a plain Python number (no numpy scalar, no extra node), with the
    data of the same float arithmetic."""
    op = OPERATORS[symbol]
    v = Value(1.5, "v")
    out = op(v, constant) if side == "value-left" else op(constant, v)
    assert type(out) is Value
    assert out.op is autodiff.RULES[RULE_OF[symbol]]

    c = float(constant)  # type: ignore[arg-type]
    expected = op(1.5, c) if side == "value-left" else op(c, 1.5)
    assert out.data == expected

    folded = out.inputs[1] if side == "value-left" else out.inputs[0]
    node = out.inputs[0] if side == "value-left" else out.inputs[1]
    assert node is v
    assert type(folded) in (int, float), f"constant kept as {type(folded).__name__}"
    assert folded == c
    assert topological_order(out) == [v, out]  # the constant is not a node

    out.backward()
    slope = SLOPES[symbol][0 if side == "value-left" else 1](1.5, c)
    assert v.grad == pytest.approx(slope, rel=1e-15, abs=0.0)


def test_documented_folding_examples() -> None:
    v, w = Value(2.0), Value(3.0)
    assert (v * 2).inputs == (v, 2)
    assert (2 * v).inputs == (2, v)
    assert (3 - v).inputs == (3, v)
    assert (1 / v).inputs == (1, v)
    assert (2**v).inputs == (2, v)
    assert (v**w).inputs == (v, w)
    assert (v - w).inputs[0] is v and (v - w).inputs[1] is w
    assert (-v).inputs == (v,)
    assert v.exp().inputs == (v,)
    assert v.leaky_relu().inputs == (v, 0.01)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda v: 3 - v, 1.0),
        (lambda v: v - 3, -1.0),
        (lambda v: 1 / v, 0.5),
        (lambda v: v / 4, 0.5),
        (lambda v: 2**v, 4.0),
        (lambda v: v**3, 8.0),
        (lambda v: -v, -2.0),
        (lambda v: abs(-v), 2.0),
        (lambda v: v + v * v, 6.0),
    ],
)
def test_non_commutative_operators_keep_operand_order(expression, expected: float) -> None:  # type: ignore[no-untyped-def]
    assert expression(Value(2.0)).data == expected


def test_values_combine_with_values() -> None:
    a, b = Value(6.0, "a"), Value(4.0, "b")
    for symbol, op in OPERATORS.items():
        out = op(a, b)
        assert isinstance(out, Value)
        assert out.inputs == (a, b), symbol
        assert out.data == op(6.0, 4.0)


# --- type errors -----------------------------------------------------------------------------

FOREIGN = ["text", None, 2j, [1.0], (1.0,), {"k": 1}]
ALL_OPERATORS = {**OPERATORS, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _apply(symbol: str, side: str, v: Value, other: object) -> object:
    op = ALL_OPERATORS[symbol]
    return op(v, other) if side == "value-left" else op(other, v)


@pytest.mark.parametrize("symbol", ALL_OPERATORS)
@pytest.mark.parametrize("other", FOREIGN, ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("side", ["value-left", "value-right"])
def test_foreign_operands_raise_type_error(symbol: str, other: object, side: str) -> None:
    with pytest.raises(TypeError):
        _apply(symbol, side, Value(2.0), other)


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("other", ["text", None, 2j, [1.0]], ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("side", ["value-left", "value-right"])
def test_type_error_message_names_the_type_and_the_operator(symbol: str, other: object, side: str) -> None:
    """The contract: the TypeError names the foreign type and the operator."""
    with pytest.raises(TypeError) as info:
        _apply(symbol, side, Value(2.0), other)
    message = str(info.value)
    assert type(other).__name__ in message, message
    assert symbol in message, message


@pytest.mark.parametrize("other", FOREIGN, ids=lambda o: type(o).__name__)
def test_unary_methods_and_backward_reject_foreign_types(other: object) -> None:
    v = Value(-1.0)
    with pytest.raises(TypeError, match=type(other).__name__):
        v.leaky_relu(other)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=type(other).__name__):
        v.backward(other)  # type: ignore[arg-type]
    assert v.grad == 0.0


# --- comparisons, identity, hashing, repr ---------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "op"), [("<", operator.lt), ("<=", operator.le), (">", operator.gt), (">=", operator.ge)]
)
@pytest.mark.parametrize("x", [-1.0, 2.0, 3.0])
@pytest.mark.parametrize("y", [2.0, 2, np.float64(2.0), np.int64(2), True])
def test_comparisons_compare_data_and_return_bool(symbol: str, op, x: float, y: object) -> None:  # type: ignore[no-untyped-def]
    yf = float(y)  # type: ignore[arg-type]
    for result, want in [
        (op(Value(x), Value(yf)), op(x, yf)),
        (op(Value(x), y), op(x, yf)),
        (op(x, Value(yf)), op(x, yf)),
        (op(np.float64(x), Value(yf)), op(x, yf)),  # numpy's operator first, then the reflection
    ]:
        assert type(result) is bool, symbol
        assert result == want, symbol


def test_sorting_and_min_max_use_data() -> None:
    values = [Value(x) for x in (3.0, -1.0, 2.0)]
    assert [v.data for v in sorted(values)] == [-1.0, 2.0, 3.0]
    assert max(values).data == 3.0
    assert min(values) is values[1]


def test_equality_is_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a == a
    assert a != b
    assert (a == b) is False
    assert a != 1.0
    assert (a == 1.0) is False
    assert a in [b, a]
    assert [a].index(a) == 0


def test_values_are_hashable_by_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert len({a, b}) == 2
    assert len({a, a}) == 1
    table = {a: "a", b: "b"}
    a.data = 99.0  # mutating data does not move the key
    a.grad = 5.0
    assert table[a] == "a" and table[b] == "b"
    assert hash(a) == hash(a)


def test_repr_shows_data_grad_label_and_op() -> None:
    leaf = Value(1.5, "w1")
    text = repr(leaf)
    assert "Value(" in text and "1.5" in text and "w1" in text and "grad" in text
    node = leaf * 2.0
    node.backward()
    text = repr(node)
    assert "3.0" in text and "mul" in text
    assert "w1" in repr(leaf) and "2.0" in repr(leaf)  # leaf.grad is now 2.0
    assert "label" not in repr(Value(0.25))
    assert "0.25" in repr(Value(0.25))


# --- domain errors -------------------------------------------------------------------------


def test_domain_error_is_both_value_error_and_arithmetic_error() -> None:
    assert issubclass(DomainError, ValueError)
    assert issubclass(DomainError, ArithmeticError)
    assert autodiff.DomainError is DomainError


def _log(x: float, label: str) -> Value:
    return Value(x, label).log()


DOMAIN_ERRORS = [
    # (id, thunk, operation name, offending value as shown, label)
    ("log-negative", lambda: _log(-1.0, "z2"), "log", "-1.0", "z2"),
    ("log-zero", lambda: _log(0.0, "z"), "log", "0.0", "z"),
    ("log-tiny-negative", lambda: _log(-1e-300, "t"), "log", "-1e-300", "t"),
    ("sqrt-negative", lambda: Value(-4.0, "s").sqrt(), "sqrt", "-4.0", "s"),
    ("pow-zero-to-minus-one", lambda: Value(0.0, "base") ** -1, "pow", "0.0", "base"),
    ("pow-constant-zero-base", lambda: 0 ** Value(-1.0, "e"), "pow", "-1.0", "e"),
    ("pow-value-value", lambda: Value(0.0, "b") ** Value(-2.0, "e"), "pow", "-2.0", "e"),
    ("pow-negative-base-fraction", lambda: Value(-8.0, "n") ** (1 / 3), "pow", "-8.0", "n"),
    ("pow-overflow", lambda: Value(10.0, "p") ** 400, "pow", "10.0", "p"),
    ("div-by-zero-constant", lambda: Value(1.0, "n") / 0, "div", "1.0", "n"),
    ("div-by-zero-value", lambda: Value(1.0, "n") / Value(0.0, "d"), "div", "0.0", "d"),
    ("rdiv-by-zero", lambda: 1 / Value(0.0, "d"), "div", "0.0", "d"),
    ("div-by-minus-zero", lambda: 5 / Value(-0.0, "d"), "div", "-0.0", "d"),
    ("exp-overflow", lambda: Value(709.79, "x").exp(), "exp", "709.79", "x"),
    ("exp-far-overflow", lambda: Value(1000.0, "x").exp(), "exp", "1000.0", "x"),
    ("mul-overflow", lambda: Value(1e200, "big") * 1e200, "mul", "1e+200", "big"),
    ("add-overflow", lambda: Value(1e308, "big") + Value(1e308), "add", "1e+308", "big"),
    ("sub-overflow", lambda: -1e308 - Value(1e308, "big"), "sub", "1e+308", "big"),
    ("div-overflow", lambda: Value(1e308, "big") / 1e-10, "div", "1e+308", "big"),
    ("add-inf", lambda: Value(1.0, "v") + math.inf, "add", "inf", "v"),
    ("radd-inf", lambda: math.inf + Value(1.0, "v"), "add", "inf", "v"),
    ("mul-minus-inf", lambda: Value(1.0, "v") * -math.inf, "mul", "-inf", "v"),
    ("sub-nan", lambda: Value(1.0, "v") - math.nan, "sub", "nan", "v"),
    ("pow-numpy-nan", lambda: Value(1.0, "v") ** np.float64("nan"), "pow", "nan", "v"),
    ("leaky-relu-nan-slope", lambda: Value(-1.0, "v").leaky_relu(math.nan), "leaky_relu", "nan", "v"),
    ("construct-nan", lambda: Value(math.nan, "w"), "Value", "nan", "w"),
    ("construct-inf", lambda: Value(-math.inf, "w"), "Value", "-inf", "w"),
    ("construct-numpy-inf", lambda: Value(np.float32("inf"), "w"), "Value", "inf", "w"),
    ("construct-huge-int", lambda: Value(10**400, "w"), "Value", "an int of 401 digits", "w"),
]


@pytest.mark.parametrize(
    ("thunk", "operation", "shown", "label"),
    [case[1:] for case in DOMAIN_ERRORS],
    ids=[case[0] for case in DOMAIN_ERRORS],
)
def test_domain_errors_name_operation_value_and_label(thunk, operation: str, shown: str, label: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as info:
        thunk()
    message = str(info.value)
    assert operation in message, message
    assert shown in message, message
    assert f"'{label}'" in message, message


def test_the_documented_log_message() -> None:
    with pytest.raises(DomainError, match=r"^log\(\) needs a positive input, got -1\.0 \(node 'z2'\)$"):
        Value(-1.0, "z2").log()


@pytest.mark.parametrize(
    "thunk",
    [
        lambda: Value(-1.0).log(),
        lambda: Value(-1.0).sqrt(),
        lambda: Value(1.0) / 0,
        lambda: Value(1e300) * 1e300,
    ],
)
def test_unlabelled_domain_errors_have_no_node_clause(thunk) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as info:
        thunk()
    assert "node" not in str(info.value)


def test_domain_errors_are_caught_as_value_error_and_arithmetic_error() -> None:
    with pytest.raises(ValueError, match="log"):
        Value(-1.0).log()
    with pytest.raises(ArithmeticError, match="div"):
        Value(1.0) / 0.0


@pytest.mark.parametrize(
    "x", [709.78, 709.0, -745.0, -1e308]
)
def test_exp_just_inside_the_domain_is_finite(x: float) -> None:
    out = Value(x).exp()
    assert math.isfinite(out.data)
    assert out.data == math.exp(x)


def test_backward_through_sqrt_at_zero_has_no_finite_derivative() -> None:
    x = Value(0.0, "r")
    y = x.sqrt()
    assert y.data == 0.0
    with pytest.raises(DomainError) as info:
        y.backward()
    message = str(info.value)
    assert "sqrt" in message and "no finite derivative" in message
    assert "0.0" in message and "'r'" in message


def test_backward_through_fractional_power_at_zero_has_no_finite_derivative() -> None:
    """Like sqrt'(0): d(x^0.5)/dx at 0 is infinite."""
    x = Value(0.0, "r")
    with pytest.raises(DomainError, match="no finite derivative"):
        (x**0.5).backward()


@pytest.mark.parametrize(
    ("build", "at"),
    [
        pytest.param(lambda x: x**-1, 1e-300, id="x**-1"),
        pytest.param(lambda x: 1 / x, 1e-300, id="1/x"),
        pytest.param(lambda x: x.log(), 1e-320, id="log"),
    ],
)
def test_backward_never_leaves_a_silently_infinite_gradient(build, at: float) -> None:  # type: ignore[no-untyped-def]
    """The forward value is finite but the local slope (-1/x^2, 1/x) overflows a float. Like
    sqrt'(0), that must be a DomainError, not an inf in .grad; ``x**-1`` and ``1/x`` must agree."""
    x = Value(at, "x")
    out = build(x)
    assert math.isfinite(out.data)
    try:
        out.backward()
    except DomainError as error:
        assert "no finite derivative" in str(error) or "overflowed" in str(error)
        assert "'x'" in str(error)
        return
    assert math.isfinite(x.grad), f"backward left x.grad = {x.grad!r} without raising"


@pytest.mark.parametrize("seed", [math.nan, math.inf, np.float64("-inf")])
def test_backward_seed_must_be_finite(seed: float) -> None:
    x = Value(2.0)
    with pytest.raises(DomainError):
        (x * x).backward(seed)
    assert x.grad == 0.0
