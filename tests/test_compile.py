"""``autodiff.compile``: a recorded graph as a straight-line program, bit for bit ``backward()``.

The promise tested here: for any graph, ``program()`` returns the same float and leaves the
same ``.grad`` on every leaf as rebuilding the graph at the leaves' current data and calling
``backward()``, down to the sign of a zero; where the rebuilt graph raises, the program raises
the same DomainError and changes no gradient. The reference is always an independent rebuild,
by running the same Python function on fresh data.
"""

from __future__ import annotations

import math
import pickle
import random
import struct
import threading
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff import DomainError, Rule, Value, apply, constant, dot, matvec, no_grad
from autodiff import compile as compile_graph
from autodiff.compile import MAX_NODES, GraphTooLargeToCompileError, Program
from autodiff.rules import RULES, Code


def bits(x: Any) -> bytes:
    return struct.pack("<d", x)


def same(a: float, b: float) -> bool:
    return bits(a) == bits(b)


# --- the book's example --------------------------------------------------------------------


def book() -> tuple[Value, Value, Value]:
    """z = 2 w1 + 1 (x = 2, b1 = 1); L = z w2 + 0.5 (b2 = 0.5)."""
    w1, w2 = Value(0.5, "w1"), Value(1.5, "w2")
    z = 2.0 * w1 + 1.0
    z.label = "z"
    loss = z * w2 + 0.5
    loss.label = "L"
    return w1, w2, loss


def test_the_book_example_runs_and_reads_like_the_hand_derivation() -> None:
    w1, w2, loss = book()
    program = compile_graph(loss)
    assert program() == 3.5
    assert (w1.grad, w2.grad) == (3.0, 2.0)  # dL/dw1 = x w2 = 2 * 1.5, dL/dw2 = z = 2
    source = program.source
    assert len(source.splitlines()) <= 30
    assert "w1 = inputs[0].data" in source and "w2 = inputs[1].data" in source
    assert "    z = 2.0 * w1 + 1.0  # mul, add\n    L = z * w2 + 0.5  # mul, add\n" in source
    assert "    dL = grad  # the seed\n    dz = dL * w2  # mul\n" in source  # dL/dz = w2
    assert "dw1 = inputs[0].grad + dz * 2.0  # mul" in source  # dL/dw1 = dL/dz * x
    assert "dw2 = inputs[1].grad + dL * z  # mul" in source  # dL/dw2 = z
    assert source.index("# forward") < source.index("# backward")
    assert program.inputs == (w1, w2)
    assert repr(program).startswith("<Program of 6 nodes, 2 inputs")


def test_two_runs_add_twice_and_new_data_is_read() -> None:
    """Leaves accumulate, as two backward() calls; the program reads the leaves' data on each
    run; the graph it was compiled from is not changed."""
    w1, w2, loss = book()
    program = compile_graph(loss)
    program()
    program()
    assert (w1.grad, w2.grad) == (6.0, 4.0)
    w1.grad = w2.grad = 0.0
    w1.data, w2.data = 1.0, -2.0
    assert program() == (2 * 1.0 + 1) * -2.0 + 0.5
    assert (w1.grad, w2.grad) == (2 * -2.0, 3.0)
    assert loss.data == 3.5  # the recorded graph keeps its numbers
    assert program.forward() == -5.5
    assert program(grad=2.0) == -5.5 and w1.grad == -4.0 + 2 * -4.0
    assert program.fallbacks == 0


# --- bit for bit, on random graphs ----------------------------------------------------------

UNARY = [name for name, rule in RULES.items() if rule.arity == 1]
BINARY = ["add", "sub", "mul", "div", "pow", "leaky_relu"]


