"""Reverse mode: accumulation, no doubling, reuse, diamonds, seeding, zero_grad, detach,
no_grad (threads, decorator, exceptions, nesting), topological_order, reproducibility, a chain of
two million nodes, and the absence of reference cycles."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import random
import sys
import threading

import pytest
from helpers import ValueOps, random_program

import autodiff
from autodiff import Value, is_grad_enabled, no_grad, topological_order

# --- the documented semantics ---------------------------------------------------------------


def test_documented_example_accumulates_leaves_and_recomputes_intermediates() -> None:
    a = Value(3.0)
    b = Value(2.0)
    c = a * b
    d = c + a
    d.backward()
    assert (a.grad, b.grad, c.grad, d.grad) == (3.0, 3.0, 1.0, 1.0)
    d.backward()
    assert a.grad == 6.0
    assert b.grad == 6.0
    assert c.grad == 1.0
    assert d.grad == 1.0


def test_reused_operand_counts_every_use() -> None:
    a = Value(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


@pytest.mark.parametrize(("x", "expected"), [(2.0, 4.0), (-3.0, -6.0), (0.0, 0.0)])
def test_self_multiplication(x: float, expected: float) -> None:
    a = Value(x)
    (a * a).backward()
    assert a.grad == expected


def test_diamond_graph() -> None:
    """d = (3a) * e^a: dd/da = 3 e^a + 3 a e^a, both paths through a summed."""
    a = Value(0.7)
    b = a * 3.0
    c = a.exp()
    d = b * c
    d.backward()
    assert a.grad == pytest.approx(3 * math.exp(0.7) * (1 + 0.7), rel=1e-15, abs=0.0)
    assert b.grad == c.data
    assert c.grad == b.data


def test_wide_fan_out_and_fan_in() -> None:
    """y = sum_k k * x over k = 1..100, all reading one leaf: dy/dx = 5050 exactly."""
    x = Value(0.3)
    terms = [x * float(k) for k in range(1, 101)]
    y = terms[0]
    for t in terms[1:]:
        y = y + t
    y.backward()
    assert x.grad == 5050.0
    assert all(t.grad == 1.0 for t in terms)


def test_deep_reconvergent_graph_no_exponential_blowup() -> None:
    """x -> x + x repeated 60 times: 2^60 paths; a naive recursive backward would never end,
    the gradient is exactly 2^60."""
    x = Value(1.0)
    y = x
    for _ in range(60):
        y = y + y
    y.backward()
    assert x.grad == 2.0**60
    assert y.data == 2.0**60


@pytest.mark.parametrize("seed", [2.0, 0.5, -4.0, 0.0, 8, True])
def test_backward_seed_scales_every_gradient(seed: float) -> None:
    """Power-of-two seeds (and 0, ints) scale every product exactly."""
    a, b = Value(1.3), Value(-0.4)
    out = (a * b).tanh() + a.exp() * b
    out.backward()
    unit = (a.grad, b.grad)
    a.grad = b.grad = 0.0
    out.backward(seed)
    assert out.grad == float(seed)
    assert (a.grad, b.grad) == (unit[0] * seed, unit[1] * seed)


def test_backward_seed_non_power_of_two() -> None:
    a = Value(0.3)
    out = a.sin() * a
    out.backward(2.5)
    assert a.grad == pytest.approx(2.5 * (math.cos(0.3) * 0.3 + math.sin(0.3)), rel=1e-15, abs=0.0)


def test_backward_on_a_leaf() -> None:
    a = Value(7.0)
    a.backward()
    assert a.grad == 1.0
    a.backward()
    assert a.grad == 2.0
    a.backward(0.5)
    assert a.grad == 2.5


def test_leaves_accumulate_across_different_roots() -> None:
    x = Value(2.0)
    y1 = x * 3.0
    y2 = x * x
    y1.backward()
    y2.backward()
    assert x.grad == 3.0 + 4.0


def test_shared_intermediate_gradient_is_recomputed_per_root() -> None:
    x = Value(2.0)
    shared = x * x
    r1 = shared * 2.0
    r2 = shared * 3.0
    r1.backward()
    assert shared.grad == 2.0
    r2.backward()
    assert shared.grad == 3.0  # not 5: intermediates are recomputed
    assert x.grad == 2.0 * 4.0 + 3.0 * 4.0


def test_backward_twice_doubles_leaves_and_keeps_intermediates() -> None:
    rng = random.Random(7)
    program = random_program(rng, 3, 25)
    leaves = [Value(rng.uniform(-2, 2)) for _ in range(3)]
    slots = program.run(ValueOps, leaves)
    out = slots[-1]
    out.backward()
    first = {id(v): v.grad for v in topological_order(out)}
    out.backward()
    for node in topological_order(out):
        if node.is_leaf:
            assert node.grad == pytest.approx(2 * first[id(node)], rel=1e-14, abs=1e-300)
        else:
            assert node.grad == first[id(node)]


def test_intermediate_edited_grad_is_overwritten() -> None:
    """A stale value left in an intermediate's .grad does not leak into the next backward."""
    x = Value(1.0)
    mid = x * 2.0
    out = mid * 3.0
    mid.grad = 1000.0
    out.grad = -5.0
    out.backward()
    assert out.grad == 1.0
    assert mid.grad == 3.0
    assert x.grad == 6.0


