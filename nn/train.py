"""``fit``: the training loop, written once: mini-batches, forward, loss, backward, step.

    history = fit(model, (X, y), "cross_entropy", Adam(model.parameters(), lr=0.01), epochs=100)
    history.loss[-1], history.accuracy[-1]

Each epoch goes once through the training data in mini-batches (shuffled by a seeded
``random.Random``, so a run is reproducible); for each batch::

    predictions = [model(x) for x in batch]     # the forward pass builds the graph
    L = loss(predictions, targets)              # the mean loss over the batch
    optimizer.zero_grad(); L.backward(); optimizer.step()

Then, under ``no_grad()``, it measures the model as it stands at the end of the epoch: the loss
and the metrics (accuracy, for a classification loss) on the whole training set, and on
``validation_data`` when given. ``History`` keeps those numbers, one per epoch, and the loss of
every step.

Callbacks follow along (Keras's and Lightning's hook names: ``on_train_begin``,
``on_train_batch_end``, ``on_epoch_end``, ``on_train_end``), each handed a ``FitEvent`` of what
just happened; a plain function hears every step and epoch. ``EarlyStopping`` is one of them::

    fit(..., validation_data=(X_val, y_val), early_stopping=10)   # patience on val_loss
    fit(..., callbacks=[EarlyStopping("val_accuracy", patience=5), print])
"""

from __future__ import annotations

import importlib
import numbers
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from autodiff import Value, no_grad
from autodiff.value import shown

from .compiled import CompiledTraining, check_inputs, targets_as_values
from .data import batches
from .losses import (
    LOSSES,
    LossFunction,
    _class_index,
    _is_vector,
    _label,
    _pairs,
    _vector,
    check_targets,
    leaves,
)
from .module import _finite
from .optim import Optimizer

Metric = Callable[[Sequence[Any], Sequence[Any]], float]
"""``metric(predictions, targets) -> float``, e.g. ``binary_accuracy``."""


# --- accuracy ----------------------------------------------------------------------------------


