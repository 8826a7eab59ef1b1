"""chaingrad against micrograd==0.1.0, a hand-written plain-float step, and torch==2.13.0 (CPU,
0-dim tensors) when installed.

    python benchmarks/bench_engine.py [--rounds 5] [--quick]

(a) one training step of micrograd's demo: MLP(2, [16, 16, 1]) with relu on 100 two-moons
    points, hinge loss + 1e-4 L2, zero_grad, forward and backward, SGD update; the median of 5
    steps after 9 that warm up (see WARM_UP). Engines:
    - micrograd, torch, chaingrad: the model written as micrograd writes it, one graph node per
      scalar operation (``act = b + w0*x0 + w1*x1 + ...``);
    - chaingrad-nn: chaingrad's own ``nn.MLP``, one ``dot`` node per weighted sum;
    - compiled, compiled-nn: the same two graphs recorded once and compiled with
      ``autodiff.compile``; each step runs the program (the compile time is reported apart);
    - handwritten: the same step written by hand on lists of floats, no graph at all: the speed
      a compiled program aims for.
(b) a chain y = y*1.0001 + 0.0001 of N operations, build + backward;
(c) bytes per graph node while a chain is alive (tracemalloc; torch allocates outside its view);
(d) seconds to compile the step's graph, per granularity.

Every measurement runs in a fresh process (the cyclic garbage collector makes a step's cost depend
on everything else alive in the process), engines interleaved round by round; the tables quote
the median over rounds and how many times faster than micrograd (and than the hand-written step)
each engine is.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from operator import mul
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from nn.data import make_moons  # noqa: E402  (pure data: the same points for every engine)

ENGINES = ("micrograd", "torch", "chaingrad", "chaingrad-nn", "compiled", "compiled-nn", "handwritten")
GRAPH_ENGINES = ("micrograd", "torch", "chaingrad")
"""The engines that build a graph node by node (the chain and memory cases)."""


# --- what runs inside one child process ------------------------------------------------------


def initial_weights(sizes: list[int], seed: int = 0) -> list[float]:
    """micrograd's initialization, in its parameter order (layer by layer, neuron by neuron,
    weights then bias): weights uniform in [-1, 1] from ``random.Random(seed)``, biases 0."""
    rng = random.Random(seed)
    return [
        value
        for nin, nout in itertools.pairwise(sizes)
        for _ in range(nout)
        for value in [*(rng.uniform(-1, 1) for _ in range(nin)), 0.0]
    ]


class ScalarMLP:
    """micrograd's MLP for any engine's scalar type: one graph node per scalar operation,
    ``act = b + w0*x0 + w1*x1 + ...``, relu on hidden layers."""

    def __init__(self, make_parameter: Callable[[float], Any], sizes: list[int]) -> None:
        values = iter(initial_weights(sizes))
        self.layers = [
            [
                ([make_parameter(next(values)) for _ in range(nin)], make_parameter(next(values)))
                for _ in range(nout)
            ]
            for nin, nout in itertools.pairwise(sizes)
        ]

    def __call__(self, x: list[Any]) -> Any:
        for depth, layer in enumerate(self.layers):
            out = []
            for w, b in layer:
                act = b
                for wi, xi in zip(w, x):
                    act = act + wi * xi
                out.append(act if depth == len(self.layers) - 1 else act.relu())
            x = out
        return x[0]

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for w, b in layer for p in (*w, b)]


SIZES = [2, 16, 16, 1]
Model = tuple[Callable[[Any], Any], list[Any]]

WARM_UP = 9
"""Steps run before the timed ones, by every engine: CPython (3.11 and later) specializes a
function's bytecode for the types it meets once the function has run 8 times. An interpreter's
functions run thousands of times in the first step; a compiled program's lines run once per
step, so its first 8 steps are about 40% slower than the rest."""


def make_engine(name: str) -> tuple[Callable[[float], Any], Callable[[], Model]]:
    """(make an input leaf from a float, make the demo model) for one engine that builds graphs;
    every model starts from the same weights."""
    if name in ("chaingrad", "chaingrad-nn", "compiled", "compiled-nn"):
        from autodiff import Value
        from nn import MLP

        def chaingrad_model() -> Model:
            if not name.endswith("-nn"):
                scalar = ScalarMLP(Value, SIZES)
                return scalar, scalar.parameters()
            model = MLP(SIZES[0], SIZES[1:], activation="relu", seed=0)
            for p, value in zip(model.parameters(), initial_weights(SIZES)):
                p.data = value

            def one_output(x: list[Any]) -> Any:
                out = model(x)
                return out[0] if isinstance(out, list) else out

            return one_output, model.parameters()

        return Value, chaingrad_model
    if name == "micrograd":
        from micrograd.engine import Value as MicroValue
        from micrograd.nn import MLP as MicroMLP  # noqa: N811

        def micrograd_model() -> Model:
            model = MicroMLP(SIZES[0], SIZES[1:])
            for p, value in zip(model.parameters(), initial_weights(SIZES)):
                p.data = value
            return model, model.parameters()

        return MicroValue, micrograd_model
    import torch

    def torch_model() -> Model:
        scalar = ScalarMLP(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True), SIZES)
        return scalar, scalar.parameters()

    return (lambda v: torch.tensor(v, dtype=torch.float64)), torch_model


def demo_loss(model: Callable[[Any], Any], params: list[Any], inputs: list[list[Any]], ys: list[int]) -> Any:
    """micrograd's demo loss: the mean hinge loss of the scores, plus 1e-4 times the sum of the
    squared parameters."""
    scores = [model(x) for x in inputs]
    data_loss = sum((1 + -y * s).relu() for y, s in zip(ys, scores)) * (1.0 / len(ys))
    return data_loss + 1e-4 * sum(p * p for p in params)


def run_step(engine: str, steps: int) -> dict[str, Any]:
    """The median seconds of ``steps`` training steps after one to warm up, and the loss."""
    if engine == "handwritten":
        return run_handwritten(steps)
    leaf, make_model = make_engine(engine)
    model, params = make_model()
    xs, labels = make_moons(100, noise=0.1, seed=0)
    ys = [2 * label - 1 for label in labels]
    learning_rate = lambda k: 1.0 - 0.9 * k / 100
    result: dict[str, Any] = {}
    if engine.startswith("compiled"):
        from autodiff import compile

        inputs = [[leaf(v) for v in row] for row in xs]  # recorded once: the program's inputs
        loss = demo_loss(model, params, inputs, ys)  # the graph, recorded once
        start = time.perf_counter()
        program = compile(loss)
        result["compile_seconds"] = time.perf_counter() - start
        del loss

        def train_step(k: int) -> float:
            for p in params:
                p.grad = 0.0
            loss = program()
            for p in params:
                p.data -= learning_rate(k) * p.grad
            return loss

    elif engine == "torch":
        import torch

        def train_step(k: int) -> float:
            total = demo_loss(model, params, [[leaf(v) for v in row] for row in xs], ys)
            for p in params:
                p.grad = None
            total.backward()
            with torch.no_grad():
                for p in params:
                    p -= learning_rate(k) * p.grad
            return float(total.item())

    else:

        def train_step(k: int) -> float:
            total = demo_loss(model, params, [[leaf(v) for v in row] for row in xs], ys)
            for p in params:
                p.grad = 0.0
            total.backward()
            for p in params:
                p.data -= learning_rate(k) * p.grad
            return float(total.data)

    times, losses = [], []
    for k in range(WARM_UP + steps):
        start = time.perf_counter()
        losses.append(train_step(k))
        if k >= WARM_UP:
            times.append(time.perf_counter() - start)
    return {**result, "seconds": statistics.median(times), "loss": losses[-1]}


Weights = list[list[list[float]]]


def handwritten_step(weights: Weights, xs: list[list[float]], ys: list[int], lr: float) -> float:
    """The demo step on plain floats, as one would write it by hand: forward through the layers
    (each neuron a list [w_0, ..., w_n-1, b]), then backward from the hinge loss, then SGD."""
    n = len(xs)
    grads = [[[0.0] * len(neuron) for neuron in layer] for layer in weights]
    last = len(weights) - 1
    loss = 0.0
    for x, y in zip(xs, ys):
        activations = [x]
        for i, layer in enumerate(weights):
            a = activations[-1]
            z = [sum(map(mul, neuron, a)) + neuron[-1] for neuron in layer]  # map stops at len(a)
            activations.append(z if i == last else [v if v > 0.0 else 0.0 for v in z])
        margin = 1.0 - y * activations[-1][0]
        if margin <= 0.0:  # relu'(margin) = 0: nothing flows back from this point
            continue
        loss += margin
        upstream = [-y / n]
        for i in range(last, -1, -1):
            a = activations[i]
            for neuron_grads, g in zip(grads[i], upstream):
                for k, a_k in enumerate(a):
                    neuron_grads[k] += g * a_k
                neuron_grads[-1] += g
            if i:
                layer = weights[i]
                upstream = [
                    sum(g * neuron[k] for g, neuron in zip(upstream, layer)) if a_k > 0.0 else 0.0
                    for k, a_k in enumerate(a)
                ]
    squares = 0.0
    for layer, layer_grads in zip(weights, grads):
        for neuron, neuron_grads in zip(layer, layer_grads):
            for k, w in enumerate(neuron):
                squares += w * w
                neuron[k] = w - lr * (neuron_grads[k] + 2e-4 * w)
    return loss / n + 1e-4 * squares


def run_handwritten(steps: int) -> dict[str, Any]:
    values = iter(initial_weights(SIZES))
    weights = [
        [[next(values) for _ in range(nin + 1)] for _ in range(nout)]
        for nin, nout in itertools.pairwise(SIZES)
    ]
    xs, labels = make_moons(100, noise=0.1, seed=0)
    ys = [2 * label - 1 for label in labels]
    times, losses = [], []
    for k in range(WARM_UP + steps):
        start = time.perf_counter()
        losses.append(handwritten_step(weights, xs, ys, 1.0 - 0.9 * k / 100))
        if k >= WARM_UP:
            times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "loss": losses[-1]}


def run_chain(engine: str, n: int) -> dict[str, Any]:
    leaf, _ = make_engine(engine)
    if engine == "micrograd":
        sys.setrecursionlimit(max(10_000, 4 * n + 1000))
    if engine == "torch":
        import torch

        y = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    else:
        y = leaf(1.0)
    x = y
    start = time.perf_counter()
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    y.backward()
    seconds = time.perf_counter() - start
    grad = float(x.grad)
    expected = 1.0001**n
    return {"seconds": seconds, "grad_ok": abs(grad - expected) <= 1e-9 * expected}


def run_memory(engine: str, n: int) -> dict[str, Any]:
    import tracemalloc

    leaf, _ = make_engine(engine)
    y = leaf(1.0)
    keep = y
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    return {"bytes_per_node": (after - before) / (2 * n)}


def run_fit(engine: str, epochs: int) -> dict[str, Any]:
    """``nn.fit`` of the demo (MLP(2, [16, 16, 1]) on 100 moons points, 50 held out, logistic
    loss, Adam, full batch): the whole run, and the median epoch after the first (which, with
    ``compile=True``, also records and compiles the programs)."""
    from nn import MLP, Adam, fit, train_test_split

    X, labels = make_moons(150, noise=0.1, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=50, seed=0)
    model = MLP(2, [16, 16, 1], activation="relu", seed=1)
    start = time.perf_counter()
    optimizer = Adam(model.parameters(), lr=0.05)
    history = fit(model, (X_train, y_train), "binary_cross_entropy_with_logits", optimizer, epochs,
                  validation_data=(X_test, y_test), progress=False, compile=engine == "compiled-nn")
    seconds = time.perf_counter() - start
    per_epoch = statistics.median(history["seconds"][1:])
    return {"seconds": seconds, "per_epoch": per_epoch, "loss": history.loss[-1]}


def child(args: argparse.Namespace) -> None:
    task = {"step": run_step, "chain": run_chain, "memory": run_memory, "fit": run_fit}[args.task]
    print(json.dumps(task(args.engine, args.n)))


# --- the driver ------------------------------------------------------------------------------


def available(engine: str) -> bool:
    module = {"micrograd": "micrograd", "torch": "torch"}.get(engine, "autodiff")
    probe = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import {module}"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def measure(engine: str, task: str, n: int) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--task", task, "--n", str(n)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        print(f"  {engine} {task} n={n}: failed ({tail[:100]})", file=sys.stderr)
        return None
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def table(
    title: str, cases: list[tuple[str, int]], engines: list[str], rounds: int, key: str
) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    """Run every case on every engine, ``rounds`` times interleaved, and print the medians and
    how many times faster than micrograd (and than the hand-written step) each engine is."""
    print(f"\n{title}")
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for _ in range(rounds):
        for task, n in cases:
            for engine in engines:
                out = measure(engine, task, n)
                if out is not None:
                    results.setdefault((engine, task, n), []).append(out)
    peers = [peer for peer in ("micrograd", "handwritten") if peer in engines]
    print(f"{'case':>14} {'engine':>13} {key:>14} " + " ".join(f"{peer + ' / engine':>24}" for peer in peers))
    for task, n in cases:
        medians = {
            e: statistics.median(r[key] for r in results[(e, task, n)])
            for e in engines
            if results.get((e, task, n))
        }
        for engine in engines:
            if engine not in medians:
                continue
            ratios = " ".join(
                f"{medians[peer] / medians[engine]:>23.1f}x" if peer in medians else f"{'-':>24}"
                for peer in peers
            )
            print(f"{task + ' ' + str(n):>14} {engine:>13} {medians[engine]:>14.5g} {ratios}")
        losses = [f"{e} {results[(e, task, n)][0]['loss']:.15g}" for e in engines if "loss" in
                  results.get((e, task, n), [{}])[0]]
        if losses:
            print(f"{'':>14} loss after the last step: " + ", ".join(losses))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="fresh-process rounds per case")
    parser.add_argument("--quick", action="store_true", help="smaller chains, 3 rounds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=("step", "chain", "memory", "fit"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    engines = [e for e in ENGINES if available(e)]
    rounds = 3 if args.quick else args.rounds
    print(f"engines: {', '.join(engines)}; {rounds} rounds; median of fresh processes;"
          f" Python {sys.version.split()[0]}")
    steps = table(
        "(a) micrograd demo training step, seconds per step", [("step", 5)], engines, rounds, "seconds"
    )
    graph_engines = [e for e in engines if e in GRAPH_ENGINES]
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    table("(b) chain y = y*1.0001 + 0.0001, build + backward, seconds", [("chain", n) for n in sizes],
          graph_engines, rounds, "seconds")
    table("(c) bytes per graph node (tracemalloc)", [("memory", 100_000)],
          [e for e in graph_engines if e != "torch"], 1, "bytes_per_node")
    print("\n(d) compiling the step's graph, seconds (median over rounds)")
    for engine in ("compiled", "compiled-nn"):
        runs = steps.get((engine, "step", 5), [])
        if runs:
            print(f"{engine:>14} {statistics.median(r['compile_seconds'] for r in runs):>10.3f}")
    fits = [e for e in engines if e in ("chaingrad-nn", "compiled-nn")]
    epochs = 20 if args.quick else 100
    runs = table(f"(e) nn.fit on moons, {epochs} epochs, seconds in all (compile=False, compile=True)",
                 [("fit", epochs)], fits, rounds, "seconds")
    for engine in fits:
        found = runs.get((engine, "fit", epochs), [])
        if found:
            per_epoch = statistics.median(r["per_epoch"] for r in found)
            print(f"{engine:>14} median epoch after the first: {per_epoch:.4f} s")


if __name__ == "__main__":
    main()
