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


def test_a_model_that_branches_on_its_numbers_is_refused_while_recording() -> None:
    """``if x > 0`` would take the first batch's branch for every batch: refused, with what to do."""
    model = MLP(2, [3, 1], seed=0)

    def branching(x: list[Any]) -> Any:
        out = model(x)
        return out if out > 0 else -out

    X, c = make_moons(20, seed=0)
    with pytest.raises(TypeError, match=r"comparing the number of a Value while a graph is recorded"):
        fit(branching, (X, c), "mse", SGD(model.parameters(), lr=0.1), epochs=1, compile=True,
            progress=False)
    fit(branching, (X, c), "mse", SGD(model.parameters(), lr=0.1), epochs=1, progress=False)
    relu_model = MLP(2, [3, 1], seed=0, output_activation="relu")  # a rule's own branch is fine
    fit(relu_model, (X, c), "mse", SGD(relu_model.parameters(), lr=0.1), epochs=1, compile=True,
        progress=False)


# --- a loss of one's own: checked against the interpreter on the first two batches of each size ---


def moons_fit(loss: Any, compile: bool, **options: Any) -> tuple[History, MLP, Adam]:
    X, c = make_moons(40, seed=0)
    model = MLP(2, [4, 1], seed=1)
    optimizer = Adam(model.parameters())
    history = fit(model, (X, c), loss, optimizer, epochs=3, batch_size=8, compile=compile, progress=False,
                  **options)
    return history, model, optimizer


def test_a_loss_that_compares_its_targets_is_caught_before_the_first_step() -> None:
    """``t == 1`` is identity on Values: always False when recorded, a different loss."""
    def comparing(ps: list[Value], ts: list[Any]) -> Value:
        return sum((p - 1.0) ** 2 if t == 1 else p ** 2 for p, t in zip(ps, ts)) * (1 / len(ps))

    moons_fit(comparing, False)  # interpreted, it is a fine loss
    X, c = make_moons(40, seed=0)
    model = MLP(2, [4, 1], seed=1)
    optimizer = Adam(model.parameters())
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"the compiled program of the loss .*comparing\(\) gives "
                                         r"[-0-9.e]+ on a batch of 8, but .* gives [-0-9.e]+\. "
                                         r"It compares or reads \.data of its targets.*compile=False"):
        fit(model, (X, c), comparing, optimizer, epochs=3, batch_size=8, compile=True, progress=False)
    assert model.state_dict() == before and optimizer.steps == 0
    assert all(p.grad == 0.0 for p in model.parameters())  # as they were before fit


def test_a_loss_that_reads_its_targets_data_is_caught_on_the_second_batch() -> None:
    """``t.data`` would freeze the first batch's targets into every step; the first step is the
    interpreter's own, and the failed check changes nothing after it."""
    def reading(ps: list[Value], ts: list[Any]) -> Value:
        return sum((p - getattr(t, "data", t)) ** 2 for p, t in zip(ps, ts)) * (1 / len(ps))

    after_one: list[tuple[list[float], list[float]]] = []

    def stop_after_one(event: Any) -> None:
        after_one.append(([p.data for p in event.optimizer.params], [p.grad for p in event.optimizer.params]))
        event.stop_training = True

    moons_fit(reading, False, callbacks=[stop_after_one])
    X, c = make_moons(40, seed=0)
    model = MLP(2, [4, 1], seed=1)
    optimizer = Adam(model.parameters())
    with pytest.raises(ValueError, match=r"loss .*reading\(\) gives"):
        fit(model, (X, c), reading, optimizer, epochs=3, batch_size=8, compile=True, progress=False)
    assert optimizer.steps == 1
    assert ([p.data for p in model.parameters()], [p.grad for p in model.parameters()]) == after_one[0]


def test_float_of_a_target_says_it_is_a_placeholder_not_to_use_data() -> None:
    def converting(ps: list[Value], ts: list[Any]) -> Value:
        return sum((p - float(t)) ** 2 for p, t in zip(ps, ts)) * (1 / len(ps))

    moons_fit(converting, False)
    with pytest.raises(TypeError, match=r"float\(\) of a Value \('t0'\) while fit\(compile=True\) records "
                                        r"a graph.*placeholders.*arithmetic") as caught:
        moons_fit(converting, True)
    assert ".data or x.item()" not in str(caught.value)


def test_a_loss_of_ones_own_with_arithmetic_on_its_targets_gives_the_same_history() -> None:
    """The comparing loss above, written with arithmetic: checked, and equal to the bit."""
    def arithmetic(ps: list[Value], ts: list[Any]) -> Value:
        return sum(t * (p - 1.0) ** 2 + (1 - t) * p ** 2 for p, t in zip(ps, ts)) * (1 / len(ps))

    interpreted, model, optimizer = moons_fit(arithmetic, False)
    compiled, compiled_model, compiled_optimizer = moons_fit(arithmetic, True)
    same_history(interpreted, compiled)
    assert model.state_dict() == compiled_model.state_dict()
    assert optimizer.state_dict() == compiled_optimizer.state_dict()