def test_zero_grad_clears_the_whole_graph_below() -> None:
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c.exp() + a
    other = Value(5.0)
    other.grad = 9.0
    d.backward()
    assert all(node.grad != 0.0 for node in (a, b, c, d))
    c.zero_grad()
    assert (a.grad, b.grad, c.grad) == (0.0, 0.0, 0.0)
    assert d.grad == 1.0  # above c: untouched
    d.zero_grad()
    assert all(node.grad == 0.0 for node in topological_order(d))
    assert other.grad == 9.0  # not part of the graph
    d.backward()
    assert a.grad == pytest.approx(b.data * math.exp(c.data) + 1.0, rel=1e-15, abs=0.0)


def test_detach_makes_a_new_leaf() -> None:
    x = Value(3.0, "x")
    y = x * x
    y.backward()
    z = y.detach()
    assert z is not y
    assert z.is_leaf and z.op is None and z.inputs == ()
    assert z.data == y.data
    assert z.grad == 0.0
    assert z.label == y.label
    assert x.detach().label == "x"


def test_detach_stops_the_gradient() -> None:
    x = Value(3.0)
    y = x.detach() * x  # treated as c * x with c = 3
    y.backward()
    assert x.grad == 3.0
    assert topological_order(y)[-1] is y
    assert x in topological_order(y)


# --- no_grad ---------------------------------------------------------------------------------


def test_no_grad_records_nothing() -> None:
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 3.0).exp() + x
        z = x.leaky_relu(Value(0.1)) - 1.0
    assert is_grad_enabled()
    for node in (y, z):
        assert node.is_leaf
        assert node.op is None
        assert node.inputs == ()
    assert y.data == math.exp(6.0) + 2.0
    assert topological_order(y) == [y]
    y.backward()
    assert x.grad == 0.0  # nothing flows back to x


def test_values_made_under_no_grad_are_leaves_of_later_graphs() -> None:
    w = Value(1.5)
    with no_grad():
        frozen = w * 2.0
    out = frozen * w
    out.backward()
    assert w.grad == 3.0  # only the recorded path
    assert frozen.grad == 1.5


def test_no_grad_nests() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        assert (Value(1.0) + 1).is_leaf
    assert is_grad_enabled()
    assert not (Value(1.0) + 1).is_leaf


def test_one_no_grad_instance_can_be_reused_and_nested() -> None:
    guard = no_grad()
    with guard:
        with guard:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with guard:
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_restores_on_exception() -> None:
    with pytest.raises(RuntimeError), no_grad(), no_grad():
        raise RuntimeError("boom")
    assert is_grad_enabled()
    with pytest.raises(autodiff.DomainError), no_grad():
        Value(-1.0).log()
    assert is_grad_enabled()


def test_no_grad_as_decorator() -> None:
    seen = []

    @no_grad()
    def evaluate(x: Value) -> Value:
        seen.append(is_grad_enabled())
        return x * x + 1.0

    @no_grad()
    def fail() -> None:
        seen.append(is_grad_enabled())
        raise KeyError("x")

    out = evaluate(Value(2.0))
    assert out.is_leaf and out.data == 5.0
    assert is_grad_enabled()
    with pytest.raises(KeyError):
        fail()
    assert is_grad_enabled()
    assert seen == [False, False]
    assert evaluate.__name__ == "evaluate"
    with no_grad():
        evaluate(Value(1.0))  # decorated call inside a block: still off afterwards
        assert not is_grad_enabled()
    assert is_grad_enabled()


