"""Real handwritten digits: seconds per training epoch, chaingrad beside scikit-learn.

    python benchmarks/bench_digits.py [--rounds 3] [--epochs 3]

The task of notebook 08 and tests/test_digits.py: scikit-learn's 1,797 digits (8 x 8 pictures,
64 pixels), split 80/20 by ``nn.train_test_split(seed=0)``, standardized with the training
statistics; a network with one hidden layer of 32 relu units and 10 outputs, softmax
cross-entropy, Adam at a learning rate of 0.01, mini-batches of 32, no weight decay:

- ``chaingrad``: ``nn.MLP(64, [32, 10])`` trained by ``nn.fit``, one Value per number. Its epoch,
  as ``History["seconds"]`` records it, includes fit's pass over the training set at the end of
  each epoch that measures the loss and accuracy (about a third of the epoch).
- ``chaingrad-compiled``: the same with ``fit(..., compile=True)``: each batch size's graph is
  recorded once and run as a compiled straight-line program (``autodiff.compile``), evaluation
  too. Its first epoch also records and compiles, which the median over epochs leaves out.
- ``sklearn``: ``MLPClassifier(hidden_layer_sizes=(32,), solver="adam", alpha=0)`` with the same
  rate and batch size, run for ``--epochs`` epochs (its ``max_iter``); an epoch is its fit time
  divided by the epochs it ran (numpy, compiled loops, all 64 x 32 weights at once).

Every measurement runs in a fresh process, engines interleaved round by round; the table quotes
the median over rounds of each engine's seconds per epoch (for chaingrad, the median over the
epochs of a run, from ``History["seconds"]``), the ratio of each to scikit-learn's,
and each engine's test accuracy after the last round (a check that all of them learned).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENGINES = ("chaingrad", "chaingrad-compiled", "sklearn")
LEARNING_RATE, BATCH_SIZE, HIDDEN = 0.01, 32, 32


def digits_split() -> tuple[list[list[float]], list[list[float]], list[int], list[int]]:
    """The standardized 80/20 split every engine trains and tests on."""
    from nn import load_digits, standardize, train_test_split

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    train, test, _, _ = standardize(X_train, X_test)
    assert test is not None
    return train, test, y_train, y_test


# --- what runs inside one child process ------------------------------------------------------


def run_chaingrad(epochs: int, compiled: bool) -> dict[str, Any]:
    from autodiff import no_grad
    from nn import MLP, Adam, categorical_accuracy, fit

    train, test, y_train, y_test = digits_split()
    model = MLP(64, [HIDDEN, 10], seed=0)
    history = fit(model, (train, y_train), "cross_entropy", Adam(model.parameters(), lr=LEARNING_RATE),
                  epochs=epochs, batch_size=BATCH_SIZE, progress=False, compile=compiled)
    with no_grad():
        accuracy = categorical_accuracy([model(x) for x in test], y_test)
    return {"seconds": statistics.median(history["seconds"]), "accuracy": accuracy}


def run_sklearn(epochs: int) -> dict[str, Any]:
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    train, test, y_train, y_test = digits_split()
    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), solver="adam", alpha=0.0, batch_size=BATCH_SIZE,
                          learning_rate_init=LEARNING_RATE, max_iter=epochs, tol=0.0,
                          n_iter_no_change=epochs + 1, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # it stops after max_iter, as asked
        model.fit(np.array(train), y_train)
    seconds = (time.perf_counter() - start) / model.n_iter_
    return {"seconds": seconds, "accuracy": float(model.score(np.array(test), y_test))}


def child(engine: str, epochs: int) -> None:
    if engine == "sklearn":
        result = run_sklearn(epochs)
    else:
        result = run_chaingrad(epochs, compiled=engine == "chaingrad-compiled")
    print(json.dumps(result))


# --- the driver ------------------------------------------------------------------------------


def measure(engine: str, epochs: int) -> dict[str, Any]:
    """One child process's result; its errors go to this terminal, and stop the run."""
    cmd = [sys.executable, __file__, "--child", engine, "--epochs", str(epochs)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="fresh-process rounds per engine")
    parser.add_argument("--epochs", type=int, default=3, help="epochs each process trains")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs)
        return
    print(f"engines: {', '.join(ENGINES)}; {args.rounds} rounds of {args.epochs} epochs; median of fresh "
          f"processes; Python {sys.version.split()[0]}")
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in ENGINES}
    for _ in range(args.rounds):
        for engine in ENGINES:
            runs[engine].append(measure(engine, args.epochs))
    seconds = {e: statistics.median(r["seconds"] for r in runs[e]) for e in ENGINES}
    print(f"\n{'engine':>20} {'s / epoch':>10} {'/ sklearn':>10} {'test accuracy':>14}")
    for engine in ENGINES:
        ratio = seconds[engine] / seconds["sklearn"]
        print(f"{engine:>20} {seconds[engine]:>10.4g} {ratio:>9.1f}x {runs[engine][-1]['accuracy']:>14.2%}")


if __name__ == "__main__":
    main()