def binary_accuracy(predictions: Sequence[Any], targets: Sequence[Any], threshold: float = 0.0) -> float:
    """The fraction of samples classified right when a score above ``threshold`` means the
    positive class and a target above 1/2 is positive: labels 0/1 and -1/+1 both work. Use
    ``threshold=0`` for scores and logits, ``0.5`` for probabilities. Shapes as for the losses
    (one number per sample, or ``[number]``)."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"binary_accuracy() threshold must be a number, got {type(threshold).__name__}")
    cut = _finite(threshold, "binary_accuracy() threshold")
    preds, targs = _pairs(predictions, targets, "binary_accuracy", _label)
    right = sum((p.data > cut) == (t > 0.5) for p, t in zip(preds, targs))
    return right / len(preds)


def _probability_accuracy(predictions: Sequence[Any], targets: Sequence[Any]) -> float:
    """``binary_accuracy`` of probabilities: the positive class above 1/2."""
    return binary_accuracy(predictions, targets, threshold=0.5)


def categorical_accuracy(predictions: Sequence[Sequence[Any]], targets: Sequence[int]) -> float:
    """The fraction of samples whose largest score (the first, on a tie) is at the target
    class index."""
    name = "categorical_accuracy()"
    for what, x in (("predictions", predictions), ("targets", targets)):
        if not _is_vector(x):
            raise TypeError(f"{name} {what} must be a list, got {type(x).__name__}")
    if len(predictions) != len(targets) or not targets:
        raise ValueError(
            f"{name} needs as many predictions as targets, at least one; got "
            f"{len(predictions)} and {len(targets)}"
        )
    right = 0
    for i, (scores, target) in enumerate(zip(predictions, targets)):
        row = [z.data for z in _vector(scores, f"{name} predictions[{i}]")]
        best = max(range(len(row)), key=row.__getitem__)
        right += best == _class_index(target, f"{name} targets[{i}]", len(row))
    return right / len(targets)


_ACCURACY: dict[str, Metric] = {
    "hinge": binary_accuracy,
    "binary_cross_entropy": _probability_accuracy,
    "binary_cross_entropy_with_logits": binary_accuracy,
    "cross_entropy": categorical_accuracy,
}
"""The accuracy that goes with each classification loss, by name."""

_ACCURACY_BY_FUNCTION: dict[Any, Metric] = {LOSSES[name]: metric for name, metric in _ACCURACY.items()}


# --- history ---------------------------------------------------------------------------------


class History:
    """What ``fit`` measured at the end of each epoch, one list per quantity, one entry per
    epoch: ``history["loss"]``, ``["accuracy"]`` (classification losses), ``["val_loss"]`` and
    ``["val_accuracy"]`` (with validation data), any other metric by its name, ``["lr"]`` (the
    learning rate of the epoch's last step) and ``["seconds"]`` (time the epoch took).
    ``history.loss`` and friends are shortcuts, empty when the quantity was not measured.

    ``step_loss`` holds the loss of every batch, one per optimizer step, as it was before the
    step. ``stopped`` is True when a callback (early stopping) ended training before the last
    epoch, ``interrupted`` when Ctrl-C (KeyboardInterrupt) did; either way the History holds
    the epochs that finished.
    """

    def __init__(self) -> None:
        self.records: dict[str, list[float]] = {}
        self.step_loss: list[float] = []
        self.stopped = False
        self.interrupted = False

    def append(self, values: Mapping[str, float]) -> None:
        """Add one epoch's measurements."""
        for name, value in values.items():
            self.records.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.records:
            raise KeyError(
                f"{shown(name)} was not measured; History has {', '.join(self.records) or 'nothing'}"
            )
        return self.records[name]

    def __contains__(self, name: object) -> bool:
        return name in self.records

    def __len__(self) -> int:
        """The number of epochs recorded."""
        return len(self.records.get("loss", []))

    def keys(self) -> list[str]:
        return list(self.records)

    @property
    def loss(self) -> list[float]:
        return self.records.get("loss", [])

    @property
    def accuracy(self) -> list[float]:
        return self.records.get("accuracy", [])

    @property
    def val_loss(self) -> list[float]:
        return self.records.get("val_loss", [])

    @property
    def val_accuracy(self) -> list[float]:
        return self.records.get("val_accuracy", [])

    def last(self) -> dict[str, float]:
        """The measurements of the last epoch."""
        return {name: values[-1] for name, values in self.records.items() if values}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in self.last().items() if k not in ("lr", "seconds"))
        ending = "; interrupted" if self.interrupted else "; stopped early" if self.stopped else ""
        return f"History({len(self)} epochs{': ' + shown if shown else ''}{ending})"


# --- callbacks ---------------------------------------------------------------------------------


@dataclass(repr=False)
class FitEvent:
    """What just happened in ``fit``: every callback gets one.

    ``kind`` is "begin" (before the first step), "step" (after each optimizer step), "epoch"
    (after each epoch's measurements) or "end" (as ``fit`` returns). ``epoch`` counts from 1
    (0 at "begin"), ``step`` is the number of optimizer steps this ``fit`` has taken, ``batch``
    the number of batches done in this epoch. ``loss`` is the batch's loss (the mean over the
    batch, before the step) for a "step", the epoch's training loss for an "epoch", else None;
    ``lr`` the learning rate of the last step (of the first, at "begin"). ``measured`` names
    what the History records each epoch. Set ``stop_training = True`` to end training after
    this step or epoch (Keras's ``model.stop_training``, Lightning's ``trainer.should_stop``).
    """

    kind: str
    model: Any
    optimizer: Optimizer
    history: History
    measured: tuple[str, ...]
    epoch: int = 0
    step: int = 0
    batch: int = 0
    loss: float | None = None
    lr: float = 0.0
    stop_training: bool = False

    def __repr__(self) -> str:
        loss = "" if self.loss is None else f", loss {self.loss:.6g}"
        where = f"epoch {self.epoch}, step {self.step}, batch {self.batch}"
        return f"FitEvent({self.kind}: {where}{loss}, lr {self.lr:g})"