def _run_in_thread(target) -> threading.Thread:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def wrapper() -> None:
        try:
            target()
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    thread = threading.Thread(target=wrapper, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _join(thread: threading.Thread) -> None:
    thread.join(timeout=10)
    assert not thread.is_alive(), "thread did not finish"
    errors = thread.errors  # type: ignore[attr-defined]
    if errors:
        raise errors[0]


def test_no_grad_in_one_thread_does_not_affect_another() -> None:
    inside = threading.Event()
    main_checked = threading.Event()
    seen: dict[str, bool] = {}

    def worker() -> None:
        with no_grad():
            seen["worker inside"] = is_grad_enabled()
            seen["worker node is leaf"] = (Value(1.0) * 2).is_leaf
            inside.set()
            assert main_checked.wait(10)
            seen["worker still inside"] = is_grad_enabled()
        seen["worker after"] = is_grad_enabled()

    thread = _run_in_thread(worker)
    assert inside.wait(10)
    # the worker is inside no_grad right now
    assert is_grad_enabled()
    assert not (Value(1.0) * 2).is_leaf
    main_checked.set()
    _join(thread)
    assert seen == {
        "worker inside": False,
        "worker node is leaf": True,
        "worker still inside": False,
        "worker after": True,
    }


def test_a_new_thread_records_even_while_the_main_thread_is_in_no_grad() -> None:
    seen: dict[str, bool] = {}

    def worker() -> None:
        seen["enabled"] = is_grad_enabled()
        seen["recorded"] = not (Value(1.0) + 1.0).is_leaf

    with no_grad():
        _join(_run_in_thread(worker))
        assert not is_grad_enabled()
    assert seen == {"enabled": True, "recorded": True}


def test_no_grad_threads_interleaving_under_a_barrier() -> None:
    """Two threads, one inside no_grad and one not, building nodes in lock-step many times."""
    rounds = 200
    barrier = threading.Barrier(2, timeout=10)
    results: dict[str, list[bool]] = {"off": [], "on": []}

    def work(name: str, disable: bool) -> None:
        def body() -> None:
            for _ in range(rounds):
                barrier.wait()
                results[name].append((Value(1.0) * 2.0).is_leaf)
                barrier.wait()

        if disable:
            with no_grad():
                body()
        else:
            body()

    threads = [_run_in_thread(lambda: work("off", True)), _run_in_thread(lambda: work("on", False))]
    for thread in threads:
        _join(thread)
    assert results["off"] == [True] * rounds
    assert results["on"] == [False] * rounds
    assert is_grad_enabled()


def test_no_grad_restores_its_own_state_when_asyncio_tasks_interleave() -> None:
    """Leaving a no_grad block restores what was in effect on entry, in that task. Task A enters
    and waits; task B (created inside a no_grad block, so it starts with recording off) enters
    its own block; A leaves first and must be recording again."""

    async def scenario() -> bool:
        a_inside, b_inside = asyncio.Event(), asyncio.Event()

        async def task_a() -> bool:
            with no_grad():
                a_inside.set()
                await b_inside.wait()
            return is_grad_enabled()

        async def task_b() -> None:
            await a_inside.wait()
            with no_grad():
                b_inside.set()
                await asyncio.sleep(0.01)

        a = asyncio.create_task(task_a())
        with no_grad():
            b = asyncio.create_task(task_b())
        result = await a
        await b
        return result

    assert asyncio.run(scenario()) is True
    assert is_grad_enabled()


# --- topological order -------------------------------------------------------------------


def _reachable(root: Value) -> set[int]:
    """Every node reachable from root, found without the engine's traversal."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        todo.extend(i for i in node.inputs if isinstance(i, Value))
    return seen


@pytest.mark.parametrize("seed", range(20))
def test_topological_order_properties(seed: int) -> None:
    rng = random.Random(seed)
    program = random_program(rng, rng.randint(1, 4), rng.randint(1, 40))
    leaves = [Value(rng.uniform(-2, 2)) for _ in range(program.n_inputs)]
    out = program.run(ValueOps, leaves)[-1]
    order = topological_order(out)
    ids = [id(node) for node in order]
    assert all(type(node) is Value for node in order)
    assert len(ids) == len(set(ids)), "a node appears twice"
    assert set(ids) == _reachable(out), "missing or extra nodes"
    assert order[-1] is out
    position = {id(node): k for k, node in enumerate(order)}
    for node in order:
        for parent in node.inputs:
            if isinstance(parent, Value):
                assert position[id(parent)] < position[id(node)], "an input comes after its consumer"
    assert [id(n) for n in topological_order(out)] == ids  # deterministic


def test_topological_order_of_a_leaf_and_of_shared_inputs() -> None:
    x = Value(1.0)
    assert topological_order(x) == [x]
    y = x * x
    assert topological_order(y) == [x, y]
    z = (y + x) * y
    order = topological_order(z)
    assert len(order) == 4 and order[0] is x and order[-1] is z
    assert order.index(y) < order.index(z)


def test_topological_order_of_a_long_chain_is_iterative() -> None:
    x = Value(0.5)
    y = x
    for _ in range(50_000):
        y = -y
    limit = sys.getrecursionlimit()
    order = topological_order(y)
    assert sys.getrecursionlimit() == limit
    assert len(order) == 50_001
    assert order[0] is x and order[-1] is y


# --- reproducibility ------------------------------------------------------------------------


def _gradients_of_random_graph(seed: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    program = random_program(rng, 4, 60)
    leaves = [Value(rng.uniform(-2, 2)) for _ in range(4)]
    slots = program.run(ValueOps, leaves)
    total = slots[0]
    for s in slots[1:]:  # every slot feeds the output: many gradients are sums of many terms
        total = total + s * rng.uniform(-1, 1)
    total.backward()
    return [s.data for s in slots], [s.grad for s in slots]


@pytest.mark.parametrize("seed", range(5))
def test_gradients_are_bit_for_bit_reproducible(seed: int) -> None:
    """The same graph built twice (at different addresses) gives identical bits: the order in
    which a node's gradient terms are summed must not depend on ids, hashes or set order."""
    data1, grads1 = _gradients_of_random_graph(seed)
    data2, grads2 = _gradients_of_random_graph(seed)
    assert data1 == data2
    assert grads1 == grads2  # exact float equality, not approx
    assert any(g != 0.0 for g in grads1[:4])


# --- depth ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_million_node_chain_at_the_default_recursion_limit() -> None:
    limit = sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0001 + 0.0001
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad == pytest.approx(1.0001**1_000_000, rel=1e-9, abs=0.0)
    assert y.grad == 1.0
    del y  # freeing two million nested nodes must not overflow the C stack either


# --- memory: no reference cycles -------------------------------------------------------------


def _live_values() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)


