"""``nn.train.fit``: it learns (XOR, two moons through the demo, three spirals, a sine curve with
mini-batches), it records what it measured, it is reproducible, it stays quiet when standard
error is not a terminal, and it refuses bad arguments. The accuracy functions, by hand."""

from __future__ import annotations

import io
import math
import sys
import types
from typing import Any

import pytest

import nn
from autodiff import Value, is_grad_enabled
from nn import MLP, SGD, Adam, History, binary_accuracy, categorical_accuracy, fit, make_spirals

XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [0, 1, 1, 0]


# --- it learns ---------------------------------------------------------------------------------


def test_xor_reaches_full_accuracy() -> None:
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    optimizer = Adam(model.parameters(), lr=0.1)
    history = fit(model, (XOR_X, XOR_Y), "binary_cross_entropy_with_logits", optimizer, epochs=100)
    assert history.accuracy[-1] == 1.0
    assert history.loss[-1] < 0.05
    assert history.accuracy[0] < 1.0  # it had something to learn


def test_xor_with_hinge_and_plain_sgd() -> None:
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    signs = [2 * label - 1 for label in XOR_Y]
    history = fit(model, (XOR_X, signs), "hinge", SGD(model.parameters(), lr=0.1, momentum=0.9), 100)
    assert history.accuracy[-1] == 1.0
    assert history.loss[-1] < history.loss[0]


def test_demo_learns_two_moons(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    """The README's first command: 100% training accuracy, the test accuracy printed, the text
    decision map, and the model (JSON) and pictures (PNG) written."""
    from nn import demo, load

    train_accuracy, test_accuracy = demo.main(out=tmp_path)
    assert train_accuracy == 1.0
    assert test_accuracy >= 0.9
    out = capsys.readouterr().out
    assert "epoch 100" in out and "training accuracy 100%" in out and "test accuracy" in out
    board = out.split("\n\n")[-2].splitlines()
    assert len(board) == 20 and all(len(row) == 60 for row in board)
    assert {"o", "x", ".", "#"} <= set("".join(board))
    for picture in ("decision_boundary.png", "loss_curve.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = load(tmp_path / "model.json")
    assert len(model.parameters()) == 337


def test_spirals_reach_95_percent_with_softmax_cross_entropy() -> None:
    X, y = make_spirals(90, n_classes=3, seed=0)
    model = MLP(2, [16, 16, 3], activation="relu", seed=0)
    history = fit(model, (X, y), "cross_entropy", Adam(model.parameters(), lr=0.02), epochs=80)
    assert history.accuracy[-1] >= 0.95
    assert history.accuracy[0] < 0.7  # spirals are not linearly separable: it had to learn
    assert history.loss[-1] < 0.2 < history.loss[0]


def test_minibatch_sgd_fits_a_sine_curve() -> None:
    X = [[-3.0 + 6.0 * i / 39] for i in range(40)]
    y = [math.sin(x[0]) for x in X]
    model = MLP(1, [16, 16, 1], activation="tanh", seed=0)
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(model, (X, y), "mse", optimizer, epochs=60, batch_size=8)
    assert optimizer.steps == 60 * 5  # five batches of 8 per epoch
    assert history.loss[-1] < 0.01  # sin has variance 0.4 on this grid
    assert history.loss[-1] < history.loss[0] / 20
    assert "accuracy" not in history  # not a classification loss
    for x in (-2.0, 0.5, 2.5):
        assert model([x]).data == pytest.approx(math.sin(x), abs=0.2)


# --- what it records ----------------------------------------------------------------------------


def test_history_contents() -> None:
    X, y = make_spirals(15, n_classes=3, seed=1)
    X_val, y_val = make_spirals(12, n_classes=3, seed=2)
    model = MLP(2, [4, 3], seed=0)
    opt = SGD(model.parameters(), lr=0.1, lr_schedule=lambda t: 0.1 / (t + 1))
    history = fit(model, (X, y), "cross_entropy", opt, epochs=3, batch_size=6, validation_data=(X_val, y_val))
    assert isinstance(history, History) and len(history) == 3
    assert history.keys() == ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
    assert all(len(values) == 3 for values in history.records.values())
    assert history["lr"] == pytest.approx([0.1 / 3, 0.1 / 6, 0.1 / 9])  # the last step of each epoch
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)
    assert all(s > 0 for s in history["seconds"])
    # the recorded numbers are those of the model at the end of the epoch
    predictions = [model(x) for x in X_val]
    assert history.val_loss[-1] == pytest.approx(nn.cross_entropy(predictions, y_val).data, rel=1e-12)
    assert history.val_accuracy[-1] == categorical_accuracy(predictions, y_val)
    assert history.last()["val_loss"] == history.val_loss[-1]
    assert repr(history).startswith("History(3 epochs: loss ")
    with pytest.raises(KeyError, match="'f1' was not measured; History has loss, accuracy"):
        history["f1"]


def test_custom_loss_and_metrics_are_measured_without_a_graph() -> None:
    model = MLP(2, [4, 1], seed=0)
    signs = [2 * label - 1 for label in XOR_Y]

    def loss(predictions: Any, targets: Any) -> Value:
        return nn.hinge(predictions, targets) + 1e-3 * nn.l2(model)

    metrics = {"acc": binary_accuracy, "grad_mode": lambda p, t: float(is_grad_enabled())}
    history = fit(model, (XOR_X, signs), loss, Adam(model.parameters(), lr=0.05), epochs=4,
                  metrics=metrics, validation_data=(XOR_X, signs))
    assert history["grad_mode"] == [0.0] * 4 == history["val_grad_mode"]
    assert history["acc"] == history["val_acc"]
    assert "accuracy" not in history and history.accuracy == []  # a custom loss: no automatic accuracy
    with_penalty = nn.hinge([model(x) for x in XOR_X], signs).data + 1e-3 * nn.l2(model).data
    assert history.loss[-1] == pytest.approx(with_penalty, rel=1e-12)


@pytest.mark.parametrize(("loss", "labels"), [
    ("hinge", [-1, 1, 1, -1]), ("binary_cross_entropy_with_logits", XOR_Y), (nn.hinge, [-1, 1, 1, -1]),
])
def test_accuracy_is_automatic_for_classification_losses(loss: Any, labels: list[int]) -> None:
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, (XOR_X, labels), loss, SGD(model.parameters(), lr=0.01), epochs=1)
    assert history.accuracy == [binary_accuracy([model(x) for x in XOR_X], labels)]