def operation(draw: Any) -> tuple[Any, ...]:
    kind = draw(st.sampled_from(["unary", "binary", "binary", "dot", "matvec", "constant"]))
    slot = st.integers(min_value=0, max_value=10_000)
    number = st.sampled_from([2.0, -1.5, 0.5, 1.0, -1.0, 3, 0.0, -0.0, 1e-3])
    if kind == "unary":
        return ("unary", draw(st.sampled_from(UNARY)), draw(slot))
    if kind == "binary":
        form = draw(st.sampled_from(["vv", "vc", "cv"]))
        return ("binary", draw(st.sampled_from(BINARY)), form, draw(slot), draw(slot), draw(number))
    if kind == "dot":
        n = draw(st.integers(min_value=1, max_value=6))
        items = st.one_of(slot.map(lambda s: ("v", s)), number.map(lambda c: ("c", c)))
        vector = st.lists(items, min_size=n, max_size=n)
        return ("dot", draw(vector), draw(vector))
    if kind == "matvec":
        n = draw(st.integers(min_value=1, max_value=4))
        rows = draw(st.integers(min_value=1, max_value=3))
        return ("matvec", [draw(st.lists(slot, min_size=n, max_size=n)) for _ in range(rows)],
                draw(st.lists(slot, min_size=n, max_size=n)))
    values = draw(st.lists(slot, min_size=1, max_size=4))
    return ("constant", values, draw(slot), draw(st.sampled_from(BINARY)), draw(st.booleans()))


@st.composite
def recipes(draw: Any) -> tuple[list[float], list[tuple[Any, ...]], list[float]]:
    n = draw(st.integers(min_value=1, max_value=4))
    data = st.one_of(st.floats(min_value=-3, max_value=3, allow_nan=False), st.sampled_from([0.0, -0.0, 1.0]))
    first = draw(st.lists(data, min_size=n, max_size=n))
    second = draw(st.lists(data, min_size=n, max_size=n))
    steps = [operation(draw) for _ in range(draw(st.integers(min_value=1, max_value=14)))]
    return first, steps, second


def build(leaves: list[Value], steps: list[tuple[Any, ...]]) -> Value:
    """Replay ``steps`` on ``leaves`` with the engine's public operations; every slot is used
    at the end, so that the graph shares subexpressions."""
    slots: list[Value] = list(leaves)

    def at(i: int) -> Value:
        return slots[i % len(slots)]

    for step in steps:
        if step[0] == "unary":
            slots.append(apply(RULES[step[1]], at(step[2])))
        elif step[0] == "binary":
            _, name, form, i, j, c = step
            args = {"vv": (at(i), at(j)), "vc": (at(i), c), "cv": (c, at(j))}[form]
            if name == "leaky_relu" and form == "cv":
                args = (at(j), c)
            slots.append(apply(RULES[name], *args))
        elif step[0] == "dot":
            def vector(items: list[tuple[str, Any]]) -> list[Any]:
                return [at(x) if tag == "v" else x for tag, x in items]

            slots.append(dot(vector(step[1]), vector(step[2])))
        elif step[0] == "matvec":
            slots.extend(matvec([[at(i) for i in row] for row in step[1]], [at(i) for i in step[2]]))
        else:  # a constant on either side of any binary rule (a leaky_relu's slope on the right)
            _, values, i, name, left = step
            m = constant(max, [at(v) for v in values])
            args = (at(i), m) if not left or name == "leaky_relu" else (m, at(i))
            slots.append(apply(RULES[name], *args))
    ops = [s for s in slots[len(leaves):]]
    return ops[-1] if len(ops) == 1 else dot(ops, [0.5] * len(ops)) + ops[-1]


def reference(data: list[float], steps: list[tuple[Any, ...]], grads: list[float]) -> tuple[Any, list[float]]:
    """What backward() gives on a graph rebuilt from ``data``: (value or the error, grads)."""
    leaves = [Value(x, f"x{i}") for i, x in enumerate(data)]
    for leaf, g in zip(leaves, grads):
        leaf.grad = g
    try:
        out = build(leaves, steps)
        out.backward()
    except DomainError as error:
        return error, [leaf.grad for leaf in leaves]
    return out.data, [leaf.grad for leaf in leaves]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(recipe=recipes(), grads=st.lists(st.floats(-2, 2), min_size=4, max_size=4))
