"""Forward mode: ``tangents`` and ``jvp`` push J v from the inputs, one sweep per direction,
reading every operation's derivative from the same rule as reverse mode.

Proved here: forward and reverse Jacobians agree (bit for bit on single rules, to rounding on
random graphs); u^T (J v) = (u^T J) v; forward mode makes one sweep per input and reverse one per
output, which ``jacobian_cost`` counts (book chapter 6: VJP versus JVP); and the two modes nest
(forward over reverse, reverse over forward) into the same Hessian.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from helpers import dot as fdot
from helpers import random_program, vector_function

from autodiff import (
    RULES,
    Rule,
    Value,
    apply,
    dot,
    grad,
    gradients,
    hessian,
    jacobian,
    jacobian_cost,
    jvp,
    tangents,
    vjp,
)

MODES = ("rev", "fwd")


# --- tangents -------------------------------------------------------------------------------


def test_tangents_are_j_v_with_a_count_of_multiply_adds() -> None:
    """f = (x y, sin x) along v = (1, 2): J v = (y + 2x, cos x). Three multiply-adds: two for
    the product (one per Value input), one for the sine."""
    x, y = Value(0.5), Value(3.0)
    outs = [x * y, x.sin()]
    ts, cost = tangents(outs, [x, y], [1.0, 2.0])
    assert ts == [3.0 + 2.0 * 0.5, math.cos(0.5)]
    assert cost == 3
    assert x.grad == y.grad == 0.0  # forward mode touches no .grad


def test_tangents_of_constants_inputs_and_unreached_nodes() -> None:
    x, y = Value(2.0), Value(5.0)
    z = Value(7.0) * 3.0  # depends on no input
    ts, _ = tangents([4.0, x, y, z, x * x], [x, y], [0.5, -1.0])
    assert ts == [0.0, 0.5, -1.0, 0.0, 2.0]


def test_tangents_with_respect_to_an_intermediate_node() -> None:
    """The direction may be given at any node, not only leaves: the tangent of z.sin() along z."""
    x = Value(0.3)
    z = x * 2.0
    ts, _ = tangents([z.sin()], [z], [1.0])
    assert ts == [math.cos(0.6)]


def test_tangents_direction_must_match_inputs() -> None:
    x = Value(1.0)
    with pytest.raises(ValueError, match="direction"):
        tangents([x * x], [x], [1.0, 2.0])


def test_tangents_with_create_graph_are_differentiable() -> None:
    x = Value(0.8)
    (t,), _ = tangents([x.sin() * x], [x], [1.0], create_graph=True)
    assert isinstance(t, Value)
    assert t.data == pytest.approx(math.cos(0.8) * 0.8 + math.sin(0.8), rel=1e-15)
    (second,) = gradients(t, [x])
    assert second == pytest.approx(-math.sin(0.8) * 0.8 + 2.0 * math.cos(0.8), rel=1e-15)
    (plain,), _ = tangents([x.sin() * x], [x], [1.0])
    assert type(plain) is float


# --- one rule, two modes ----------------------------------------------------------------------

RULE_POINTS: dict[str, tuple[float, ...]] = {
    "neg": (0.7,), "abs": (-1.3,), "exp": (0.4,), "log": (2.5,), "sqrt": (3.0,), "tanh": (0.6,),
    "sigmoid": (-1.1,), "relu": (2.0,), "softplus": (0.3,), "sin": (1.2,), "cos": (1.2,),
    "add": (1.5, -0.5), "sub": (1.5, -0.5), "mul": (1.5, -0.5), "div": (1.5, -0.5),
    "pow": (1.5, -0.5), "leaky_relu": (-1.5, 0.2), "dot": (0.5, -1.0, 2.0, 0.3),
}


def _make(name: str):  # type: ignore[no-untyped-def]
    if name == "dot":
        return lambda v: dot(v[:2], v[2:])
    return lambda v: apply(RULES[name], *v)


def test_the_table_covers_every_rule() -> None:
    assert set(RULE_POINTS) == set(RULES)


@pytest.mark.parametrize("name", sorted(RULE_POINTS))
def test_forward_and_reverse_read_the_same_rule(name: str) -> None:
    """For one operation both modes multiply the same partial by 1: bit-for-bit equal, and
    equal to what backward() gives."""
    f, point = _make(name), RULE_POINTS[name]
    rev = jacobian(f, mode="rev")(list(point))
    fwd = jacobian(f, mode="fwd")(list(point))
    assert rev == fwd
    leaves = [Value(p) for p in point]
    f(leaves).backward()
    assert rev == [leaf.grad for leaf in leaves]  # a scalar f of a list: the gradient list


def _counting_rule() -> tuple[Rule, list[int]]:
    calls = [0]

    def partial(x: Any, out: Any) -> Any:
        calls[0] += 1
        return 2.0 * x

    return Rule("counted_square", "^2", lambda x: x * x, (partial,), "x^2, counting its slope's calls"), calls


@pytest.mark.parametrize(("mode", "sweeps"), [("fwd", 3), ("rev", 1)])
def test_one_forward_sweep_per_input_one_reverse_sweep_per_output_r3_to_r1(mode: str, sweeps: int) -> None:
    """The rule's partial is called once per sweep: f: R^3 -> R^1 takes 3 forward sweeps (one
    per input direction) and 1 reverse sweep."""
    rule, calls = _counting_rule()
    f = lambda v: [apply(rule, v[0] * v[1] + v[2])]
    j = jacobian(f, mode=mode)([1.0, 2.0, 3.0])  # type: ignore[arg-type]
    assert j == [[20.0, 10.0, 10.0]]
    assert calls[0] == sweeps


@pytest.mark.parametrize(("mode", "sweeps"), [("fwd", 1), ("rev", 3)])
def test_one_forward_sweep_per_input_one_reverse_sweep_per_output_r1_to_r3(mode: str, sweeps: int) -> None:
    rule, calls = _counting_rule()

    def f(v: list[Value]) -> list[Value]:
        c = apply(rule, v[0])
        return [c * 2.0, c * 3.0, c * 4.0]

    assert jacobian(f, mode=mode)([1.5]) == [[6.0], [9.0], [12.0]]  # type: ignore[arg-type]
    assert calls[0] == sweeps


def test_a_wrong_partial_is_equally_wrong_in_both_modes() -> None:
    """Forward mode has no derivative table of its own: a rule with a wrong slope (3x for x^2)
    gives the same wrong answer forward and backward."""
    wrong = Rule("wrong_square", "^2", lambda x: x * x, (lambda x, out: 3.0 * x,), "x^2, slope 3x (wrong)")
    f = lambda v: [apply(wrong, v[0]) * v[1]]
    for mode in MODES:
        assert jacobian(f, mode=mode)([2.0, 5.0]) == [[30.0, 4.0]]  # type: ignore[arg-type]
    assert jvp(f, ([2.0, 5.0],), ([1.0, 0.0],))[1] == [30.0]


# --- random graphs: forward = reverse, u^T (J v) = (u^T J) v ------------------------------------


def _random_case(seed: int) -> tuple[Any, list[float], int, int]:
    rng = random.Random(seed)
    n, m = rng.randint(1, 5), rng.randint(1, 5)
    program = random_program(rng, n, rng.randint(max(m, 4), 25))
    return vector_function(program, m), [rng.uniform(-2.0, 2.0) for _ in range(n)], n, m


SEEDS = range(100)


@pytest.mark.parametrize("seed", SEEDS)
def test_forward_and_reverse_jacobians_agree_on_random_graphs(seed: int) -> None:
    """Same partials, multiplied in opposite orders: equal to rounding (1e-12 relative, and the
    entries of both are finite floats)."""
    f, xs, n, m = _random_case(seed)
    rev = jacobian(f, mode="rev")(xs)
    fwd = jacobian(f, mode="fwd")(xs)
    assert len(rev) == len(fwd) == m and all(len(row) == n for row in rev + fwd)
    for j in range(m):
        for i in range(n):
            assert fwd[j][i] == pytest.approx(rev[j][i], rel=1e-12, abs=1e-300), (seed, j, i)


@pytest.mark.parametrize("seed", SEEDS)
def test_jvp_agrees_with_vjp_on_random_graphs(seed: int) -> None:
    """u^T (J v), from one forward sweep, equals (u^T J) v, from one reverse sweep, to 1e-12
    relative. (A floor of 1e-12 times sum |u_j J_ji v_i| covers the case where the two sides
    cancel to nearly 0, where no relative bound makes sense.)"""
    f, xs, n, m = _random_case(seed)
    rng = random.Random(1000 + seed)
    u = [rng.uniform(-1.0, 1.0) for _ in range(m)]
    v = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    out_f, j_v = jvp(f, (xs,), (v,))
    out_r, vjp_f = vjp(f, xs)
    (u_j,) = vjp_f(u)
    assert out_f == out_r
    left, right = fdot(u, j_v), fdot(u_j, v)
    j = jacobian(f)(xs)
    scale = math.fsum(abs(u[b] * j[b][a] * v[a]) for b in range(m) for a in range(n))
    assert abs(left - right) <= 1e-12 * max(abs(left), abs(right)) + 1e-12 * scale, (seed, left, right)


@pytest.mark.parametrize("seed", range(20))
def test_jvp_with_basis_vectors_gives_the_columns(seed: int) -> None:
    f, xs, n, _ = _random_case(seed)
    columns = [jvp(f, (xs,), ([1.0 if k == i else 0.0 for k in range(n)],))[1] for i in range(n)]
    assert [list(row) for row in zip(*columns)] == jacobian(f, mode="fwd")(xs)


# --- the cost of a Jacobian: n forward sweeps or m reverse sweeps ------------------------------


@pytest.mark.parametrize(
    ("f", "n", "rev", "fwd"),
    [
        # x0 x1 + sin x0: edges mul 2 + sin 1 + add 2 = 5; m = 1 reverse sweep, n = 2 forward
        pytest.param(lambda v: [v[0] * v[1] + v[0].sin()], 2, 5, 10, id="R2-R1"),
        # (x0 x1, sin x0): 3 edges; 2 sweeps either way
        pytest.param(lambda v: [v[0] * v[1], v[0].sin()], 2, 6, 6, id="R2-R2"),
        # x * 2 + 1: constants are no edges: 1 + 1 = 2
        pytest.param(lambda v: v[0] * 2.0 + 1.0, 1, 2, 2, id="R1-R1-constants"),
        # dot(w, x) over 2 + 2 Values: one node, 4 edges
        pytest.param(lambda v: [dot(v[:2], v[2:])], 4, 4, 16, id="R4-R1-dot"),
        # the identity: no operation, nothing to multiply
        pytest.param(lambda v: list(v), 3, 0, 0, id="identity"),
    ],
)
def test_jacobian_cost_exact_for_small_functions(f, n: int, rev: int, fwd: int) -> None:  # type: ignore[no-untyped-def]
    """Each sweep costs one multiply-add per (node, Value input) edge of the graph; reverse mode
    makes m sweeps, forward mode n."""
    xs = [0.5 + 0.25 * k for k in range(n)]
    assert jacobian_cost(f, mode="rev")(xs) == rev
    assert jacobian_cost(f, mode="fwd")(xs) == fwd


def _wide(v: list[Value]) -> list[Value]:
    """R^1 -> R^50: sin(k x) for k = 1..50; 2 edges per output, 100 in all."""
    return [(v[0] * float(k)).sin() for k in range(1, 51)]


def _tall(v: list[Value]) -> Value:
    """R^50 -> R^1: sum of sin(x_i); 50 sines + 49 additions of 2 edges = 148 edges."""
    total = v[0].sin()
    for x in v[1:]:
        total = total + x.sin()
    return total


def test_jacobian_cost_wide_function_forward_is_far_cheaper() -> None:
    """n = 1, m = 50: one forward sweep (100 multiply-adds) against 50 reverse ones."""
    fwd = jacobian_cost(_wide, mode="fwd")([0.3])
    rev = jacobian_cost(_wide, mode="rev")([0.3])
    assert fwd == 100
    assert rev == 50 * 100
    assert rev >= 40 * fwd
    assert jacobian(_wide, mode="fwd")([0.3]) == jacobian(_wide, mode="rev")([0.3])


def test_jacobian_cost_tall_function_reverse_is_far_cheaper() -> None:
    """n = 50, m = 1: one reverse sweep (the gradient, 148 multiply-adds) against 50 forward."""
    xs = [0.02 * i for i in range(50)]
    fwd = jacobian_cost(_tall, mode="fwd")(xs)
    rev = jacobian_cost(_tall, mode="rev")(xs)
    assert rev == 148
    assert fwd == 50 * 148
    assert fwd >= 40 * rev
    assert jacobian(_tall, mode="fwd")(xs) == jacobian(_tall, mode="rev")(xs) == [math.cos(x) for x in xs]


# --- the modes nest --------------------------------------------------------------------------


def _scalar(v: list[Any]) -> Any:
    return (v[0] * v[1]).sin() + v[2].exp() * v[0] ** 2 + (v[1] / (v[2] * v[2] + 1.0)).tanh()


POINT = [0.4, -1.3, 0.7]


def test_forward_over_reverse_hessian() -> None:
    """The forward-mode Jacobian of the reverse-mode gradient (vjp called with Values from the
    outer transform) is the Hessian."""
    h = jacobian(lambda xs: vjp(_scalar, xs)[1](1.0)[0], mode="fwd")(POINT)
    for row, want in zip(h, hessian(_scalar)(POINT)):
        assert row == pytest.approx(want, rel=1e-13, abs=1e-15)


def test_reverse_over_forward_hessian() -> None:
    def directional(xs: list[Any]) -> list[Any]:
        return [jvp(_scalar, (xs,), ([1.0 if k == i else 0.0 for k in range(3)],))[1] for i in range(3)]

    h = jacobian(directional, mode="rev")(POINT)
    for row, want in zip(h, hessian(_scalar)(POINT)):
        assert row == pytest.approx(want, rel=1e-13, abs=1e-15)


def test_forward_over_forward_second_derivative() -> None:
    """d/dt jvp along e: jvp inside jvp, along the same direction, is e^T H e."""
    e = [0.6, -0.8, 0.0]
    inner = lambda xs: jvp(_scalar, (xs,), (e,))[1]
    _, ehe = jvp(inner, (POINT,), (e,))
    h = hessian(_scalar)(POINT)
    assert ehe == pytest.approx(fdot(e, [fdot(row, e) for row in h]), rel=1e-13)


def test_grad_of_a_jvp() -> None:
    """x^3 at x: jvp gives 3x^2 (a Value under grad), whose grad is 6x."""
    assert grad(lambda x: jvp(lambda t: t**3, (x,), (1.0,))[1])(2.0) == 12.0


@pytest.mark.parametrize("mode", MODES)
def test_only_the_partials_on_paths_from_the_inputs_are_computed(mode: str) -> None:
    """x ** n with n a Value held constant (a closure): at x = -2, d(x^n)/dn = x^n ln x has no
    real value, but nothing asks for it; d/dx = n x^(n-1) = 12. Both modes sweep only the edges
    between the inputs and the outputs, and count only those: here the one edge x -> x^n."""
    n = Value(3.0)
    assert jacobian(lambda x: x**n, mode=mode)(-2.0) == 12.0  # type: ignore[arg-type]
    assert jacobian_cost(lambda x: x**n, mode=mode)(-2.0) == 1  # type: ignore[arg-type]
    assert jvp(lambda x: x**n, (-2.0,), (1.0,)) == (-8.0, 12.0)