@pytest.mark.parametrize("loss", ["binary_cross_entropy", nn.binary_cross_entropy])
def test_accuracy_of_probabilities_thresholds_at_one_half(loss: Any) -> None:
    model = MLP(2, [4, 1], seed=0)

    def probability(x: list[float]) -> list[Value]:
        return [model(x).sigmoid()]

    labels = [0, 0, 0, 0]
    history = fit(probability, (XOR_X, labels), loss, SGD(model.parameters(), lr=1e-3), epochs=1)
    predictions = [probability(x) for x in XOR_X]
    assert history.accuracy == [binary_accuracy(predictions, labels, threshold=0.5)]
    assert history.accuracy[0] > 0 == binary_accuracy(predictions, labels)  # threshold 0: all positive


def test_runs_are_reproducible_and_the_seed_shuffles() -> None:
    X, y = make_spirals(12, n_classes=2, seed=3)

    def train(seed: int, shuffle: bool = True) -> list[float]:
        model = MLP(2, [4, 2], seed=0)
        fit(model, (X, y), "cross_entropy", SGD(model.parameters(), lr=0.1), 2, batch_size=3,
            shuffle=shuffle, seed=seed)
        return [p.data for p in model.parameters()]

    assert train(0) == train(0)
    assert train(0) != train(1)
    assert train(0, shuffle=False) == train(1, shuffle=False)


