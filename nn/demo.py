"""The README's first command: train an MLP on two moons and show what it learned.

    python -m nn.demo

micrograd's demo, on chaingrad: MLP(2, [16, 16, 1]) with relu, the hinge loss
``mean(max(0, 1 - y * score))`` plus ``1e-4 * sum(w^2)``, full-batch gradient descent with a
decaying learning rate. Prints the loss as it trains, then the decision boundary as text.
"""

from __future__ import annotations

import time

from autodiff import Value, no_grad

from .data import make_moons
from .module import MLP


def hinge_loss(model: MLP, X: list[list[float]], signs: list[int]) -> tuple[Value, float]:
    """Mean hinge loss plus L2 penalty, and the accuracy, of ``model`` on points ``X`` with
    labels ``signs`` in {-1, +1}."""
    scores = [model(x)[0] for x in X]
    margins = [(1 - s * score).relu() for s, score in zip(signs, scores)]
    data_loss = sum(margins, Value(0.0)) * (1.0 / len(margins))
    l2 = sum((p * p for p in model.parameters()), Value(0.0))
    accuracy = sum((score.data > 0) == (s > 0) for s, score in zip(signs, scores)) / len(signs)
    return data_loss + 1e-4 * l2, accuracy


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
        return "#" if model(x)[0].data > 0 else "."

    with no_grad():
        rows = [[cell(r, c) for c in range(width)] for r in range(height)]
    for (px, py), label in zip(X, labels):
        c = min(width - 1, int((px - x0) / (x1 - x0) * width))
        r = min(height - 1, int((y1 - py) / (y1 - y0) * height))
        rows[r][c] = "x" if label else "o"
    return "\n".join("".join(row) for row in rows)


def main(steps: int = 100) -> float:
    X, labels = make_moons(100, noise=0.1, seed=0)
    signs = [2 * label - 1 for label in labels]
    model = MLP(2, [16, 16, 1], activation="relu", seed=1)
    print(f"{model}\n{len(model.parameters())} parameters, 100 points of two moons\n")
    start = time.perf_counter()
    accuracy = 0.0
    for k in range(steps):
        loss, accuracy = hinge_loss(model, X, signs)
        model.zero_grad()
        loss.backward()
        learning_rate = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        if k % 10 == 0 or k == steps - 1:
            print(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy:.0%}")
    print(f"\n{steps} steps in {time.perf_counter() - start:.1f} s\n")
    print(decision_map(model, X, labels))
    return accuracy


if __name__ == "__main__":
    main()
