"""The README's first command: train an MLP on two moons and show what it learned.

    python -m nn.demo

150 points of two moons, 100 to train on and 50 held out to test; MLP(2, [16, 16, 1]) with
relu; its one output is a logit z, the model's belief that a point is in class 1 being
sigmoid(z). ``fit`` trains it with the binary cross-entropy from logits and Adam, full batch,
the step compiled once into a straight-line program (``compile=True``: the same numbers as the
interpreter's, several times faster), and prints the loss and the accuracies as it goes; then
the decision boundary, as text.
"""

from __future__ import annotations

import time
from pathlib import Path

from autodiff import Value, no_grad

from .data import make_moons, train_test_split
from .io import save
from .module import MLP
from .optim import Adam
from .plot import plot_decision_boundary, plot_history
from .train import History, fit


def decision_map(
    model: MLP, X: list[list[float]], labels: list[int], width: int = 60, height: int = 20
) -> str:
    """The plane as text: '.' where the model says class 0, '#' for class 1; the training points
    drawn over it as 'o' (class 0) and 'x' (class 1)."""
    xs = [p[0] for p in X]
    ys = [p[1] for p in X]
    x0, x1 = min(xs) - 0.25, max(xs) + 0.25
    y0, y1 = min(ys) - 0.25, max(ys) + 0.25
    def cell(r: int, c: int) -> str:
        x = [x0 + (x1 - x0) * (c + 0.5) / width, y1 - (y1 - y0) * (r + 0.5) / height]
        score = model(x)
        assert isinstance(score, Value)  # one output
        return "#" if score.data > 0 else "."

    with no_grad():
        rows = [[cell(r, c) for c in range(width)] for r in range(height)]
    for (px, py), label in zip(X, labels):
        c = min(width - 1, int((px - x0) / (x1 - x0) * width))
        r = min(height - 1, int((y1 - py) / (y1 - y0) * height))
        rows[r][c] = "x" if label else "o"
    return "\n".join("".join(row) for row in rows)


def _report(history: History, epoch: int) -> None:
    loss, accuracy, test = (history[key][epoch - 1] for key in ("loss", "accuracy", "val_accuracy"))
    print(f"epoch {epoch:3d}  loss {loss:.4f}  train accuracy {accuracy:4.0%}  test accuracy {test:4.0%}")


def main(epochs: int = 100, out: str | Path = "out") -> tuple[float, float]:
    """Train, print, draw, save; return the final (training accuracy, test accuracy).

    Writes ``decision_boundary.png``, ``loss_curve.png`` (when matplotlib is installed) and
    ``model.json`` into the folder ``out``."""
    X, labels = make_moons(150, noise=0.1, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=50, seed=0)
    model = MLP(2, [16, 16, 1], activation="relu", seed=1)
    optimizer = Adam(model.parameters(), lr=0.05)
    print(f"{model}\n{len(model.parameters())} parameters; two moons: {len(X_train)} points to "
          f"train on, {len(X_test)} held out\n{optimizer}\n")
    start = time.perf_counter()
    history = fit(
        model, (X_train, y_train), "binary_cross_entropy_with_logits", optimizer, epochs,
        validation_data=(X_test, y_test), progress=None, compile=True,
    )
    for epoch in [1, *range(10, epochs + 1, 10)]:
        _report(history, epoch)
    train_accuracy, test_accuracy = history.accuracy[-1], history.val_accuracy[-1]
    print(f"\n{epochs} epochs in {time.perf_counter() - start:.1f} s (the step compiled by "
          f"autodiff.compile, compile time included): training accuracy "
          f"{train_accuracy:.0%}, test accuracy {test_accuracy:.0%}\n")
    print(decision_map(model, X_train, y_train))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    save(model, folder / "model.json")
    written = [folder / "model.json"]
    try:
        plot_decision_boundary(model, X_train, y_train, path=folder / "decision_boundary.png")
        plot_history(history, path=folder / "loss_curve.png")
        written += [folder / "decision_boundary.png", folder / "loss_curve.png"]
    except ImportError as missing:
        print(f"(no pictures: {missing})")
    print("\nwrote " + ", ".join(str(path) for path in written))
    return train_accuracy, test_accuracy


if __name__ == "__main__":
    main()