def test_bit_for_bit_with_backward_at_the_recorded_and_at_new_data(
    recipe: tuple[list[float], list[tuple[Any, ...]], list[float]], grads: list[float]
) -> None:
    first, steps, second = recipe
    leaves = [Value(x, f"x{i}") for i, x in enumerate(first)]
    try:
        root = build(leaves, steps)
    except DomainError:
        return  # the recording itself is outside some rule's domain: nothing to compile
    program = compile_graph(root)
    for data in (first, second):
        start = grads[: len(data)]
        for leaf, x, g in zip(leaves, data, start):
            leaf.data, leaf.grad = x, g
        want, want_grads = reference(data, steps, start)
        if isinstance(want, DomainError):
            with pytest.raises(DomainError) as info:
                program()
            assert str(info.value) == str(want)
        else:
            got = program()
            assert same(got, want), (got, want)
        got_grads = [leaf.grad for leaf in leaves]
        assert all(map(same, got_grads, want_grads)), (got_grads, want_grads)


def test_the_fast_path_runs_when_nothing_fails() -> None:
    """The hand-over to the interpreter is for failures only: on ordinary graphs of every rule
    the program itself runs (else the bit-for-bit test would test the interpreter twice)."""
    rng = random.Random(0)
    weights = [rng.uniform(-1, 1) for _ in range(30)]

    def graph(x: Value, y: Value) -> Value:
        pieces = [apply(RULES[name], x) for name in UNARY if name not in ("log", "sqrt")]
        pieces += [x.log(), y.sqrt(), x + y, x - 2.0, 3.0 * y, x / y, x**y, 2.0**x, x.leaky_relu(y)]
        pieces += [dot([x, y, 1.0], [y, x, x]), *matvec([[x, y], [y, 2.0]], [x, y])]
        pieces.append(x - constant(max, [x, y]))
        return dot(pieces, weights[: len(pieces)])

    x, y = Value(0.7, "x"), Value(1.3, "y")
    program = compile_graph(graph(x, y))
    for _ in range(3):
        x.data, y.data = rng.uniform(0.1, 2), rng.uniform(0.1, 2)
        x.grad = y.grad = 0.0
        got = program()
        assert program.fallbacks == 0
        gx, gy = x.grad, y.grad
        x.grad = y.grad = 0.0
        rebuilt = graph(x, y)
        rebuilt.backward()
        assert same(got, rebuilt.data) and same(gx, x.grad) and same(gy, y.grad)


# --- errors ---------------------------------------------------------------------------------


def test_an_input_outside_a_domain_raises_the_interpreters_domain_error() -> None:
    """The same DomainError (operation, numbers, label) as the interpreter, and no gradient
    changed."""
    w = Value(2.0, "w")
    z = w * 1.0
    z.label = "z"
    out = z.log() + w
    program = compile_graph(out)
    w.grad = 0.25
    w.data = -3.0
    with pytest.raises(DomainError, match=r"log\(\) needs a positive input, got -3\.0 \(node 'z'\)"):
        program()
    assert w.grad == 0.25
    assert program.fallbacks == 1
    w.data = float("nan")  # set by hand, past Value()'s check
    with pytest.raises(DomainError, match="mul"):
        program()
    with pytest.raises(DomainError, match="mul"):
        program.forward()


def test_a_failed_backward_changes_no_gradient() -> None:
    """x ** y at x < 0: the forward pass is fine (y is whole), d/dy has no real value."""
    x, y = Value(2.0, "x"), Value(3.0, "y")
    program = compile_graph(x**y + x)
    x.data = -2.0
    x.grad, y.grad = 1.0, 2.0
    with pytest.raises(DomainError, match=r"pow\(\) has no finite derivative"):
        program()
    assert (x.grad, y.grad) == (1.0, 2.0)