class Callback:
    """A base for objects that follow training; override the methods you need (the names are
    Keras's and Lightning's). Each gets the ``FitEvent`` of what just happened::

        class Printer(Callback):
            def on_epoch_end(self, event):
                print(event.epoch, event.loss)

    A plain function works as a callback too: it is called with the event after every step
    and after every epoch (``event.kind`` says which).
    """

    def on_train_begin(self, event: FitEvent) -> None:
        """Before the first step."""

    def on_train_batch_end(self, event: FitEvent) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, event: FitEvent) -> None:
        """After each epoch, once the History holds its measurements."""

    def on_train_end(self, event: FitEvent) -> None:
        """As ``fit`` returns: after the last epoch, an early stop, or Ctrl-C (not when an
        error ends training)."""


_HOOKS = {
    "begin": "on_train_begin",
    "step": "on_train_batch_end",
    "epoch": "on_epoch_end",
    "end": "on_train_end",
}
"""The method of a callback object that each kind of event calls."""


class EarlyStopping(Callback):
    """Stop training when ``monitor`` ("val_loss", "loss", "val_accuracy", any recorded name)
    has not improved by more than ``min_delta`` for ``patience`` epochs in a row, and then (or
    after the last epoch) put back the parameters of the best epoch (``restore_best_weights``;
    the optimizer's buffers are not rewound).

    ``mode`` is "min" (a loss) or "max" (an accuracy); "auto" reads it from the name: names
    ending in "accuracy" or "acc" rise, names with "loss" fall, and any other name needs
    ``mode``. After training, ``best`` is the best value, ``best_epoch`` its epoch (from 1) and
    ``stopped_epoch`` the epoch that stopped training (0 when it ran to the end). The best
    weights are put back whenever training ends without an error, Ctrl-C included.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        mode: str = "auto",
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        owner = "EarlyStopping()"
        if not isinstance(monitor, str):
            raise TypeError(f"{owner} monitor must be a name like 'val_loss', got {type(monitor).__name__}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"{owner} patience must be a whole number >= 1 (epochs), got {shown(patience)}")
        if not isinstance(mode, str) or mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max', got {shown(mode)}")
        if mode == "auto":
            if monitor.endswith(("accuracy", "acc")):
                mode = "max"
            elif "loss" in monitor:
                mode = "min"
            else:
                raise ValueError(
                    f"{owner} cannot tell whether {monitor!r} should fall or rise: pass mode='min' or 'max'"
                )
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real):
            raise TypeError(f"{owner} min_delta must be a number, got {type(min_delta).__name__}")
        delta = _finite(min_delta, f"{owner} min_delta")
        if delta < 0:
            raise ValueError(f"{owner} min_delta must be >= 0, got {min_delta!r}")
        if not isinstance(restore_best_weights, bool):
            text = shown(restore_best_weights)
            raise TypeError(f"{owner} restore_best_weights must be True or False, got {text}")
        self.monitor: str = monitor
        self.patience: int = patience
        self.mode: str = mode
        self.min_delta: float = delta
        self.restore_best_weights: bool = restore_best_weights
        self.best: float | None = None
        self.best_epoch: int = 0
        self.stopped_epoch: int = 0
        self._wait: int = 0
        self._weights: list[float] | None = None

    def on_train_begin(self, event: FitEvent) -> None:
        if self.monitor not in event.measured:
            hint = " (pass validation_data to measure it)" if self.monitor.startswith("val_") else ""
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which fit() does not measure{hint}; "
                f"it measures {', '.join(event.measured)}"
            )
        self.best = self._weights = None
        self.best_epoch = self.stopped_epoch = self._wait = 0

    def on_epoch_end(self, event: FitEvent) -> None:
        value = event.history[self.monitor][-1]
        if self.best is None or (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        ):
            self.best = value
            self.best_epoch = event.epoch
            self._wait = 0
            if self.restore_best_weights:
                self._weights = [p.data for p in event.optimizer.params]
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = event.epoch
            event.stop_training = True

    def on_train_end(self, event: FitEvent) -> None:
        if self._weights is not None:
            for p, x in zip(event.optimizer.params, self._weights):
                p.data = x
            self._weights = None

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, mode={self.mode!r}, "
            f"min_delta={self.min_delta!r}, restore_best_weights={self.restore_best_weights})"
        )


def _check_callbacks(
    callbacks: Sequence[Any] | None, early_stopping: int | EarlyStopping | None, monitor: str
) -> list[Any]:
    """The callbacks as given, with early stopping's added last."""
    if callbacks is None:
        listeners: list[Any] = []
    elif isinstance(callbacks, (str, bytes, Mapping)) or not isinstance(callbacks, Sequence):
        raise TypeError(f"fit() callbacks must be a list, got {type(callbacks).__name__}")
    else:
        listeners = list(callbacks)
    for i, callback in enumerate(listeners):
        if not (callable(callback) or any(hasattr(callback, hook) for hook in _HOOKS.values())):
            raise TypeError(
                f"fit() callbacks[{i}] must be a function or a Callback, got {type(callback).__name__}"
            )
    if isinstance(early_stopping, EarlyStopping):
        listeners.append(early_stopping)
    elif isinstance(early_stopping, int) and not isinstance(early_stopping, bool) and early_stopping >= 1:
        listeners.append(EarlyStopping(monitor, patience=early_stopping))
    elif early_stopping is not None:
        raise TypeError(
            "fit() early_stopping must be None, a patience (a whole number of epochs >= 1) or an "
            f"EarlyStopping, got {type(early_stopping).__name__}: {shown(early_stopping)}"
        )
    return listeners


