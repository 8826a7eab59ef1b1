"""``fit(..., compile=True)``: each batch size's graph recorded once and compiled; the same
History, number for number, as ``compile=False``, with every loss of ``nn.losses`` and every
optimizer."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from autodiff import Value
from nn import (
    MLP,
    SGD,
    Adam,
    AdamW,
    EarlyStopping,
    History,
    RMSprop,
    fit,
    make_moons,
    make_spirals,
    mse,
    train_test_split,
)
from nn.compiled import EVAL_CHUNK

Optimizers = Callable[[list[Value]], Any]
OPTIMIZERS: dict[str, Optimizers] = {
    "sgd-momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "adam": lambda ps: Adam(ps, lr=0.03, weight_decay=1e-3),
    "adamw": lambda ps: AdamW(ps, lr=0.03),
}
LOSSES = {
    # loss name: (labels from 0/1 classes, output activation, outputs)
    "mse": (lambda c: float(c), "linear", 1),
    "hinge": (lambda c: 2 * c - 1, "linear", 1),
    "binary_cross_entropy": (lambda c: c, "sigmoid", 1),
    "binary_cross_entropy_with_logits": (lambda c: c, "linear", 1),
    "cross_entropy": (lambda c: c, "linear", 2),
}


def run(loss: str, optimizer: str, compile: bool, batch_size: int | None, epochs: int = 3,
        **options: Any) -> tuple[History, list[float]]:
    label, activation, outputs = LOSSES[loss]
    X, classes = make_moons(70, noise=0.15, seed=3)
    X_train, X_val, c_train, c_val = train_test_split(X, classes, test_size=0.3, seed=0)
    model = MLP(2, [6, 5, outputs], activation="tanh", output_activation=activation, seed=7)
    history = fit(
        model, (X_train, [label(c) for c in c_train]), loss, OPTIMIZERS[optimizer](model.parameters()),
        epochs=epochs, batch_size=batch_size, validation_data=(X_val, [label(c) for c in c_val]),
        compile=compile, progress=False, **options,
    )
    return history, [p.data for p in model.parameters()]


def same_history(a: History, b: History) -> None:
    assert set(a.records) == set(b.records)
    for name in a.records:
        if name != "seconds":
            assert a.records[name] == b.records[name], name
    assert a.step_loss == b.step_loss
    assert len(a) == len(b) and a.interrupted == b.interrupted


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_the_same_history_number_for_number(loss: str, optimizer: str) -> None:
    """Batches of 16 over 49 points: two programs (16 and the last batch's 1), shuffled."""
    interpreted, weights = run(loss, optimizer, False, 16)
    compiled, compiled_weights = run(loss, optimizer, True, 16)
    same_history(interpreted, compiled)
    assert weights == compiled_weights
    assert all(math.isfinite(v) for v in compiled.loss)


@pytest.mark.parametrize("batch_size", [None, 1, 7])
def test_full_batch_and_sgd_and_odd_batches(batch_size: int | None) -> None:
    interpreted, weights = run("cross_entropy", "adam", False, batch_size, epochs=2)
    compiled, compiled_weights = run("cross_entropy", "adam", True, batch_size, epochs=2)
    same_history(interpreted, compiled)
    assert weights == compiled_weights


def test_spirals_with_three_classes_and_early_stopping() -> None:
    X, y = make_spirals(40, n_classes=3, seed=1)
    histories = []
    for compile in (False, True):
        model = MLP(2, [8, 3], seed=0, init="kaiming")
        histories.append(fit(
            model, (X, y), "cross_entropy", Adam(model.parameters(), lr=0.05), epochs=6, batch_size=32,
            validation_data=(X[:EVAL_CHUNK + 5], y[:EVAL_CHUNK + 5]), compile=compile, progress=False,
            early_stopping=EarlyStopping("val_loss", patience=1),
        ))
    same_history(*histories)


def test_a_loss_of_ones_own_gets_values_as_targets() -> None:
    """A loss function that computes the same operations for numbers and Values gives the same
    History compiled or not; compiled, its targets are leaf Values shaped like y's entries."""
    seen: list[Any] = []

    def half_mse(predictions: Any, targets: Any) -> Value:
        seen.append(targets[0])
        return mse(predictions, targets, half=True)

    histories = []
    X, c = make_moons(30, seed=0)
    for compile in (False, True):
        model = MLP(2, [4, 1], seed=1)
        histories.append(fit(model, (X, [float(t) for t in c]), half_mse, SGD(model.parameters(), lr=0.2),
                             epochs=2, batch_size=10, compile=compile, progress=False))
    same_history(*histories)
    recorded = [t for t in seen if isinstance(t, Value)]  # compiled, the one recording per batch size
    assert isinstance(seen[0], float) and len(recorded) == 1 and recorded[0].is_leaf


def test_a_model_that_reads_its_inputs_numbers_is_refused_while_recording() -> None:
    """float() of a placeholder would freeze the first batch's number into every step."""
    model = MLP(2, [3, 1], seed=0)

    def peeking(x: list[Any]) -> Any:
        return model([float(x[0]), x[1]])

    X, c = make_moons(20, seed=0)
    with pytest.raises(TypeError, match=r"float\(\) of a Value"):
        fit(peeking, (X, c), "binary_cross_entropy_with_logits", Adam(model.parameters()), epochs=1,
            compile=True, progress=False)
    fit(peeking, (X, c), "binary_cross_entropy_with_logits", Adam(model.parameters()), epochs=1,
        progress=False)  # interpreted, it is fine


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        ([[0.0, 1.0], [1.0]], ValueError, r"inputs of one length: X\[0\] has 2 numbers, X\[1\] has 1"),
        ([[0.0, 1.0], "ab"], TypeError, r"each input in X as a list of numbers, got str at X\[1\]"),
        ([[0.0, None], [1.0, 2.0]], TypeError, r"numbers in its inputs, got NoneType at X\[0\]\[1\]"),
    ],
)
def test_compile_checks_the_inputs_up_front(X: list[Any], error: type, message: str) -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(error, match=r"fit\(compile=True\) needs " + message):
        fit(model, (X, [0, 1]), "mse", SGD(model.parameters(), lr=0.1), epochs=1, compile=True)


def test_compile_must_be_a_bool() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"fit\(\) compile must be True or False, got 'yes'"):
        fit(model, ([[0.0, 1.0]], [0.0]), "mse", SGD(model.parameters(), lr=0.1), epochs=1,
            compile="yes")  # type: ignore[arg-type]


def test_saturated_probabilities_say_to_use_logits() -> None:
    """From probabilities, a compiled program records both logs: a probability of exactly 1 cannot
    be recorded (log(1 - p) = -inf); the error says what to do instead."""
    from autodiff import DomainError

    model = MLP(1, [1], output_activation="sigmoid", seed=0)
    model.layers[0].neurons[0].w[0].data = 100.0  # sigmoid(100 x) rounds to 1 at x = 1
    with pytest.raises(DomainError, match=r"from_logits=True"):
        fit(model, ([[1.0]], [1.0]), "binary_cross_entropy", SGD(model.parameters(), lr=0.1), epochs=1,
            compile=True, progress=False)