def test_overflow_is_a_domain_error_not_an_inf() -> None:
    w = Value(1.0, "w")
    program = compile_graph((w * w).tanh() + w)
    w.data = 1e200  # w * w overflows; tanh would hide the inf from the output
    overflow = r"mul\(\) overflowed to inf from 1e\+200 \* 1e\+200 \(node 'w', 'w'\)"
    with pytest.raises(DomainError, match=overflow):
        program()
    assert w.grad == 0.0
    w.data = 1.0
    program()
    assert math.isfinite(w.grad) and w.grad > 0


@pytest.mark.parametrize("bad", [None, 3.0, "x", [Value(1.0), 2.0], (None,)])
def test_compile_refuses_anything_but_values(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"compile\(\) needs the Value at the top of a graph, or a list"):
        compile_graph(bad)
    with pytest.raises(ValueError, match=r"compile\(\) got an empty list of outputs"):
        compile_graph([])


def test_program_checks_its_seed() -> None:
    w1, _, loss = book()
    program = compile_graph(loss)
    with pytest.raises(TypeError, match=r"program\(\) grad must be a number"):
        program(grad="1")  # type: ignore[arg-type]
    with pytest.raises(DomainError, match=r"program\(\)"):
        program(grad=math.inf)
    assert w1.grad == 0.0


# --- size ---------------------------------------------------------------------------------------