def _emit(listeners: list[Any], event: FitEvent) -> None:
    """Hand ``event`` to every callback: a callback object's hook for its kind, or a plain
    function (for steps and epochs)."""
    hook = _HOOKS[event.kind]
    for callback in listeners:
        method = getattr(callback, hook, None)
        if method is not None:
            method(event)
        elif event.kind in ("step", "epoch") and not any(hasattr(callback, h) for h in _HOOKS.values()):
            callback(event)


# --- the loop ----------------------------------------------------------------------------------


def fit(
    model: Callable[[Any], Any],
    data: tuple[Sequence[Any], Sequence[Any]],
    loss: str | LossFunction,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    metrics: Mapping[str, Metric] | None = None,
    progress: bool | Callable[[History], None] | None = None,
    validation_data: tuple[Sequence[Any], Sequence[Any]] | None = None,
    callbacks: Sequence[Callback | Callable[[FitEvent], None]] | None = None,
    early_stopping: int | EarlyStopping | None = None,
    compile: bool = False,
) -> History:
    """Train ``model`` on ``data = (X, y)`` for ``epochs`` passes; return the ``History``.

    ``X`` and ``y`` are lists (or numpy arrays, made lists of numbers with ``.tolist()`` before
    anything else). ``model(x)`` gives the prediction for one input (an ``MLP`` returns a
    Value, or a list of Values for several outputs); ``loss(predictions, targets) -> Value`` is
    the mean loss of a batch, a function or a name from ``nn.losses.LOSSES`` ("mse", "hinge",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy"). The targets
    of a named loss are checked before training starts, a bad one reported by its index in
    ``y``. ``optimizer`` owns the parameters and the update. ``batch_size=None`` trains on the
    whole set at once (full-batch gradient descent), ``1`` one sample at a time (SGD), anything
    between on mini-batches; ``shuffle`` reorders the data every epoch with
    ``random.Random(seed)``.

    ``metrics`` maps names to ``metric(predictions, targets) -> float``; by default, "accuracy"
    for the classification losses (hinge and binary cross-entropy: the sign or the 1/2
    threshold; cross-entropy: the largest logit), nothing for the others. They are measured,
    with the loss, at the end of each epoch under ``no_grad()``, on the training data and on
    ``validation_data`` (recorded as "val_loss", "val_accuracy", ...).

    ``callbacks``: ``Callback`` objects (or any object with some of its ``on_...`` methods),
    and functions called with a ``FitEvent`` after every step and every epoch. A callback may
    stop training (``event.stop_training = True``). ``early_stopping``: a patience (stop once
    the validation loss, or the training loss without validation data, has not improved for
    that many epochs, and restore the best epoch's parameters) or an ``EarlyStopping``.

    ``progress``: None (default) shows a progress bar on standard error when it is a terminal,
    and nothing otherwise (logs, pipes, tests); True always, False never. The bar is tqdm's if
    tqdm is installed, else one line of text. A function instead is called with the History
    after every epoch (to print what you like).

    Ctrl-C (KeyboardInterrupt) ends training cleanly: ``fit`` closes the bar, says so on
    standard error and returns the History of the epochs that finished, with
    ``history.interrupted`` True.

    ``compile=True`` records each batch size's graph once, on placeholder leaves, compiles it
    (``autodiff.compile``) and runs the program on every batch, and evaluates with a compiled
    forward pass: several times faster, and the same History, number for number. Inputs must
    then be lists of numbers of one length, and the model and loss must do the same operations
    for every batch (see ``nn.compiled``). A loss function of one's own gets its targets as
    placeholder Values then, not numbers: it may compute with them but not compare them or read
    their ``.data``; its program is checked against the interpreter on the first two batches of
    each size (ValueError on a difference, before any step).
    """
    loss_fn, loss_name = _loss_function(loss)
    X, y = _check_data(data, "data")
    if validation_data is not None:
        X_val, y_val = _check_data(validation_data, "validation_data")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit() optimizer must be an nn.optim.Optimizer, got {type(optimizer).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit() epochs must be a whole number >= 1, got {shown(epochs)}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"fit() batch_size must be None or a whole number >= 1, got {shown(batch_size)}")
    if not isinstance(shuffle, bool):
        raise TypeError(f"fit() shuffle must be True or False, got {shown(shuffle)}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"fit() seed must be None or an int, got {type(seed).__name__}: {shown(seed)}")
    if not isinstance(compile, bool):
        raise TypeError(f"fit() compile must be True or False, got {shown(compile)}")
    if compile:
        check_inputs(X, "X")
        if validation_data is not None:
            check_inputs(X_val, "validation_data X")
    metrics = _check_metrics(metrics, loss_fn, loss_name)
    listeners = _check_callbacks(callbacks, early_stopping, "loss" if validation_data is None else "val_loss")
    bar = _progress_bar(progress, epochs)
    _check_targets(model, X, y, loss_fn, "y")
    if validation_data is not None:
        _check_targets(model, X_val, y_val, loss_fn, "validation_data y")

    names = ["loss", *metrics]
    if validation_data is not None:
        names += ["val_" + name for name in names]
    measured = (*names, "lr", "seconds")
    history = History()
    event = FitEvent("begin", model, optimizer, history, measured, lr=optimizer.current_lr())
    rng = random.Random(seed)
    compiled = CompiledTraining(model, loss_fn, optimizer) if compile else None
    named = loss_fn in LOSSES.values()
    predict = (lambda inputs: [model(x) for x in inputs]) if compiled is None else compiled.predict
    try:
        _emit(listeners, event)
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            for batch, (xs, ys) in enumerate(batches(X, y, batch_size or len(X), shuffle, rng), 1):
                lr = optimizer.current_lr()
                if compiled is None:
                    step_loss = _train_step(model, loss_fn, optimizer, xs, ys, named)
                else:
                    step_loss = compiled.step(xs, ys)
                history.step_loss.append(step_loss)
                event = FitEvent("step", model, optimizer, history, measured, epoch, event.step + 1, batch,
                                 step_loss, lr)
                _emit(listeners, event)
                if event.stop_training:
                    break
            if event.stop_training:
                history.stopped = True
                break
            record = _evaluate(predict, X, y, loss_fn, metrics, "")
            if validation_data is not None:
                record |= _evaluate(predict, X_val, y_val, loss_fn, metrics, "val_")
            record["lr"] = event.lr
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            if callable(progress):
                progress(history)
            if bar is not None:
                bar.update(history)
            event = FitEvent("epoch", model, optimizer, history, measured, epoch, event.step, event.batch,
                             record["loss"], event.lr)
            _emit(listeners, event)
            if event.stop_training:
                history.stopped = epoch < epochs
                break
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    if history.interrupted:
        sys.stderr.write(
            f"fit() interrupted (KeyboardInterrupt) after {event.step} steps: returning the History "
            f"of the {len(history)} epochs that finished (history.interrupted is True)\n"
        )
    _emit(listeners, FitEvent("end", model, optimizer, history, measured, event.epoch, event.step,
                              event.batch, history.loss[-1] if history.loss else None, event.lr))
    return history


def _train_step(
    model: Callable[[Any], Any],
    loss_fn: LossFunction,
    optimizer: Optimizer,
    xs: list[Any],
    ys: list[Any],
    named: bool,
) -> float:
    """One optimizer step on one batch: the forward pass builds the graph of the batch's loss,
    ``backward()`` fills the parameters' gradients, the optimizer updates them. Returns the
    batch's loss (before the step). A named loss gets its targets as leaf Values, as
    ``fit(compile=True)`` gives them (``nn.compiled.targets_as_values``): the same graph."""
    predictions = [model(x) for x in xs]
    batch_loss = loss_fn(predictions, targets_as_values(loss_fn, ys, predictions) if named else ys)
    if not isinstance(batch_loss, Value):
        raise TypeError(f"fit() loss must return a Value, got {type(batch_loss).__name__}")
    optimizer.zero_grad()
    batch_loss.backward()
    optimizer.step()
    return batch_loss.data


def _loss_function(loss: str | LossFunction) -> tuple[LossFunction, str | None]:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"fit() unknown loss {shown(loss)}; choose one of {', '.join(LOSSES)} or pass a function"
            )
        return LOSSES[loss], loss
    if not callable(loss):
        raise TypeError(f"fit() loss must be a name or a function, got {type(loss).__name__}")
    return loss, None