def _exercise_the_engine(make_cycle: bool) -> None:
    x, w = Value(0.3, "x"), Value(-1.2, "w")
    h = (x * w + 0.5).tanh()
    y = (h * h).exp() + h.sigmoid() * w - (x ** 2).sqrt() + abs(w).log() + 2 ** x + 1 / w
    y = y.relu() + y.softplus() + y.leaky_relu(w) + y.sin() * y.cos()
    y.backward()
    y.backward(0.5)
    topological_order(y)
    y.zero_grad()
    y.detach()
    with no_grad():
        (x * w).exp()
    with contextlib.suppress(autodiff.DomainError):  # an error mid-backward leaves no cycle either
        (Value(0.0) ** 0.5).backward()
    if make_cycle:
        y.grad = y  # type: ignore[assignment]  # a node that refers to itself


def _leaked_after(make_cycle: bool) -> tuple[int, int]:
    """(Values still alive, objects the collector then finds) after running the engine with the
    cyclic collector off: without cycles, reference counting alone frees everything."""
    _exercise_the_engine(False)  # warm-up: lazy imports and caches are not leaks
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        before = _live_values()
        _exercise_the_engine(make_cycle)
        leaked = _live_values() - before
        collected = gc.collect()
    finally:
        if enabled:
            gc.enable()
    return leaked, collected


def test_graphs_hold_no_reference_cycles() -> None:
    leaked, collected = _leaked_after(make_cycle=False)
    assert leaked == 0
    assert collected == 0


def test_the_cycle_check_detects_a_self_referencing_node() -> None:
    """The check above is not vacuous: one node that refers to itself keeps the whole graph
    below it alive until the collector runs."""
    leaked, collected = _leaked_after(make_cycle=True)
    assert leaked > 0
    assert collected > 0