def test_a_graph_past_the_limit_is_refused_at_once_with_the_limit_named() -> None:
    """A chain of a million nodes would take Python's compiler minutes and gigabytes: refused
    while walking, before anything is written, within bounded memory."""
    x = Value(1.0)
    y = x
    for _ in range(MAX_NODES):
        y = y * 1.0001
    tracemalloc.start()
    with pytest.raises(GraphTooLargeToCompileError, match=f"at most {MAX_NODES:,} nodes"):
        compile_graph(y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100_000_000
    assert isinstance(GraphTooLargeToCompileError("x"), ValueError)


def test_a_dot_counts_as_its_terms_against_the_limit() -> None:
    """A three-node graph can hold a program of a million terms: each term counts."""
    w, x = Value(0.5), Value(1.5)
    tracemalloc.start()
    with pytest.raises(GraphTooLargeToCompileError, match="a dot of n terms counts as n"):
        compile_graph(dot([w] * (MAX_NODES + 1), [x] * (MAX_NODES + 1)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100_000_000
    assert compile_graph(dot([w] * 1_000, [x] * 1_000))() == 750.0


def test_a_long_chain_and_a_wide_sum_compile() -> None:
    """Deep graphs need no recursion; sums of thousands of terms are split over lines."""
    x = Value(0.5, "x")
    y = x
    for _ in range(5_000):
        y = (y * 0.999).tanh() + 0.001
    wide = dot([y] * 3_000, [x] * 3_000)
    program = compile_graph(wide)
    got = program()
    want_x = x.grad
    x.grad = 0.0
    wide.backward()
    assert same(got, wide.data) and same(want_x, x.grad)


# --- rules of one's own, constants, threads -----------------------------------------------------


def _cube(x: float) -> float:
    return x * x * x


def _cube_slope(x: float, out: float) -> float:
    return 3.0 * x * x


@pytest.mark.parametrize("code", [None, Code("x * x * x", ("3.0 * x * x",))], ids=["functions", "code text"])
def test_a_rule_of_ones_own_compiles(code: Code | None) -> None:
    cube = Rule("cube", "³", _cube, (_cube_slope,), "x^3;  d/dx = 3x^2", code=code)
    w = Value(1.5, "w")
    root = apply(cube, w.tanh()) * w
    program = compile_graph(root)
    assert ("_forward" in program.source) is (code is None)
    w.data = -0.75
    got = program()
    g = w.grad
    w.grad = 0.0
    rebuilt = apply(cube, w.tanh()) * w
    rebuilt.backward()
    assert same(got, rebuilt.data) and same(g, w.grad)


def test_a_rule_of_ones_own_whose_code_text_disagrees_with_its_functions_is_refused() -> None:
    """The program would silently compute x * x where the interpreter computes x ** 3."""
    wrong = Rule("cube", "³", _cube, (_cube_slope,), "x^3", code=Code("x * x", ("3.0 * x * x",)))
    with pytest.raises(ValueError, match=r"rule 'cube'.*'x \* x' gives 4.0 where the function gives 8.0"):
        compile_graph(apply(wrong, Value(2.0)))
    slope = Rule("cube", "³", _cube, (_cube_slope,), "x^3", code=Code("x * x * x", ("2.0 * x",)))
    with pytest.raises(ValueError, match=r"'2.0 \* x' gives 4.0 where the function gives 12.0"):
        compile_graph(apply(slope, Value(2.0)))


def test_a_power_with_a_constant_follows_the_data() -> None:
    """x ** constant(...) and constant(...) ** x: the constant is computed again in the
    partials too, not frozen at its recorded number."""
    for make in (lambda a: a ** constant(max, [a]), lambda a: constant(max, [a]) ** a):
        a = Value(2.0, "a")
        program = compile_graph(make(a))
        a.data = 3.0
        got = program()
        fresh = Value(3.0)
        rebuilt = make(fresh)
        rebuilt.backward()
        assert same(got, rebuilt.data) and same(a.grad, fresh.grad), (a.grad, fresh.grad)


def test_leaves_named_like_the_programs_own_names_are_renamed() -> None:
    """A leaf labelled ``wrt`` (or ``inputs``, ``grad``) must not shadow the program's own."""
    leaves = [Value(float(i), name) for i, name in enumerate(("wrt", "inputs", "grad", "program"), 1)]
    root = leaves[0] * leaves[1] + leaves[2] * leaves[3]
    program = compile_graph(root)
    assert program() == 14.0 and program.fallbacks == 0
    assert [leaf.grad for leaf in leaves] == [2.0, 1.0, 4.0, 3.0]


def test_a_constant_follows_the_data() -> None:
    """m = constant(max, zs) is computed again on every run (a frozen max would be stale)."""
    zs = [Value(1.0, "a"), Value(3.0, "b")]

    def lse(values: list[Value]) -> Value:
        m = constant(max, values)
        return dot([(z - m).exp() for z in values], [1.0] * len(values)).log() + m

    program = compile_graph(lse(zs))
    assert "max([a, b])" in program.source
    zs[0].data, zs[1].data = 700.0, -5.0  # e^(700 - 3) would overflow with the old max
    got = program()
    ga, gb = zs[0].grad, zs[1].grad
    zs[0].grad = zs[1].grad = 0.0
    rebuilt = lse(zs)
    rebuilt.backward()
    assert same(got, rebuilt.data) and same(ga, zs[0].grad) and same(gb, zs[1].grad)
    assert program.fallbacks == 0


def test_runs_from_several_threads_add_up_exactly() -> None:
    w1, w2, loss = book()
    program = compile_graph(loss)

    def work() -> None:
        for _ in range(500):
            program()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (w1.grad, w2.grad) == (4 * 500 * 3.0, 4 * 500 * 2.0)


def test_the_recorded_graph_may_be_built_under_no_grad_later() -> None:
    """A program runs whatever the recording switch says (backward() does too)."""
    w1, _w2, loss = book()
    program = compile_graph(loss)
    with no_grad():
        assert program() == 3.5
        w1.data = -1.0
        w1.grad = 0.0
        w1.data = float("nan")
        with pytest.raises(DomainError):
            program()


def test_programs_are_documented_objects() -> None:
    assert Program.__doc__ and "bit for bit" in (compile_graph.__doc__ or "")
    _w1, _w2, loss = book()
    program = compile_graph(loss)
    assert program.nodes == 6
    graph = pickle.loads(pickle.dumps(loss))  # the graph a program is made from pickles
    assert compile_graph(graph)() == 3.5


def test_moons_step_graph_compiles_and_matches(tmp_path: Any) -> None:
    """The benchmark's graph (MLP(2, [16, 16, 1]), 100 points, hinge loss + L2): tens of
    thousands of terms, bit for bit."""
    from nn import MLP, make_moons

    X, labels = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    inputs = [[Value(a), Value(b)] for a, b in X]
    scores = [_one(model(x)) for x in inputs]
    loss = dot([(1 + -(2 * t - 1) * s).relu() for t, s in zip(labels, scores)], [0.01] * len(scores))
    loss = loss + 1e-4 * dot(params, params)
    program = compile_graph(loss)
    assert program() == loss.data
    got = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    loss.backward()
    assert all(map(same, got, [p.grad for p in params]))
    assert program.fallbacks == 0


def _one(out: Any) -> Value:
    return out[0] if isinstance(out, list) else out



# --- several outputs; gradients of some leaves only ---------------------------------------------


def test_a_list_of_outputs_compiles_to_a_forward_program() -> None:
    """Predictions of a batch, say: their values, read again from new data; no backward pass."""
    x, w = Value(0.5, "x"), Value(2.0, "w")
    outs = [(x * w).tanh(), x + w, w]
    program = compile_graph(outs)
    assert program.forward() == [math.tanh(1.0), 2.5, 2.0]
    x.data = -1.0
    assert program.forward() == [math.tanh(-2.0), 1.0, 2.0]
    assert "def program" not in program.source and "return [" in program.source
    with pytest.raises(TypeError, match="no backward pass"):
        program()
    with pytest.raises(TypeError, match="wrt needs one output"):
        compile_graph(outs, wrt=[x])


def test_wrt_adds_up_only_the_gradients_asked_for_bit_for_bit() -> None:
    """Leaves left out of wrt are inputs only: their .grad is untouched; the wanted leaves get
    what backward() gives them, bit for bit."""
    x, n, w = Value(1.5, "x"), Value(3.0, "n"), Value(-0.5, "w")

    def graph() -> Value:
        return (x**n) * w + (x * w).sin() + dot([x, w, n], [w, x, x])

    program = compile_graph(graph(), wrt=[w, x])
    assert program.wrt == (x, w)
    x.data, n.data = 0.75, 2.5
    n.grad = 7.0
    got = program()
    gx, gw = x.grad, w.grad
    assert n.grad == 7.0
    x.grad = w.grad = 0.0
    rebuilt = graph()
    rebuilt.backward()
    assert same(got, rebuilt.data) and same(gx, x.grad) and same(gw, w.grad)
    assert n.grad != 7.0  # backward() gave n its share; the program did not (see above)
    assert program.fallbacks == 0


def test_wrt_skips_the_partials_nobody_asked_for() -> None:
    """d(x^n)/dn has no real value at x < 0; with wrt=[x] it is not computed, as gradients()
    does not compute it."""
    x, n = Value(2.0, "x"), Value(3.0, "n")
    program = compile_graph(x**n, wrt=[x])
    x.data = -2.0
    assert program() == -8.0 and x.grad == 12.0 and n.grad == 0.0
    assert "_pow_d_dy" not in program.source and program.fallbacks == 0


def test_wrt_is_checked() -> None:
    w1, _, loss = book()
    with pytest.raises(ValueError, match="wrt must name leaves of the graph, got an operation node"):
        compile_graph(loss, wrt=[loss])
    with pytest.raises(ValueError, match="a leaf this graph does not use"):
        compile_graph(loss, wrt=[Value(1.0)])
    with pytest.raises(TypeError, match=r"compile\(\) wrt must be a list, got Value"):
        compile_graph(loss, wrt=w1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="wrt names a leaf twice"):
        compile_graph(loss, wrt=[w1, w1])
    with pytest.raises(TypeError, match=r"compile\(\) wrt must be Values, got float"):
        compile_graph(loss, wrt=[1.0])  # type: ignore[list-item]
