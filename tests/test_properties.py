"""Property tests: random expression graphs (a random mix of every rule over one to four inputs,
each primitive kept inside its domain) differentiated by ``backward()`` and by central finite
differences of an independent pure-float evaluation of the same expression."""

from __future__ import annotations

import math

from helpers import STEPS, FloatOps, Program, ValueOps, central_difference, value_gradients
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from autodiff import RULES, Value, no_grad

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)

inputs_strategy = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)


@st.composite
def programs(draw: st.DrawFn, max_steps: int = 7) -> tuple[Program, list[float]]:
    n_inputs = draw(st.integers(1, 4))
    xs = draw(st.lists(inputs_strategy, min_size=n_inputs, max_size=n_inputs))
    n_steps = draw(st.integers(1, max_steps))
    steps = []
    for k in range(n_steps):
        available = n_inputs + k
        name = draw(st.sampled_from(sorted(STEPS)))
        # mostly read the newest slot, so that graphs are deep; sometimes any slot (reuse)
        i = draw(st.one_of(st.just(available - 1), st.integers(0, available - 1)))
        j = draw(st.integers(0, available - 1))
        steps.append((name, i, j))
    return Program(n_inputs, tuple(steps)), xs


def _float_output(program: Program, xs: list[float]) -> float:
    return float(program.run(FloatOps, xs)[-1])


def _within_limits(program: Program, xs: list[float]) -> bool:
    """Keep intermediate magnitudes moderate (squaring six times can reach 3^64), where finite
    differences of sin and cos are still meaningful."""
    return all(abs(s) < 1e4 for s in program.run(FloatOps, xs))


@PROPERTY_SETTINGS
@given(programs())
def test_forward_matches_the_pure_float_evaluation(case: tuple[Program, list[float]]) -> None:
    program, xs = case
    assume(_within_limits(program, xs))
    engine = program.run(ValueOps, [Value(x) for x in xs])
    floats = program.run(FloatOps, xs)
    for v, f in zip(engine, floats):
        assert math.isclose(v.data, f, rel_tol=1e-12, abs_tol=1e-300), f"{program}: {v.data!r} vs {f!r}"


@PROPERTY_SETTINGS
@given(programs())
def test_backward_matches_finite_differences(case: tuple[Program, list[float]]) -> None:
    program, xs = case
    assume(_within_limits(program, xs))
    out, grads = value_gradients(program, xs)
    assert math.isclose(out, _float_output(program, xs), rel_tol=1e-12, abs_tol=1e-300)

    for i, x in enumerate(xs):
        h = 1e-4 * max(1.0, abs(x))
        # a finite difference is meaningless across a kink: the subgradient is checked elsewhere
        sides = {program.kink_sides(_moved(xs, i, x + d)) for d in (-h, -h / 2, 0.0, h / 2, h)}
        if len(sides) > 1:
            event("an input whose finite-difference step crosses a kink")
            continue
        event("an input checked against finite differences")

        def f(t: float, i: int = i) -> float:
            return _float_output(program, _moved(xs, i, t))

        estimate, noise = central_difference(f, x, h)
        tol = 1e-6 * max(abs(estimate), abs(grads[i])) + 1e3 * noise + 1e-10
        assert abs(grads[i] - estimate) <= tol, (
            f"{program} at {xs}: d/dx{i} analytic {grads[i]!r}, finite difference {estimate!r}"
        )


def _moved(xs: list[float], i: int, t: float) -> list[float]:
    ys = list(xs)
    ys[i] = t
    return ys


@PROPERTY_SETTINGS
@given(programs())
def test_no_grad_gives_the_same_numbers_and_no_graph(case: tuple[Program, list[float]]) -> None:
    program, xs = case
    assume(_within_limits(program, xs))
    recorded = program.run(ValueOps, [Value(x) for x in xs])
    with no_grad():
        plain = program.run(ValueOps, [Value(x) for x in xs])
    assert [v.data for v in plain] == [v.data for v in recorded]
    assert all(v.is_leaf for v in plain)
    assert all(v.op in RULES.values() for v in recorded[program.n_inputs:])


@PROPERTY_SETTINGS
@given(programs(), st.floats(min_value=-4.0, max_value=4.0, allow_nan=False))
def test_gradients_are_linear_in_the_seed(case: tuple[Program, list[float]], seed: float) -> None:
    program, xs = case
    assume(_within_limits(program, xs))
    leaves = [Value(x) for x in xs]
    out = program.run(ValueOps, leaves)[-1]
    out.backward()
    unit = [leaf.grad for leaf in leaves]
    out.zero_grad()
    out.backward(seed)
    for leaf, g in zip(leaves, unit):
        assert math.isclose(leaf.grad, seed * g, rel_tol=1e-12, abs_tol=1e-300)