def _check_data(data: Any, name: str) -> tuple[Sequence[Any], Sequence[Any]]:
    """``(X, y)`` as lists, numpy arrays converted (``_plain``), checked for length."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"fit() {name} must be a pair (X, y) of lists")
    X, y = (_plain(part) for part in data)
    for part, x in (("X", X), ("y", y)):
        if isinstance(x, (str, bytes, Mapping)) or not (hasattr(x, "__len__") and hasattr(x, "__getitem__")):
            kind = type(x).__name__
            raise TypeError(f"fit() {name} must be a pair (X, y) of lists; its {part} is a {kind}")
    if len(X) != len(y):
        raise ValueError(f"fit() {name} has {len(X)} inputs but {len(y)} targets")
    if not len(X):
        raise ValueError(f"fit() {name} is empty")
    return X, y


_PLAIN = frozenset({float, int, bool, Value})
"""What ``_plain`` keeps as it is without looking further."""


def _plain(x: Any) -> Any:
    """``x`` with numpy arrays and numpy numbers (anything with a ``.tolist()``, torch tensors
    too) made plain Python lists and numbers, so that fit, its losses and its metrics see what
    they would in lists: a 2-D array of inputs becomes a list of lists of floats, an array of
    class indexes a list of ints. Lists and tuples holding such things are copied with them
    converted; anything else (plain lists, Values) is returned as it is."""
    if type(x) in _PLAIN or isinstance(x, (str, bytes)):
        return x
    tolist = getattr(x, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(x, (list, tuple)):
        if set(map(type, x)) <= _PLAIN:  # a row of plain numbers: seen at C speed, kept as it is
            return x
        items = [_plain(item) for item in x]
        if any(new is not old for new, old in zip(items, x)):
            return items
    return x


def _check_metrics(
    metrics: Mapping[str, Metric] | None, loss_fn: LossFunction, loss_name: str | None
) -> Mapping[str, Metric]:
    if metrics is None:
        accuracy = _ACCURACY.get(loss_name) if loss_name else _ACCURACY_BY_FUNCTION.get(loss_fn)
        return {"accuracy": accuracy} if accuracy else {}
    if not isinstance(metrics, Mapping):
        raise TypeError(f"fit() metrics must be a mapping of name -> function, got {type(metrics).__name__}")
    for name, metric in metrics.items():
        if not isinstance(name, str) or name in ("loss", "lr", "seconds") or name.startswith("val_"):
            raise ValueError(
                f"fit() metrics names must be strings other than 'loss', 'lr', 'seconds' and "
                f"'val_...', got {shown(name)}"
            )
        if not callable(metric):
            raise TypeError(f"fit() metric {name!r} must be a function, got {type(metric).__name__}")
    return metrics


def _check_targets(model: Callable[[Any], Any], X: Sequence[Any], y: Sequence[Any], loss_fn: LossFunction,
                   what: str) -> None:
    """For the losses of ``LOSSES``, every target checked against what the loss accepts and
    against the number of outputs of the model (one forward pass under no_grad), before training."""
    if loss_fn not in LOSSES.values():
        return
    with no_grad():
        out = model(X[0])
    n_outputs = len(leaves(out, "fit() the model's output for X[0]"))
    check_targets(loss_fn, y, f"fit() {what}", n_outputs)


def _evaluate(
    predict: Callable[[Sequence[Any]], list[Any]],
    X: Sequence[Any],
    y: Sequence[Any],
    loss_fn: LossFunction,
    metrics: Mapping[str, Metric],
    prefix: str,
) -> dict[str, float]:
    """The loss and the metrics of the model on (X, y), computed without recording a graph;
    ``predict(X)`` gives the model's outputs."""
    with no_grad():
        predictions = predict(X)
        record = {f"{prefix}loss": loss_fn(predictions, y).data}
        for name, metric in metrics.items():
            record[prefix + name] = _measurement(name, metric(predictions, y))
    return record


