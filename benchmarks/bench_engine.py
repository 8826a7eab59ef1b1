"""chaingrad against micrograd==0.1.0 (and torch==2.13.0 0-dim tensors, when installed).

    python benchmarks/bench_engine.py [--rounds 5] [--quick]

(a) one training step of micrograd's demo: MLP(2, [16, 16, 1]) on 100 two-moons points, hinge
    loss + 1e-4 L2, zero_grad, backward, SGD update; written the same way for every engine, one
    graph node per scalar operation;
(b) a chain y = y*1.0001 + 0.0001 of N operations, build + backward;
(c) bytes per graph node while a chain is alive (tracemalloc; torch allocates outside its view).

Every measurement runs in a fresh process (the cyclic garbage collector makes a step's cost depend
on everything else alive in the process), engines interleaved round by round; the table quotes
the median over rounds and the ratio of each peer's median to chaingrad's.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from nn.data import make_moons  # noqa: E402  (pure data: the same points for every engine)

ENGINES = ("chaingrad", "chaingrad-nn", "micrograd", "torch")
"""chaingrad at micrograd's granularity (one node per scalar op), chaingrad's nn.MLP (one
n-ary node per neuron's weighted sum), micrograd 0.1.0, torch 0-dim tensors."""


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


def make_engine(name: str) -> tuple[Callable[[float], Any], Callable[[], Model]]:
    """(make an input leaf from a float, make the demo model) for one engine; every model starts
    from the same weights."""
    if name.startswith("chaingrad"):
        sys.path.insert(0, str(ROOT))
        from autodiff import Value
        from nn import MLP

        def chaingrad_model() -> Model:
            if name == "chaingrad":
                scalar = ScalarMLP(Value, SIZES)
                return scalar, scalar.parameters()
            model = MLP(SIZES[0], SIZES[1:], activation="relu", seed=0)
            for p, value in zip(model.parameters(), initial_weights(SIZES)):
                p.data = value
            return (lambda x: model(x)[0]), model.parameters()

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


def run_step(engine: str, steps: int) -> dict[str, Any]:
    leaf, make_model = make_engine(engine)
    model, params = make_model()
    xs, labels = make_moons(100, noise=0.1, seed=0)
    ys = [2 * label - 1 for label in labels]
    is_torch = engine == "torch"
    if is_torch:
        import torch

    def train_step(k: int) -> float:
        inputs = [[leaf(v) for v in row] for row in xs]
        scores = [model(x) for x in inputs]
        data_loss = sum((1 + -y * s).relu() for y, s in zip(ys, scores)) * (1.0 / len(ys))
        total = data_loss + 1e-4 * sum(p * p for p in params)
        learning_rate = 1.0 - 0.9 * k / 100
        if is_torch:
            for p in params:
                p.grad = None
            total.backward()
            with torch.no_grad():
                for p in params:
                    p -= learning_rate * p.grad
            return float(total.item())
        for p in params:
            p.grad = 0.0
        total.backward()
        for p in params:
            p.data -= learning_rate * p.grad
        return float(total.data)

    times, losses = [], []
    for k in range(steps + 1):  # step 0 warms up
        start = time.perf_counter()
        losses.append(train_step(k))
        if k:
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


def child(args: argparse.Namespace) -> None:
    task = {"step": run_step, "chain": run_chain, "memory": run_memory}[args.task]
    print(json.dumps(task(args.engine, args.n)))


# --- the driver ------------------------------------------------------------------------------


def available(engine: str) -> bool:
    module = {"chaingrad": "autodiff", "chaingrad-nn": "nn", "micrograd": "micrograd", "torch": "torch"}[
        engine
    ]
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


def table(title: str, cases: list[tuple[str, int]], engines: list[str], rounds: int, key: str) -> None:
    """Run every case on every engine, ``rounds`` times interleaved, and print the medians and
    how many times each peer's median is chaingrad's."""
    print(f"\n{title}")
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for _ in range(rounds):
        for task, n in cases:
            for engine in engines:
                out = measure(engine, task, n)
                if out is not None:
                    results.setdefault((engine, task, n), []).append(out)
    ours = [e for e in engines if e.startswith("chaingrad")]
    ratios = [(peer, mine) for peer in engines if peer not in ours for mine in ours]
    print(
        f"{'case':>14} "
        + " ".join(f"{e:>13}" for e in engines)
        + "  "
        + " ".join(f"{peer + '/' + mine:>23}" for peer, mine in ratios)
    )
    for task, n in cases:
        runs = {e: results.get((e, task, n), []) for e in engines}
        medians = {e: statistics.median(r[key] for r in runs[e]) for e in engines if runs[e]}
        cells = " ".join(f"{medians[e]:>13.5g}" if e in medians else f"{'-':>13}" for e in engines)
        shown = " ".join(
            f"{medians[peer] / medians[mine]:>22.1f}x"
            if peer in medians and mine in medians
            else f"{'-':>23}"
            for peer, mine in ratios
        )
        print(f"{task + ' ' + str(n):>14} {cells}  {shown}")
        if "loss" in next(iter(runs.values()), [{}])[0]:
            losses = "  ".join(f"{e} {runs[e][0]['loss']:.15g}" for e in engines if runs[e])
            print(f"{'':>14} loss after the last step: {losses}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="fresh-process rounds per case")
    parser.add_argument("--quick", action="store_true", help="smaller chains, 3 rounds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=("step", "chain", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    engines = [e for e in ENGINES if available(e)]
    rounds = 3 if args.quick else args.rounds
    print(
        f"engines: {', '.join(engines)}; {rounds} rounds; median of fresh processes;"
        f" Python {sys.version.split()[0]}"
    )
    table("(a) micrograd demo training step, seconds per step", [("step", 5)], engines, rounds, "seconds")
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    table(
        "(b) chain y = y*1.0001 + 0.0001, build + backward, seconds",
        [("chain", n) for n in sizes],
        [e for e in engines if e != "chaingrad-nn"],
        rounds,
        "seconds",
    )
    table(
        "(c) bytes per graph node (tracemalloc)",
        [("memory", 100_000)],
        [e for e in engines if e not in ("torch", "chaingrad-nn")],
        1,
        "bytes_per_node",
    )


if __name__ == "__main__":
    main()