def _tiny_fit(progress: Any = None, epochs: int = 3) -> History:
    model = MLP(2, [2, 1], seed=0)
    return fit(model, (XOR_X, XOR_Y), "binary_cross_entropy_with_logits", SGD(model.parameters(), lr=0.1),
               epochs, progress=progress)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_when_not_a_terminal(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiny_fit()
    assert capfd.readouterr() == ("", "")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _tiny_fit(progress=False)
    assert terminal.getvalue() == ""


def test_text_progress_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _tiny_fit(epochs=4)
    text = terminal.getvalue()
    assert "\rfit [" in text and "4/4" in text and "loss" in text and "accuracy" in text
    assert text.endswith("\n")
    forced = io.StringIO()  # not a terminal, but progress=True asks for it
    monkeypatch.setattr(sys, "stderr", forced)
    _tiny_fit(progress=True, epochs=2)
    assert "2/2" in forced.getvalue()


def test_tqdm_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    class FakeBar:
        def __init__(self, **kwargs: Any) -> None:
            calls.append(("init", kwargs["total"]))

        def set_postfix_str(self, text: str, refresh: bool = True) -> None:
            calls.append(("postfix", text.split()[0]))

        def update(self, n: int) -> None:
            calls.append(("update", n))

        def close(self) -> None:
            calls.append(("close",))

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    _tiny_fit(epochs=2)
    epoch = [("postfix", "loss"), ("update", 1)]
    assert calls == [("init", 2), *epoch, *epoch, ("close",)]
    assert terminal.getvalue() == ""  # the bar wrote nothing of its own


def test_progress_function_is_called_after_each_epoch(capfd: pytest.CaptureFixture[str]) -> None:
    seen: list[int] = []
    _tiny_fit(progress=lambda history: seen.append(len(history)), epochs=3)
    assert seen == [1, 2, 3]
    assert capfd.readouterr() == ("", "")


# --- bad arguments -------------------------------------------------------------------------------


def test_fit_errors() -> None:
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    data = (XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="unknown loss 'bce'; choose one of mse, "):
        fit(model, data, "bce", opt, 1)
    with pytest.raises(TypeError, match="loss must be a name or a function"):
        fit(model, data, 3, opt, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="4 inputs but 3 targets"):
        fit(model, (XOR_X, XOR_Y[:3]), "mse", opt, 1)
    with pytest.raises(ValueError, match="empty"):
        fit(model, ([], []), "mse", opt, 1)
    with pytest.raises(TypeError, match=r"pair \(X, y\)"):
        fit(model, XOR_X, "mse", opt, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="validation_data has 4 inputs but 1 targets"):
        fit(model, data, "mse", opt, 1, validation_data=(XOR_X, [0]))
    with pytest.raises(ValueError, match="epochs must be"):
        fit(model, data, "mse", opt, 0)
    with pytest.raises(ValueError, match="batch_size must be"):
        fit(model, data, "mse", opt, 1, batch_size=0)
    with pytest.raises(TypeError, match="optimizer must be"):
        fit(model, data, "mse", "adam", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="loss must return a Value"):
        fit(model, data, lambda p, t: 0.5, opt, 1)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="progress must be"):
        fit(model, data, "mse", opt, 1, progress="yes")  # type: ignore[arg-type]


# --- accuracy ------------------------------------------------------------------------------------


def test_binary_accuracy_by_hand() -> None:
    scores = [Value(0.3), Value(-0.2), Value(0.0), Value(2.0)]
    assert binary_accuracy(scores, [1, 0, 0, 0]) == 0.75  # 0.0 is not above the threshold
    assert binary_accuracy(scores, [1, -1, -1, -1]) == 0.75  # -1/+1 labels read the same
    assert binary_accuracy([[s] for s in scores], [1, 0, 1, 1]) == 0.75
    probabilities = [0.7, 0.4, 0.5, 0.9]
    assert binary_accuracy(probabilities, [1, 0, 1, 1], threshold=0.5) == 0.75


