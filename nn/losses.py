"""Loss functions: how wrong the predictions are, as one ``Value`` to call ``backward()`` on.

Shapes. A *sample* is what a model returns for one input: a scalar (a ``Value`` or a number) or
a vector of them (``MLP`` always returns a list, ``[score]`` for one output). A *batch* is a list
of samples. Every loss takes one sample or a batch, with targets of the same shape, and returns
a ``Value``: the mean over the batch (over every entry, for vector samples). A one-entry
prediction ``[score]`` pairs with a bare number target, so ``[model(x) for x in X]`` goes with a
plain list of labels ``y``; anything else must match entry for entry (no silent broadcasting).

Each loss is written with the engine's operations, so ``backward()`` applies the chain rule
through it like through any other graph; the docstrings give the derivative it amounts to.
Stable forms are used wherever a naive formula would overflow or lose digits (log-sum-exp,
softplus): at logits of +-1000 every loss is finite and exact.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, overload

from autodiff import DomainError, Value, constant, dot
from autodiff.value import shown

from .module import Module, _finite, _reports_as

Scalar = Value | float
"""One number of a prediction: a Value, or a plain number (int and bool are accepted too)."""
Sample = Scalar | Sequence[Scalar]
"""What a model returns for one input: a scalar, or a vector of scalars."""
Batch = Sample | Sequence[Sample]
"""One sample, or a list of samples."""
LossFunction = Callable[[Any, Any], Value]
"""``loss(predictions, targets) -> Value``."""


# --- shapes --------------------------------------------------------------------------------------


def _is_scalar(x: object) -> bool:
    return isinstance(x, (Value, numbers.Real))


def _is_vector(x: object) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


TargetCheck = Callable[[Any, str], Any]
"""``check(target, what)``: one target number as a loss uses it, or an error naming ``what``."""


def _pairs(
    predictions: Any,
    targets: Any,
    loss: str,
    check: TargetCheck,
    names: tuple[str, str] = ("predictions", "targets"),
) -> tuple[list[Value], list[Any]]:
    """Pair every predicted number with its target, walking both structures together.

    Returns the predictions as Values (plain numbers become constant leaves) and the targets as
    ``check(target, "loss() targets[i]...")`` returns them. Raises ValueError for empty input or
    a length mismatch, DomainError for a number that is not finite, and TypeError for anything
    that is neither a number, a Value nor a list, naming the position. The walk keeps its own
    stack (no recursion, no inner function: nothing refers back to itself, so the batch's graph
    is freed as soon as the loss is).
    """
    preds: list[Value] = []
    targs: list[Any] = []
    stack: list[tuple[Any, Any, str]] = [(predictions, targets, "")]
    while stack:
        p, t, where = stack.pop()
        if _is_scalar(p) and _is_scalar(t):
            preds.append(p if isinstance(p, Value) else _leaf(p, f"{loss}() {names[0]}{where}"))
            targs.append(check(t, f"{loss}() {names[1]}{where}"))
            continue
        p_vector, t_vector = _is_vector(p), _is_vector(t)
        if p_vector and _is_scalar(t) and len(p) == 1:  # [score] against a bare label
            stack.append((p[0], t, f"{where}[0]"))
            continue
        if _is_scalar(p) and t_vector and len(t) == 1:  # a bare score against [label]
            stack.append((p, t[0], where))
            continue
        for x, name, vector in ((p, names[0], p_vector), (t, names[1], t_vector)):
            if not vector and not _is_scalar(x):
                raise TypeError(
                    f"{loss}() {name}{where} must be a Value, a number or a list of them, "
                    f"got {type(x).__name__}"
                )
        if not (p_vector and t_vector):
            many, one = (names[0], names[1]) if p_vector else (names[1], names[0])
            size = len(p) if p_vector else len(t)
            raise ValueError(f"{loss}() {many}{where} has {size} entries but {one}{where} is a single number")
        if len(p) != len(t):
            raise ValueError(
                f"{loss}() {names[0]}{where} has {len(p)} entries but {names[1]}{where} has {len(t)}"
            )
        if not p:
            raise ValueError(f"{loss}() {names[0]}{where} is empty")
        stack.extend((p[i], t[i], f"{where}[{i}]") for i in reversed(range(len(p))))
    return preds, targs


def _leaf(x: Any, what: str) -> Value:
    return Value(_finite(x, what))


# --- targets: what each loss accepts, checked one number at a time ------------------------------


def _number_target(t: Any, what: str) -> Value | float:
    """A regression target: a Value or a finite number."""
    return t if isinstance(t, Value) else _finite(t, what)


def _label(t: Any, what: str) -> Value | float:
    """A classification target: a finite number, or a leaf Value holding one (a placeholder
    that a compiled program fills with each batch's labels, as ``fit(compile=True)`` records
    them). The loss is then written without looking at the label, so that its graph is the
    same for every batch."""
    if isinstance(t, Value):
        if t.op is not None:
            raise TypeError(f"{what} must be a number (or a leaf Value), got a Value made by {t.op.name}()")
        return t  # a Value's number is always finite
    if not isinstance(t, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(t).__name__}: {shown(t)}")
    return _finite(t, what)


def _number(t: Value | float) -> float:
    return t.data if isinstance(t, Value) else t


def _probability_target(t: Any, what: str) -> Value | float:
    """A binary cross-entropy target: a number in [0, 1] (a 0/1 label or a soft one)."""
    label = _label(t, what)
    if not 0.0 <= _number(label) <= 1.0:
        raise ValueError(f"{what} must be in [0, 1], got {shown(_number(t))}")
    return label


def _sign_label(t: Any, what: str) -> Value | float:
    """A hinge label: -1 or +1."""
    label = _label(t, what)
    if _number(label) not in (-1.0, 1.0):
        raise ValueError(
            f"{what}: labels must be -1 or +1, got {shown(_number(t))}; "
            "for 0/1 labels pass 2 * y - 1"
        )
    return label


def _class_index(t: Any, what: str, k: int) -> int:
    """A cross-entropy target: a class index, an int in ``range(k)``."""
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(f"{what} must be a class index (an int), got {type(t).__name__}: {shown(t)}")
    index = int(t)
    if not 0 <= index < k:
        raise ValueError(f"{what} = {shown(t)} is not a class index for {k} logits (0 to {k - 1})")
    return index


def check_targets(loss: LossFunction, targets: Sequence[Any], what: str, n_outputs: int) -> None:
    """Check every target of a data set against what ``loss`` (one of ``LOSSES``) accepts, before
    any training: ``fit`` reports a bad label by its index in ``y``, not by its place in a
    shuffled batch. ``what`` names the targets (``"fit() y"``); ``n_outputs`` is the number of
    numbers the model gives for one input, which each target must match (a class index among
    them, for cross-entropy). Other losses' targets are not checked.
    """
    check = _TARGETS.get(loss)
    if check is None and loss is not cross_entropy:
        return
    for i, t in enumerate(targets):
        where = f"{what}[{i}]"
        if check is None:
            _class_index(t, where, n_outputs)
            continue
        numbers_ = leaves(t, where)
        if len(numbers_) != n_outputs:
            raise ValueError(f"{where} holds {len(numbers_)} numbers, but the model gives {n_outputs}")
        for x, place in numbers_:
            check(x, place)


def leaves(x: Any, what: str) -> list[tuple[Any, str]]:
    """The numbers (and Values) in ``x``, a number or nested lists of them, each with its place
    (``what[1][0]``); a TypeError naming the place of anything else."""
    found = []
    stack = [(x, what)]
    while stack:
        item, where = stack.pop()
        if _is_vector(item):
            stack.extend((item[j], f"{where}[{j}]") for j in reversed(range(len(item))))
        elif _is_scalar(item):
            found.append((item, where))
        else:
            raise TypeError(f"{where} must be a number or a list of numbers, got {type(item).__name__}")
    return found


def _total(terms: Sequence[Value]) -> Value:
    """sum_i terms[i] as one node (a dot product with ones): d total / d terms[i] = 1."""
    return dot(terms, [1.0] * len(terms))


def _mean(terms: Sequence[Value]) -> Value:
    """(1/n) sum_i terms[i]: d mean / d terms[i] = 1/n."""
    return _total(terms) / len(terms)


# --- the losses ----------------------------------------------------------------------------------


@_reports_as("mse()")
def mse(predictions: Batch, targets: Any, half: bool = False) -> Value:
    """Mean squared error over the ``n`` numbers predicted:

        L = (1/n) sum_i (y_i - t_i)^2,        dL/dy_i = (2/n) (y_i - t_i)

    (``torch.nn.MSELoss``). With ``half=True`` the book's cost ``C = 1/(2n) sum_i (y_i - t_i)^2``,
    exactly half of it, whose derivative has no 2: ``dC/dy_i = (y_i - t_i) / n``. (With one output
    per sample, ``n`` is the number of samples, as in the book; with k outputs per sample ``n``
    counts all of them, so the book's ``1/(2n) sum_x ||y(x) - t(x)||^2`` is k times this.)

    ``predictions``: one sample or a batch (see the module docstring); ``targets``: numbers or
    Values of the same shape.
    """
    _check_flag("mse", "half", half)
    preds, targs = _pairs(predictions, targets, "mse", _number_target)
    diffs = [p - t for p, t in zip(preds, targs)]
    squares = dot(diffs, diffs)  # sum_i d_i^2 as one node: d/d d_i = 2 d_i
    return squares / (2 * len(diffs)) if half else squares / len(diffs)


@_reports_as("binary_cross_entropy()")
def binary_cross_entropy(predictions: Batch, targets: Any, from_logits: bool = False) -> Value:
    """Mean binary cross-entropy of targets ``t`` in [0, 1] (0/1 labels, or soft ones).

    From probabilities ``p`` (``from_logits=False``, ``torch.nn.BCELoss``)::

        L = -(1/n) sum_i [t_i log p_i + (1 - t_i) log(1 - p_i)],
        dL/dp_i = (p_i - t_i) / (n p_i (1 - p_i))

    Nothing is clamped. A probability outside [0, 1] is a ValueError. At p = 0 or 1 the loss is
    computed exactly when it is finite (p = 1 with t = 1 costs 0, with slope -1/n; a term whose
    weight t or 1 - t is 0 is left out, as 0 log 0 = 0), and is a ``DomainError`` when it is
    infinite (p = 1 with t < 1, p = 0 with t > 0): a probability that rounded to 0 or 1 has lost
    the information, so use logits.

    From logits ``z`` (``from_logits=True``, ``torch.nn.BCEWithLogitsLoss``), with p = sigmoid(z)::

        L = (1/n) sum_i [(1 - t_i) softplus(z_i) + t_i softplus(-z_i)],
        dL/dz_i = (sigmoid(z_i) - t_i) / n

    the same loss, since -log sigmoid(z) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z).
    ``softplus(z) = log(1 + e^z)`` is computed as ``max(z, 0) + log(1 + e^-|z|)``, finite for
    every z; for 0/1 labels only the one term with weight 1 is computed, so that the loss keeps
    all its digits: a logit of 1000 with label 1 costs exactly 0, with label 0 exactly 1000.
    (Equal to ``max(z, 0) - z t + log(1 + e^-|z|)``, the usual stable form.)

    Targets may also be leaf Values (a compiled program's placeholders, which ``fit(compile=True)``
    fills with each batch's labels): then both terms are computed, whatever the label, so that
    the graph is the same for every batch (the same numbers for 0/1 labels: 0 times a finite
    term adds nothing); from probabilities that rules out a probability of exactly 0 or 1.
    """
    name = "binary_cross_entropy"
    _check_flag(name, "from_logits", from_logits)
    preds, ts = _pairs(predictions, targets, name, _probability_target)
    terms: list[Value] = []
    for i, (p, t) in enumerate(zip(preds, ts)):
        if from_logits:
            if isinstance(t, Value):  # the general form, whatever the label: one graph for all
                terms.append((1.0 - t) * p.softplus() + t * (-p).softplus())
            elif t == 1.0:
                terms.append((-p).softplus())
            elif t == 0.0:
                terms.append(p.softplus())
            else:
                terms.append((1.0 - t) * p.softplus() + t * (-p).softplus())
            continue
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(
                f"{name}() predictions must be probabilities in [0, 1], got {p.data!r} (entry {i});"
                " for raw scores pass from_logits=True"
            )
        label = _number(t)
        if (p.data == 0.0 and label > 0.0) or (p.data == 1.0 and label < 1.0):
            raise DomainError(
                f"{name}() is infinite at probability {p.data!r} with target {label!r} (entry {i}): "
                "-log(0); compute the loss from logits (from_logits=True) instead of probabilities"
            )
        if isinstance(t, Value):
            if p.data in (0.0, 1.0):
                raise DomainError(
                    f"{name}() with Values as targets (as fit(compile=True) records them) takes both "
                    f"logs, and log(1 - p) at probability {p.data!r} is -log(0) (entry {i}): compute "
                    "the loss from logits (from_logits=True) instead of probabilities"
                )
            terms.append(-(t * p.log() + (1.0 - t) * (1.0 - p).log()))
        elif t == 1.0:
            terms.append(-p.log())
        elif t == 0.0:
            terms.append(-(1.0 - p).log())
        else:
            terms.append(-(t * p.log() + (1.0 - t) * (1.0 - p).log()))
    return _mean(terms)


@overload
def softmax(logits: Sequence[Scalar]) -> list[Value]: ...
@overload
def softmax(logits: Sequence[Sequence[Scalar]]) -> list[list[Value]]: ...
@_reports_as("softmax()")
def softmax(logits: Sequence[Scalar] | Sequence[Sequence[Scalar]]) -> list[Value] | list[list[Value]]:
    """Probabilities from the logits of one sample: a list of Values that sum to 1.

        softmax(z)_i = e^(z_i - m) / sum_j e^(z_j - m),   m = max_j z_j,
        d softmax(z)_i / d z_j = softmax(z)_i (delta_ij - softmax(z)_j)

    Subtracting the largest logit changes nothing (numerator and denominator both gain the factor
    e^-m) but keeps every exponential in (0, 1]: no overflow at any logit. ``m`` is a constant, not
    part of the graph; the derivative is the same either way, since softmax(z + c) = softmax(z).

    A batch (a list of lists of logits) gives a list of lists of probabilities.
    """
    if not _is_vector(logits) or not logits:
        raise _needs_logits("softmax", logits)
    if all(_is_vector(row) for row in logits):
        return [_softmax(row, f"softmax() logits[{i}]") for i, row in enumerate(logits)]
    return _softmax(logits, "softmax() logits")


def _needs_logits(loss: str, logits: object) -> Exception:
    if _is_vector(logits):
        return ValueError(f"{loss}() logits is empty")
    return TypeError(f"{loss}() needs a list of logits (one per class), got {type(logits).__name__}")


def _vector(row: Any, what: str) -> list[Value]:
    if not _is_vector(row) or not row:
        raise (ValueError(f"{what} is empty") if _is_vector(row) else
               TypeError(f"{what} must be a list of logits, got {type(row).__name__}"))
    out = []
    for j, z in enumerate(row):
        if not _is_scalar(z):
            raise TypeError(f"{what}[{j}] must be a Value or a number, got {type(z).__name__}")
        out.append(z if isinstance(z, Value) else _leaf(z, f"{what}[{j}]"))
    return out


def _softmax(row: Any, what: str) -> list[Value]:
    zs = _vector(row, what)
    m = constant(max, zs)  # the largest logit, a constant of the graph, computed again by programs
    exps = [(z - m).exp() for z in zs]
    total = _total(exps)
    return [e / total for e in exps]


@_reports_as("cross_entropy()")
def cross_entropy(logits: Sequence[Scalar] | Sequence[Sequence[Scalar]], target: Any) -> Value:
    """Softmax cross-entropy: minus the log-probability the softmax of the logits gives the
    target class (``torch.nn.CrossEntropyLoss``).

    One sample: ``logits`` a list of K Values (one per class), ``target`` a class index, an int
    in ``range(K)``::

        L = -log softmax(z)_t = logsumexp(z) - z_t,
        logsumexp(z) = m + log sum_j e^(z_j - m),  m = max_j z_j,
        dL/dz_j = softmax(z)_j - [j == t]

    The target may also be a list of K class probabilities q that sum to 1 (a one-hot vector,
    or soft labels; numbers, or leaf Values as ``fit(compile=True)`` records them):
    ``L = logsumexp(z) - sum_j q_j z_j``, ``dL/dz_j = softmax(z)_j - q_j``; for a one-hot q the
    same numbers as the class index.

    A batch: ``logits`` a list of n such lists, ``target`` a list of n targets; the loss is the
    mean over the samples and each gradient is divided by n.

    Never takes the log of a probability: ``logsumexp`` stays finite at any logits, so at logits
    [1000, -1000] the loss is exactly 0 for class 0 and exactly 2000 for class 1. (``m`` is
    ``autodiff.constant(max, z)``: no gradient flows through it, and a compiled program computes
    it again from each batch's logits.)
    """
    name = "cross_entropy"
    if not _is_vector(logits) or not logits:
        raise _needs_logits(name, logits)
    batch = any(_is_vector(row) for row in logits)
    if not batch:
        return _cross_entropy(logits, target, "logits", "target")
    if not _is_vector(target):
        raise TypeError(
            f"{name}() with a batch of logits (a list of lists) needs a list of targets, "
            f"got {type(target).__name__}"
        )
    rows = list(logits)
    for i, row in enumerate(rows):
        if not _is_vector(row):
            raise TypeError(
                f"{name}() with a list of targets needs a batch of logits (a list of lists), "
                f"but logits[{i}] is a {type(row).__name__}"
            )
    if len(rows) != len(target):
        raise ValueError(f"{name}() got {len(rows)} samples of logits but {len(target)} targets")
    losses = [_cross_entropy(row, t, f"logits[{i}]", f"target[{i}]") for i, (row, t) in
              enumerate(zip(rows, target))]
    return _mean(losses)


def _cross_entropy(row: Any, target: Any, logits_name: str, target_name: str) -> Value:
    zs = _vector(row, f"cross_entropy() {logits_name}")
    m = constant(max, zs)  # the largest logit, a constant of the graph, computed again by programs
    log_total = _total([(z - m).exp() for z in zs]).log()  # log sum_j e^(z_j - m), in [0, log K]
    if _is_vector(target):
        return log_total + (m - dot(_probabilities(target, f"cross_entropy() {target_name}", len(zs)), zs))
    index = _class_index(target, f"cross_entropy() {target_name}", len(zs))
    return log_total + (m - zs[index])


def _probabilities(target: Any, what: str, k: int) -> list[Value | float]:
    """A target given as class probabilities: k numbers (or leaf Values) in [0, 1] that sum to 1."""
    if len(target) != k:
        raise ValueError(f"{what} has {len(target)} class probabilities for {k} logits")
    qs = [_probability_target(q, f"{what}[{j}]") for j, q in enumerate(target)]
    total = sum(_number(q) for q in qs)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"{what} must sum to 1 (class probabilities), got a sum of {total!r}")
    return qs


@_reports_as("hinge()")
def hinge(scores: Batch, labels: Any) -> Value:
    """Mean hinge loss for labels ``y`` in {-1, +1} (the SVM loss micrograd's demo uses)::

        L = (1/n) sum_i max(0, 1 - y_i s_i),
        dL/ds_i = -y_i / n where y_i s_i < 1, else 0 (0 at the kink y_i s_i = 1)

    A score is right when its sign is the label's; the loss keeps pushing until it is right by a
    margin of 1. 0/1 labels are a ValueError: convert them with ``2 * y - 1``.
    """
    name = "hinge"
    preds, ys = _pairs(scores, labels, name, _sign_label, ("scores", "labels"))
    return _mean([(1.0 - y * s).relu() for s, y in zip(preds, ys)])


@_reports_as("l2()")
def l2(parameters: Iterable[Value] | Module) -> Value:
    """The squared L2 norm of the parameters, the usual penalty on large weights::

        l2(w) = sum_k w_k^2,        d l2 / d w_k = 2 w_k

    Add ``lam * l2(model)`` to a loss to shrink the weights (``torch.optim.SGD``'s
    ``weight_decay=2 lam`` does the same to the gradient). Takes a list of Values or a Module.
    """
    if isinstance(parameters, Module):
        params = parameters.parameters()
    elif isinstance(parameters, (Value, str, bytes)) or not isinstance(parameters, Iterable):
        raise TypeError(f"l2() needs a Module or a list of Values, got {type(parameters).__name__}")
    else:
        params = list(parameters)
    if not params:
        raise ValueError("l2() got no parameters (an empty list)")
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"l2() parameters must be Values, got {type(p).__name__} (entry {i})")
    return dot(params, params)  # one node: d/dw_k = w_k + w_k


def binary_cross_entropy_with_logits(logits: Batch, targets: Any) -> Value:
    """``binary_cross_entropy(logits, targets, from_logits=True)``, under a name of its own
    (``torch.nn.BCEWithLogitsLoss``)."""
    return binary_cross_entropy(logits, targets, from_logits=True)


def _check_flag(loss: str, name: str, flag: object) -> None:
    if not isinstance(flag, bool):
        raise TypeError(f"{loss}() {name} must be True or False, got {type(flag).__name__}: {shown(flag)}")


LOSSES: dict[str, LossFunction] = {
    "mse": mse,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge,
}
"""The losses ``fit`` knows by name."""

_TARGETS: dict[LossFunction, TargetCheck] = {
    mse: _number_target,
    binary_cross_entropy: _probability_target,
    binary_cross_entropy_with_logits: _probability_target,
    hinge: _sign_label,
}
"""The check of one target number, for each loss but cross-entropy (whose targets are class
indexes, checked against the number of classes)."""
