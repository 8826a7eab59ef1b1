"""``fit(..., compile=True)``: each training step run by a compiled program.

A batch's graph has the same shape from one step to the next: the same model, the same loss,
only the numbers change. So the graph is recorded once per batch size, on placeholder leaves
(``x0_0``, ``x0_1``, ... for the inputs, ``t0``, ... for the targets), and compiled with
``autodiff.compile``; every batch then writes its numbers into the placeholders and runs the
program, which adds the loss's gradient into the parameters' ``.grad`` bit for bit as
``backward()`` would. Evaluation runs a compiled forward pass over 32 inputs at a time.

What is frozen is what any trace freezes: which operations ran. A model or a loss of your own
must therefore compute the same operations for every batch, whatever its numbers: ``float(x)``,
``if x > 0:`` and the like raise TypeError while recording (``grad_mode.recording_program``),
while the branches inside rules (relu, abs) run again every time. The losses of
``nn.losses`` are written that way for targets given as Values (cross-entropy's class indexes
become one-hot vectors), and give the same numbers as with plain targets, so a run with
``compile=True`` records the same History as with ``compile=False``.

A loss of one's own gets its targets as placeholder Values too (``compile=False`` hands it the
numbers), so it must treat them with arithmetic only: ``t == 1`` is identity on Values (False
when recorded, whatever the label) and ``t.data`` reads the first batch's number into every
step, and neither can raise. So for such a loss the first ``CHECKED_BATCHES`` batches of each
size are also computed by the interpreter, as ``compile=False`` would (under ``no_grad``, targets
as numbers), and the program's loss must equal it to the bit before the optimizer takes the
step, else ValueError, saying what to do. (A check, not a proof: a comparison or read that
happens to agree on those batches goes unseen.) From probabilities
(``binary_cross_entropy`` without logits), a probability of exactly 0 or 1 cannot be recorded:
use logits.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from autodiff import Program, Value, compile, no_grad, topological_order
from autodiff.grad_mode import recording_program
from autodiff.value import same_float, shown

from .losses import LOSSES, LossFunction, cross_entropy
from .optim import Optimizer


class CompiledTraining:
    """The compiled steps and forward pass of one ``fit`` run: ``step(xs, ys)`` trains on one
    batch, ``predict(X)`` gives the model's outputs for many inputs (leaf Values, as under
    ``no_grad``)."""

    def __init__(self, model: Callable[[Any], Any], loss_fn: LossFunction, optimizer: Optimizer) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.steps: dict[int, tuple[list[list[Value]], Any, Program]] = {}
        """For each batch size: the input placeholders, the target placeholders, the program."""
        self.checks_left: dict[int, int] = {}
        """For each batch size, how many more of its batches to check against the interpreter
        (only for a loss of one's own: see ``CHECKED_BATCHES``)."""
        self.forward_program: tuple[list[list[Value]], list[Any], Program | None] | None = None
        """The placeholders of EVAL_CHUNK inputs, the shape of each one's output, and the forward
        program (None when an output holds something other than Values: then the model is
        interpreted)."""

    # --- training ---

    def step(self, xs: Sequence[Sequence[Any]], ys: Sequence[Any]) -> float:
        """One optimizer step on one batch; returns the batch's loss (before the step)."""
        size = len(xs)
        if size not in self.steps:
            self.steps[size] = self.record(xs, ys)
            self.checks_left[size] = 0 if self.loss_fn in LOSSES.values() else CHECKED_BATCHES
        inputs, targets, program = self.steps[size]
        expected, grads = None, []
        if self.checks_left[size]:
            self.checks_left[size] -= 1
            expected = self.interpreted_loss(xs, ys)
            grads = [p.grad for p in self.optimizer.params]
        _fill_inputs(inputs, xs)
        _fill(targets, self.targets_of(ys, targets))
        self.optimizer.zero_grad()
        loss = program()
        if expected is not None and not same_float(loss, expected):
            for p, g in zip(self.optimizer.params, grads):  # as they were: nothing has changed
                p.grad = g
            raise self.replay_error(loss, expected, size)
        self.optimizer.step()
        return loss

    def record(self, xs: Sequence[Sequence[Any]], ys: Sequence[Any]) -> tuple[list[list[Value]], Any, Program]:  # noqa: E501
        """The graph of one batch of this size, on placeholders holding this batch's numbers."""
        inputs = _placeholders(xs)
        with recording_program():  # float(x) or `if x > 0` would freeze this batch's numbers: refused
            predictions = [self.model(x) for x in inputs]
            targets = targets_as_values(self.loss_fn, ys, predictions)
            loss = self.loss_fn(predictions, targets)
        if not isinstance(loss, Value):
            raise TypeError(f"fit() loss must return a Value, got {type(loss).__name__}")
        leaves = {node for node in topological_order(loss) if node.is_leaf}
        wrt = [p for p in self.optimizer.params if p in leaves]
        return inputs, targets, compile(loss, wrt=wrt)

    def targets_of(self, ys: Sequence[Any], placeholders: Any) -> Any:
        """The numbers the target placeholders take for labels ``ys``: the labels themselves,
        or for cross-entropy, each class index as a one-hot vector."""
        if self.loss_fn is not cross_entropy:
            return ys
        return [_one_hot(y, len(row)) for y, row in zip(ys, placeholders)]

    def interpreted_loss(self, xs: Sequence[Sequence[Any]], ys: Sequence[Any]) -> float:
        """The batch's loss as ``fit(compile=False)`` computes it, targets as plain numbers, under
        ``no_grad`` (no graph, no gradient: nothing changes)."""
        with no_grad():
            loss = self.loss_fn([self.model(x) for x in xs], ys)
        if not isinstance(loss, Value):
            raise TypeError(f"fit() loss must return a Value, got {type(loss).__name__}")
        return loss.data

    def replay_error(self, compiled: float, interpreted: float, size: int) -> ValueError:
        name = getattr(self.loss_fn, "__qualname__", None) or repr(self.loss_fn)
        return ValueError(
            f"fit(compile=True): the compiled program of the loss {name}() gives {compiled!r} on a "
            f"batch of {size}, but the loss itself, given the targets as numbers (as compile=False "
            f"calls it), gives {interpreted!r}. It compares or reads .data of its targets (t == 1, "
            "t != 0, t.data), which a recorded program cannot replay: it keeps the first batch's "
            "outcome or number for every batch. Compute with arithmetic on the targets only "
            "(t * (p - 1) ** 2 + (1 - t) * p ** 2 instead of an if on t == 1), or train with "
            "compile=False. (A model that reads .data of its inputs does the same.)"
        )

    # --- evaluation ---

    def predict(self, X: Sequence[Sequence[Any]]) -> list[Any]:
        """The model's outputs for the inputs ``X`` (leaf Values, or lists of them, as under
        ``no_grad``), from a compiled forward pass over ``EVAL_CHUNK`` inputs at a time (the
        last chunk padded with copies of its first input, whose outputs are dropped)."""
        if self.forward_program is None:
            self.forward_program = self.record_forward(X[: min(EVAL_CHUNK, len(X))])
        inputs, shapes, program = self.forward_program
        if program is None:
            with no_grad():
                return [self.model(x) for x in X]
        size = len(inputs)
        found: list[Any] = []
        for start in range(0, len(X), size):
            chunk = list(X[start:start + size])
            real = len(chunk)
            chunk += [chunk[0]] * (size - real)
            _fill_inputs(inputs, chunk)
            values = iter(program.forward())
            with no_grad():
                found += [_shaped(shape, values) for shape in shapes][:real]
        return found

    def record_forward(
        self, xs: Sequence[Sequence[Any]]
    ) -> tuple[list[list[Value]], list[Any], Program | None]:
        """The forward pass of ``len(xs)`` inputs on placeholders, compiled: the program's
        outputs are every input's outputs, one after the other."""
        inputs = _placeholders(xs)
        with recording_program():
            outs = [self.model(x) for x in inputs]
        flat: list[Any] = []
        shapes = [_flatten(out, flat) for out in outs]
        if not flat or not all(isinstance(v, Value) for v in flat):
            return inputs, shapes, None
        return inputs, shapes, compile(flat)


CHECKED_BATCHES = 2
"""How many batches of each size ``fit(compile=True)`` also computes with the interpreter, for a
loss of one's own, before trusting its program: the first batch catches a comparison of the
targets (``t == 1`` is identity on Values, False when recorded), the second a number read from
them (``t.data``: the first batch's, frozen)."""

EVAL_CHUNK = 32
"""How many inputs one run of ``fit(compile=True)``'s forward program evaluates: enough that
reading the parameters costs little per input, few enough that the program compiles quickly."""


def targets_as_values(loss_fn: LossFunction, ys: Sequence[Any], predictions: Sequence[Any]) -> Any:
    """The batch's targets as leaf Values, shaped like ``ys`` (a class index as a one-hot
    vector, for cross-entropy), labelled ``t0``, ``t1_2``, ...: what ``fit`` gives the losses of
    ``nn.losses``, with or without ``compile``, so that a batch's graph has one shape whatever
    its labels, and both ways compute the same numbers in the same order."""
    if loss_fn is cross_entropy:
        width = [len(p) if isinstance(p, (list, tuple)) else 1 for p in predictions]
        return [[Value(q, f"t{i}_{c}") for c, q in enumerate(_one_hot(y, k))] for i, (y, k) in
                enumerate(zip(ys, width))]
    return [_as_values(y, f"t{i}") for i, y in enumerate(ys)]


def _one_hot(index: Any, k: int) -> list[float]:
    return [1.0 if c == index else 0.0 for c in range(k)]


def check_inputs(X: Sequence[Any], what: str) -> None:
    """``fit(compile=True)`` feeds each input's numbers to a program: every input must be a
    list of numbers, all of one length."""
    width = None
    for i, x in enumerate(X):
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise TypeError(f"fit(compile=True) needs each input in {what} as a list of numbers, "
                            f"got {type(x).__name__} at {what}[{i}]")
        if width is None:
            width = len(x)
        elif len(x) != width:
            raise ValueError(f"fit(compile=True) needs inputs of one length: {what}[0] has {width} "
                             f"numbers, {what}[{i}] has {len(x)}")
        for j, v in enumerate(x):
            if isinstance(v, Value) or not isinstance(v, numbers.Real):
                raise TypeError(f"fit(compile=True) needs numbers in its inputs, got "
                                f"{type(v).__name__} at {what}[{i}][{j}]: {shown(v)}")


def _placeholders(xs: Sequence[Sequence[Any]]) -> list[list[Value]]:
    """Leaf Values holding the inputs' numbers, labelled ``x0_0``, ``x0_1``, ...: a program's
    inputs, which each batch writes its numbers into."""
    return [[Value(float(v), f"x{i}_{j}") for j, v in enumerate(x)] for i, x in enumerate(xs)]


def _as_values(y: Any, label: str) -> Any:
    """The target ``y`` (a number, or a list of them) as leaf Values of the same shape."""
    if isinstance(y, (list, tuple)):
        return [_as_values(item, f"{label}_{k}") for k, item in enumerate(y)]
    return Value(float(y), label)


def _fill(placeholders: Any, numbers_: Any) -> None:
    """Write ``numbers_`` into ``placeholders`` (the same shape: Values, or lists of them)."""
    if isinstance(placeholders, Value):
        placeholders.data = float(numbers_)
        return
    if not isinstance(numbers_, (list, tuple)) or len(numbers_) != len(placeholders):
        raise ValueError(f"fit(compile=True) got a target shaped unlike the recorded ones: {shown(numbers_)}")
    for placeholder, number in zip(placeholders, numbers_):
        _fill(placeholder, number)


def _fill_inputs(rows: list[list[Value]], xs: Sequence[Sequence[Any]]) -> None:
    for row, x in zip(rows, xs):
        for leaf, v in zip(row, x):
            leaf.data = float(v)


def _flatten(out: Any, flat: list[Any]) -> Any:
    """``out``'s Values appended to ``flat``; returns its shape (None for one, a list of
    shapes for a list)."""
    if isinstance(out, (list, tuple)):
        return [_flatten(item, flat) for item in out]
    flat.append(out)
    return None


def _shaped(shape: Any, values: Any) -> Any:
    """Leaf Values in ``shape``, taking numbers from the iterator ``values``."""
    if shape is None:
        return Value(next(values))
    return [_shaped(item, values) for item in shape]