def test_categorical_accuracy_by_hand() -> None:
    logits: list[list[Any]] = [[Value(1.0), Value(3.0), Value(2.0)], [0.5, 0.5, 0.1], [0.0, -1.0, 4.0]]
    assert categorical_accuracy(logits, [1, 0, 0]) == pytest.approx(2 / 3)  # a tie goes to the first
    assert categorical_accuracy(logits, [1, 1, 2]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="as many predictions as targets"):
        categorical_accuracy(logits, [1, 1])


# --- callbacks ---------------------------------------------------------------------------------


class Recorder(nn.Callback):
    """Every event, as (kind, epoch, step, batch, loss, lr)."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.histories: set[int] = set()

    def _record(self, event: nn.FitEvent) -> None:
        self.seen.append((event.kind, event.epoch, event.step, event.batch, event.loss, event.lr))
        self.histories.add(id(event.history))

    on_train_begin = on_train_batch_end = on_epoch_end = on_train_end = _record


def test_callbacks_see_every_step_and_epoch() -> None:
    X, y = make_spirals(12, n_classes=2, seed=3)
    model = MLP(2, [4, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.1, lr_schedule=nn.step_decay(0.1, 0.5, every=2))
    recorder = Recorder()
    plain: list[tuple[str, int, int]] = []
    history = fit(model, (X, y), "cross_entropy", opt, epochs=2, batch_size=5,
                  callbacks=[recorder, lambda e: plain.append((e.kind, e.epoch, e.step))])
    steps = [s for s in recorder.seen if s[0] == "step"]
    # (epoch, step, batch): three batches of 5, 5 and 2 samples per epoch
    assert [(s[1], s[2], s[3]) for s in steps] == [
        (1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 4, 1), (2, 5, 2), (2, 6, 3)
    ]
    assert [s[4] for s in steps] == history.step_loss and len(history.step_loss) == opt.steps == 6
    assert [s[5] for s in steps] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]  # each step's own rate
    epochs = [s for s in recorder.seen if s[0] == "epoch"]
    assert [(s[1], s[2], s[4], s[5]) for s in epochs] == [
        (1, 3, history.loss[0], 0.05), (2, 6, history.loss[1], 0.025)
    ]
    assert recorder.seen[0] == ("begin", 0, 0, 0, None, 0.1)
    assert recorder.seen[-1] == ("end", 2, 6, 3, history.loss[-1], 0.025)
    assert [k for k, *_ in recorder.seen] == ["begin", *["step"] * 3, "epoch", *["step"] * 3, "epoch", "end"]
    assert recorder.histories == {id(history)}
    # a plain function hears steps and epochs, in order
    assert plain == [(k, e, s) for k, e, s, *_ in recorder.seen if k in ("step", "epoch")]


def test_step_losses_are_the_batch_losses_before_each_step() -> None:
    model = MLP(2, [3, 1], seed=0)
    first = nn.binary_cross_entropy_with_logits([model(x) for x in XOR_X], XOR_Y).data
    history = fit(model, (XOR_X, XOR_Y), "binary_cross_entropy_with_logits",
                  SGD(model.parameters(), lr=0.5), epochs=3)
    assert history.step_loss[0] == first  # full batch: the first step's loss is the initial loss
    assert history.step_loss[1] == pytest.approx(history.loss[0], rel=1e-12)  # measured after step 1
    assert len(history.step_loss) == 3


def test_a_callback_can_stop_training_after_a_step() -> None:
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)

    def stop_at_step_5(event: nn.FitEvent) -> None:
        event.stop_training = event.kind == "step" and event.step == 5

    history = fit(model, (XOR_X, XOR_Y), "mse", opt, epochs=10, batch_size=2, callbacks=[stop_at_step_5])
    assert opt.steps == 5 and len(history.step_loss) == 5
    assert len(history) == 2 and history.stopped and not history.interrupted  # epoch 3 did not finish
    assert repr(history).endswith("; stopped early)")


def test_callbacks_are_checked() -> None:
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"fit\(\) callbacks\[1\] must be a function or a Callback, got int"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, callbacks=[print, 3])
    with pytest.raises(TypeError, match="callbacks must be a list"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, callbacks=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="early_stopping must be None, a patience"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, early_stopping=0.5)  # type: ignore[arg-type]
    assert opt.steps == 0


# --- early stopping ------------------------------------------------------------------------------


def _scripted(values: list[float]) -> Any:
    """A metric that returns the next of ``values`` at each epoch (it is measured once per
    epoch on the training data)."""
    remaining = iter(values)
    return lambda predictions, targets: next(remaining)


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    model = MLP(2, [3, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    snapshots: dict[int, list[float]] = {}

    class Snapshot(nn.Callback):
        def on_epoch_end(self, event: nn.FitEvent) -> None:
            snapshots[event.epoch] = [p.data for p in model.parameters()]

    stopper = nn.EarlyStopping("score", patience=2, mode="min")
    score = _scripted([5, 3, 4, 3, 9, 1])
    history = fit(model, (XOR_X, XOR_Y), "mse", opt, epochs=10, metrics={"score": score},
                  callbacks=[Snapshot()], early_stopping=stopper)
    assert history["score"] == [5, 3, 4, 3]  # epoch 4 ties the best: no improvement
    assert (stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (3, 2, 4)
    assert len(history) == 4 and opt.steps == 4 and history.stopped
    assert [p.data for p in model.parameters()] == snapshots[2] != snapshots[4]


def test_early_stopping_modes_and_min_delta() -> None:
    assert nn.EarlyStopping("val_accuracy").mode == "max" and nn.EarlyStopping("acc").mode == "max"
    assert nn.EarlyStopping("loss").mode == "min" and nn.EarlyStopping().mode == "min"
    with pytest.raises(ValueError, match="cannot tell whether 'f1' should fall or rise"):
        nn.EarlyStopping("f1")
    model = MLP(2, [3, 1], seed=0)
    stopper = nn.EarlyStopping("f1", patience=1, mode="max", min_delta=0.1)
    history = fit(model, (XOR_X, XOR_Y), "mse", SGD(model.parameters(), lr=0.1), epochs=9,
                  metrics={"f1": _scripted([0.1, 0.5, 0.55, 0.9])}, early_stopping=stopper)
    assert len(history) == 3 and stopper.best == 0.5  # 0.55 is not better by more than 0.1
    for bad, error in [({"patience": 0}, ValueError), ({"mode": "up"}, ValueError),
                       ({"min_delta": -1.0}, ValueError), ({"monitor": 3}, TypeError),
                       ({"restore_best_weights": 1}, TypeError), ({"min_delta": "0"}, TypeError)]:
        with pytest.raises(error, match=r"EarlyStopping\(\)"):
            nn.EarlyStopping(**bad)


def test_early_stopping_patience_watches_the_validation_loss() -> None:
    """``early_stopping=3``: the validation loss when there is validation data. Here the
    validation labels are the opposite of the training labels, so the validation loss rises
    while the training loss falls; the best weights are those of the first epoch."""
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    start = [p.data for p in model.parameters()]
    opposite = [1 - label for label in XOR_Y]
    history = fit(model, (XOR_X, XOR_Y), "binary_cross_entropy_with_logits", Adam(model.parameters(), lr=0.1),
                  epochs=50, validation_data=(XOR_X, opposite), early_stopping=3)
    best = min(range(len(history)), key=history.val_loss.__getitem__)
    assert len(history) == best + 4 < 50 and history.stopped
    predictions = [model(x) for x in XOR_X]
    assert nn.binary_cross_entropy_with_logits(predictions, opposite).data == history.val_loss[best]
    assert [p.data for p in model.parameters()] != start


def test_early_stopping_needs_a_measured_quantity() -> None:
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"'val_loss', which fit\(\) does not measure \(pass validation"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 3, early_stopping=nn.EarlyStopping())
    assert model.state_dict() == before and opt.steps == 0


# --- errors --------------------------------------------------------------------------------------


def test_other_errors_propagate_and_close_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = MLP(2, [2, 1], seed=0)

    def failing(event: nn.FitEvent) -> None:
        if event.kind == "epoch":
            raise RuntimeError("callback bug")

    with pytest.raises(RuntimeError, match="callback bug"):
        fit(model, (XOR_X, XOR_Y), "mse", SGD(model.parameters(), lr=0.1), 3, callbacks=[failing])
    assert terminal.getvalue().endswith("\n") and "1/3" in terminal.getvalue()


def test_metrics_are_checked() -> None:
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="metrics must be a mapping"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, metrics=[binary_accuracy])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="metrics names must be strings other than 'loss'"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, metrics={"val_acc": binary_accuracy})
    with pytest.raises(TypeError, match="metric 'acc' must be a function"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, metrics={"acc": 0.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="metric 'acc' must return a number, got str"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, metrics={"acc": lambda p, t: "high"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="metric 'acc' must be finite, got nan"):
        fit(model, (XOR_X, XOR_Y), "mse", opt, 1, metrics={"acc": lambda p, t: math.nan})


# --- numpy data: made lists up front, the same History as lists --------------------------------


def _fit_both(X: Any, y: Any, loss: str, outputs: int, compile: bool) -> tuple[History, list[float]]:
    model = MLP(2, [5, outputs], seed=0)
    history = fit(model, (X, y), loss, Adam(model.parameters(), lr=0.05), epochs=3, batch_size=10,
                  validation_data=(X, y), compile=compile, progress=False)
    return history, [p.data for p in model.parameters()]


def _same(a: tuple[History, list[float]], b: tuple[History, list[float]]) -> None:
    (ha, wa), (hb, wb) = a, b
    assert {k: v for k, v in ha.records.items() if k != "seconds"} == {
        k: v for k, v in hb.records.items() if k != "seconds"}
    assert ha.step_loss == hb.step_loss and wa == wb


@pytest.mark.parametrize("compile", [False, True])
def test_numpy_arrays_train_as_the_same_lists(compile: bool) -> None:
    """A 2-D float array of inputs with a float array of targets (mse), an int array of class
    indexes (cross-entropy), lists of numpy rows and numpy scalars: each the same History as
    plain lists. (mse on an array once trained an epoch, then failed at its evaluation.)"""
    np = pytest.importorskip("numpy")
    X, classes = nn.make_moons(40, seed=0)
    targets = [float(c) for c in classes]
    _same(_fit_both(X, targets, "mse", 1, compile),
          _fit_both(np.array(X), np.array(classes, dtype=float), "mse", 1, compile))
    _same(_fit_both(X, targets, "mse", 1, compile),
          _fit_both([np.array(x) for x in X], [np.float64(t) for t in targets], "mse", 1, compile))
    _same(_fit_both(X, classes, "cross_entropy", 2, compile),
          _fit_both(np.array(X), np.array(classes), "cross_entropy", 2, compile))
    _same(_fit_both(X, classes, "cross_entropy", 2, compile),
          _fit_both(X, [np.int64(c) for c in classes], "cross_entropy", 2, compile))


def test_numpy_targets_are_checked_before_any_step() -> None:
    np = pytest.importorskip("numpy")
    X, _ = nn.make_moons(20, seed=0)
    model = MLP(2, [3, 2], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=r"fit\(\) y\[0\] = 5 is not a class index for 2 logits"):
        fit(model, (np.array(X), np.full(20, 5)), "cross_entropy", Adam(model.parameters()), epochs=1,
            progress=False)
    with pytest.raises(TypeError, match=r"fit\(\) y\[0\] must be a number"):
        fit(model, (np.array(X), np.array(["a"] * 20)), "mse", Adam(model.parameters()), epochs=1,
            progress=False)
    assert [p.data for p in model.parameters()] == before
