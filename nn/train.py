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
``validation_data`` when given. ``History`` keeps those numbers, one per epoch.
"""

from __future__ import annotations

import importlib
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from autodiff import Value, no_grad

from .data import batches
from .losses import LOSSES, LossFunction, _pairs, binary_cross_entropy, cross_entropy, hinge
from .optim import Optimizer

Metric = Callable[[Sequence[Any], Sequence[Any]], float]
"""``metric(predictions, targets) -> float``, e.g. ``binary_accuracy``."""


# --- accuracy ----------------------------------------------------------------------------------


def binary_accuracy(predictions: Sequence[Any], targets: Sequence[Any], threshold: float = 0.0) -> float:
    """The fraction of samples classified right when a score above ``threshold`` means the
    positive class and a target above 1/2 is positive: labels 0/1 and -1/+1 both work. Use
    ``threshold=0`` for scores and logits, ``0.5`` for probabilities. Shapes as for the losses
    (one number per sample, or ``[number]``)."""
    preds, targs = _pairs(predictions, targets, "binary_accuracy")
    right = sum((p.data > threshold) == (float(_number(t)) > 0.5) for p, t in zip(preds, targs))
    return right / len(preds)


def categorical_accuracy(predictions: Sequence[Sequence[Any]], targets: Sequence[int]) -> float:
    """The fraction of samples whose largest score (the first, on a tie) is at the target
    class index."""
    if len(predictions) != len(targets) or not targets:
        raise ValueError(
            f"categorical_accuracy() needs as many predictions as targets, at least one; got "
            f"{len(predictions)} and {len(targets)}"
        )
    right = 0
    for scores, target in zip(predictions, targets):
        numbers = [float(_number(s)) for s in scores]
        right += max(range(len(numbers)), key=numbers.__getitem__) == target
    return right / len(targets)


def _number(x: Any) -> Any:
    return x.data if isinstance(x, Value) else x


_ACCURACY: dict[str, Metric] = {
    "hinge": binary_accuracy,
    "binary_cross_entropy": lambda p, t: binary_accuracy(p, t, threshold=0.5),
    "binary_cross_entropy_with_logits": binary_accuracy,
    "cross_entropy": categorical_accuracy,
}
"""The accuracy that goes with each classification loss, by name."""

_ACCURACY_BY_FUNCTION: dict[Any, Metric] = {
    hinge: binary_accuracy,
    binary_cross_entropy: _ACCURACY["binary_cross_entropy"],
    cross_entropy: categorical_accuracy,
}


# --- history ---------------------------------------------------------------------------------


class History:
    """What ``fit`` measured at the end of each epoch, one list per quantity, one entry per
    epoch: ``history["loss"]``, ``["accuracy"]`` (classification losses), ``["val_loss"]`` and
    ``["val_accuracy"]`` (with validation data), any other metric by its name, ``["lr"]`` (the
    learning rate of the epoch's last step) and ``["seconds"]`` (time the epoch took).
    ``history.loss`` and friends are shortcuts, empty when the quantity was not measured."""

    def __init__(self) -> None:
        self.records: dict[str, list[float]] = {}

    def append(self, values: Mapping[str, float]) -> None:
        """Add one epoch's measurements."""
        for name, value in values.items():
            self.records.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.records:
            raise KeyError(f"{name!r} was not measured; History has {', '.join(self.records) or 'nothing'}")
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
        return f"History({len(self)} epochs{': ' + shown if shown else ''})"


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
) -> History:
    """Train ``model`` on ``data = (X, y)`` for ``epochs`` passes; return the ``History``.

    ``model(x)`` gives the prediction for one input (an ``MLP`` returns a list of Values);
    ``loss(predictions, targets) -> Value`` is the mean loss of a batch, a function or a name
    from ``nn.losses.LOSSES`` ("mse", "hinge", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy"). ``optimizer`` owns the parameters and
    the update. ``batch_size=None`` trains on the whole set at once (full-batch gradient
    descent), ``1`` one sample at a time (SGD), anything between on mini-batches; ``shuffle``
    reorders the data every epoch with ``random.Random(seed)``.

    ``metrics`` maps names to ``metric(predictions, targets) -> float``; by default, "accuracy"
    for the classification losses (hinge and binary cross-entropy: the sign or the 1/2
    threshold; cross-entropy: the largest logit), nothing for the others. They are measured,
    with the loss, at the end of each epoch under ``no_grad()``, on the training data and on
    ``validation_data`` (recorded as "val_loss", "val_accuracy", ...).

    ``progress``: None (default) shows a progress bar on standard error when it is a terminal,
    and nothing otherwise (logs, pipes, tests); True always, False never. The bar is tqdm's if
    tqdm is installed, else one line of text. A function instead is called with the History
    after every epoch (to print what you like).
    """
    loss_fn, loss_name = _loss_function(loss)
    X, y = _check_data(data, "data")
    if validation_data is not None:
        X_val, y_val = _check_data(validation_data, "validation_data")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit() optimizer must be an nn.optim.Optimizer, got {type(optimizer).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit() epochs must be a whole number >= 1, got {epochs!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"fit() batch_size must be None or a whole number >= 1, got {batch_size!r}")
    if metrics is None:
        accuracy = _ACCURACY.get(loss_name) if loss_name else _ACCURACY_BY_FUNCTION.get(loss_fn)
        metrics = {"accuracy": accuracy} if accuracy else {}

    rng = random.Random(seed)
    history = History()
    bar = _progress_bar(progress, epochs)
    try:
        for _ in range(epochs):
            start = time.perf_counter()
            lr = optimizer.current_lr()
            for xs, ys in batches(X, y, batch_size or len(X), shuffle, rng):
                lr = optimizer.current_lr()
                batch_loss = loss_fn([model(x) for x in xs], ys)
                if not isinstance(batch_loss, Value):
                    raise TypeError(f"fit() loss must return a Value, got {type(batch_loss).__name__}")
                optimizer.zero_grad()
                batch_loss.backward()
                optimizer.step()
            record = _evaluate(model, X, y, loss_fn, metrics, "")
            if validation_data is not None:
                record |= _evaluate(model, X_val, y_val, loss_fn, metrics, "val_")
            record["lr"] = lr
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            if callable(progress):
                progress(history)
            if bar is not None:
                bar.update(history)
    finally:
        if bar is not None:
            bar.close()
    return history


def _loss_function(loss: str | LossFunction) -> tuple[LossFunction, str | None]:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"fit() unknown loss {loss!r}; choose one of {', '.join(LOSSES)} or pass a function"
            )
        return LOSSES[loss], loss
    if not callable(loss):
        raise TypeError(f"fit() loss must be a name or a function, got {type(loss).__name__}")
    return loss, None


def _check_data(data: Any, name: str) -> tuple[Sequence[Any], Sequence[Any]]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"fit() {name} must be a pair (X, y) of lists")
    X, y = data
    if len(X) != len(y):
        raise ValueError(f"fit() {name} has {len(X)} inputs but {len(y)} targets")
    if not len(X):
        raise ValueError(f"fit() {name} is empty")
    return X, y


def _evaluate(
    model: Callable[[Any], Any],
    X: Sequence[Any],
    y: Sequence[Any],
    loss_fn: LossFunction,
    metrics: Mapping[str, Metric],
    prefix: str,
) -> dict[str, float]:
    """The loss and the metrics of the model on (X, y), computed without recording a graph."""
    with no_grad():
        predictions = [model(x) for x in X]
        record = {f"{prefix}loss": float(loss_fn(predictions, y))}
        for name, metric in metrics.items():
            record[prefix + name] = float(metric(predictions, y))
    return record


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
        raise TypeError(f"fit() progress must be None, True, False or a function, got {progress!r}")
    return _Bar(epochs, sys.stderr) if show else None

