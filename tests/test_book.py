"""The worked example of the book's chapter 3 (Alex Punnen, *The Mathematical Intuition Behind
Deep Learning*, web version: /work/shared/book/002_4db2e138539bdf91.txt), reproduced with the
engine.

    f(x, w1) = x * w1 + b1,   g(z, w2) = z * w2 + b2,   L = g(f(x, w1), w2)
    x = 2.0, b1 = 1.0, b2 = 0.5, w1 = 0.5, w2 = 1.5, target 5.0

The forward values and the gradients are exact in binary floating point (every operand is a
small dyadic number), so they are checked with ``==``. The book's step goes *towards* the target,
``w <- w + lr * dL/dw`` (it wants L to grow from 3.5 to 5.0); the stepped weights involve 0.2 and
0.1, which no float represents exactly, so those are compared with ``pytest.approx(abs=1e-12)``.
"""

from __future__ import annotations

import pytest

from autodiff import Value

X, B1, B2, W1, W2, TARGET = 2.0, 1.0, 0.5, 0.5, 1.5, 5.0


def forward(w1: Value, w2: Value) -> tuple[Value, Value]:
    z = X * w1 + B1  # f(x, w1)
    L = z * w2 + B2  # g(z, w2)
    return z, L


def test_forward_pass() -> None:
    z, L = forward(Value(W1), Value(W2))
    assert z.data == 2.0
    assert L.data == 3.5


def test_error() -> None:
    _, L = forward(Value(W1), Value(W2))
    E = 0.5 * (L - TARGET) ** 2
    assert E.data == 1.125


def test_chain_rule_gradients() -> None:
    w1, w2 = Value(W1, "w1"), Value(W2, "w2")
    z, L = forward(w1, w2)
    L.backward()
    assert w1.grad == 3.0  # dL/dz * dz/dw1 = w2 * x = 1.5 * 2.0
    assert w2.grad == 2.0  # dL/dw2 = z
    assert z.grad == 1.5  # dL/dz = w2


def test_error_gradients() -> None:
    """dE/dw = (L - target) * dL/dw = -1.5 * dL/dw: the error falls as the weights grow."""
    w1, w2 = Value(W1), Value(W2)
    _, L = forward(w1, w2)
    E = 0.5 * (L - TARGET) ** 2
    E.backward()
    assert L.grad == -1.5
    assert w1.grad == -4.5
    assert w2.grad == -3.0


@pytest.mark.parametrize(
    ("lr", "w1_new", "w2_new", "z_new", "L_new"),
    [
        (0.2, 1.1, 1.9, 3.2, 6.58),  # overshoots the target of 5.0
        (0.1, 0.8, 1.7, 2.6, 4.92),  # much closer
    ],
)
def test_one_step_towards_the_target(
    lr: float, w1_new: float, w2_new: float, z_new: float, L_new: float
) -> None:
    w1, w2 = Value(W1), Value(W2)
    _, L = forward(w1, w2)
    L.backward()
    w1.data += lr * w1.grad
    w2.data += lr * w2.grad
    assert w1.data == pytest.approx(w1_new, abs=1e-12)
    assert w2.data == pytest.approx(w2_new, abs=1e-12)
    w1.zero_grad()
    w2.zero_grad()
    z, L = forward(w1, w2)
    assert z.data == pytest.approx(z_new, abs=1e-12)
    assert L.data == pytest.approx(L_new, abs=1e-12)
    assert L.data > 3.5  # moved towards the target (with lr 0.2 past it: 6.58 is 1.58 away)


@pytest.mark.parametrize(
    ("x", "y", "w1", "b1", "w2", "b2"),
    [(0.5, 1.0, 0.3, -0.1, -0.8, 0.2), (2.0, 0.0, 1.5, 0.5, 2.0, -1.0)],
)
def test_scalar_backprop_with_error_terms(
    x: float, y: float, w1: float, b1: float, w2: float, b2: float
) -> None:
    """The book's one-hidden-neuron sigmoid network, C = 1/2 (y - a2)^2, against its hand-derived
    error terms: delta2 = -(y - a2) s'(z2), delta1 = delta2 w2 s'(z1), dC/dw2 = delta2 a1,
    dC/db2 = delta2, dC/dw1 = delta1 x, dC/db1 = delta1."""
    W1, B1, W2, B2 = Value(w1), Value(b1), Value(w2), Value(b2)
    z1 = W1 * x + B1
    a1 = z1.sigmoid()
    z2 = W2 * a1 + B2
    a2 = z2.sigmoid()
    C = 0.5 * (y - a2) ** 2
    C.backward()

    def ds(a: float) -> float:  # sigma'(z) written with sigma(z) = a
        return a * (1.0 - a)

    delta2 = -(y - a2.data) * ds(a2.data)
    delta1 = delta2 * w2 * ds(a1.data)
    close = {"rel": 1e-12, "abs": 0.0}
    assert W2.grad == pytest.approx(delta2 * a1.data, **close)
    assert B2.grad == pytest.approx(delta2, **close)
    assert W1.grad == pytest.approx(delta1 * x, **close)
    assert B1.grad == pytest.approx(delta1, **close)