def _measurement(name: str, value: Any) -> float:
    """A metric's result as a float: a finite number (or a Value, read)."""
    if isinstance(value, Value):
        return value.data
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"fit() metric {name!r} must return a number, got {type(value).__name__}")
    return _finite(value, f"fit() metric {name!r}")


# --- progress ------------------------------------------------------------------------------------


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Bar:
    """A progress bar over epochs, showing the last loss and accuracy: tqdm's when tqdm is
    installed (an optional dependency), else one line of text rewritten in place."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.done = total, stream, 0
        self.tqdm: Any = None
        try:
            tqdm = importlib.import_module("tqdm")
        except ImportError:
            return
        self.tqdm = tqdm.tqdm(total=total, desc="fit", unit="epoch", file=stream, leave=True)

    def update(self, history: History) -> None:
        self.done += 1
        shown = {k: v for k, v in history.last().items() if k not in ("lr", "seconds")}
        text = "  ".join(f"{k} {v:.4f}" for k, v in shown.items())
        if self.tqdm is not None:
            self.tqdm.set_postfix_str(text, refresh=False)
            self.tqdm.update(1)
            return
        width = 20
        filled = width * self.done // self.total
        self.stream.write(f"\rfit [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {text}")
        self.stream.flush()

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.done:
            self.stream.write("\n")
            self.stream.flush()


def _progress_bar(progress: bool | Callable[[History], None] | None, epochs: int) -> _Bar | None:
    if progress is None:
        show = _is_terminal(sys.stderr)
    elif isinstance(progress, bool):
        show = progress
    elif callable(progress):
        show = False
    else:
        raise TypeError(f"fit() progress must be None, True, False or a function, got {shown(progress)}")
    return _Bar(epochs, sys.stderr) if show else None

