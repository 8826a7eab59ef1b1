"""Getting data ready for a network: ``standardize`` features, ``one_hot`` labels.

Both take and return plain lists, and check their input whole before computing anything: rows of
different lengths, an empty set, a number that is not finite or a label out of range is a
ValueError (a value that is not a number at all, a TypeError) naming the function, the argument
and the place.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

from .data import _is_finite_number


class Standardized(NamedTuple):
    """What ``standardize`` returns: the standardized rows and the statistics that made them."""

    train: list[list[float]]
    """The training rows, each column now of mean 0 and standard deviation 1 (or all 0)."""
    test: list[list[float]] | None
    """The test rows with the training statistics, or None when no test set was given."""
    mean: list[float]
    """Each column's mean over the training rows."""
    scale: list[float]
    """What each column was divided by: its standard deviation over the training rows, or 1.0
    for a column whose training values are all equal."""


def standardize(
    X_train: Sequence[Sequence[float]], X_test: Sequence[Sequence[float]] | None = None
) -> Standardized:
    """Centre and scale each column: ``x' = (x - mean) / std``, with the mean and the (population)
    standard deviation of the column over the **training** rows only, applied to both sets, so
    nothing about the test set leaks into training.

        train, test, mean, scale = standardize(X_train, X_test)

    A column whose training values are all equal (a pixel that is always blank) has standard
    deviation 0: it is centred but not divided (``scale`` 1.0), so it becomes all zeros in the
    training set and ``x - mean`` in the test set, never a division by zero. That is
    scikit-learn's ``StandardScaler`` too. The inputs are not changed.
    """
    width = _check_rows("X_train", X_train, None)
    if X_test is not None:
        _check_rows("X_test", X_test, width)
    n = len(X_train)
    columns = list(zip(*X_train))
    mean: list[float] = []
    scale: list[float] = []
    for column in columns:
        if min(column) == max(column):
            mean.append(float(column[0]))
            scale.append(1.0)
            continue
        m = math.fsum(column) / n
        mean.append(m)
        scale.append(math.sqrt(math.fsum((x - m) ** 2 for x in column) / n))

    def apply(rows: Sequence[Sequence[float]]) -> list[list[float]]:
        return [[(float(x) - m) / s for x, m, s in zip(row, mean, scale)] for row in rows]

    return Standardized(apply(X_train), None if X_test is None else apply(X_test), mean, scale)


def _check_rows(name: str, rows: Any, width: int | None) -> int:
    """The rows' common length, after checking that ``rows`` is a non-empty list of non-empty
    rows of that length (``width`` when given) holding finite real numbers."""
    where = f"standardize() {name}"
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise TypeError(f"{where} must be a list of rows, got {type(rows).__name__}")
    if not rows:
        raise ValueError(f"{where} is empty; it needs at least one row" + (
            "" if name == "X_train" else " (pass X_test=None for no test set)"))
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(f"{where}[{i}] must be a row (a list of numbers), got {type(row).__name__}")
        if width is None:
            width = len(row)
            if not width:
                raise ValueError(f"{where}[0] is empty; rows need at least one number")
        if len(row) != width:
            first = "X_train's rows have" if name == "X_test" else "X_train[0] has"
            raise ValueError(f"{where}[{i}] has {len(row)} numbers but {first} {width}")
        for j, x in enumerate(row):
            if not _is_finite_number(x):
                problem = TypeError if isinstance(x, bool) or not isinstance(x, numbers.Real) else ValueError
                raise problem(f"{where}[{i}][{j}] must be a finite number, got {x!r}")
    assert width is not None
    return width


def one_hot(y: Sequence[int], k: int) -> list[list[float]]:
    """Each label ``t`` in ``range(k)`` as a row of ``k`` floats, 1.0 at position ``t`` and 0.0
    elsewhere: ``one_hot([2, 0], 3) == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]``. The targets of a
    squared error on ``k`` outputs (``cross_entropy`` takes the labels themselves)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"one_hot() k must be a whole number >= 1 (the number of classes), got {k!r}")
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise TypeError(f"one_hot() y must be a list of labels, got {type(y).__name__}")
    if not y:
        raise ValueError("one_hot() y is empty; it needs at least one label")
    for i, t in enumerate(y):
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise TypeError(f"one_hot() y[{i}] must be a whole number (a class index), got {t!r}")
        if not 0 <= t < k:
            raise ValueError(f"one_hot() y[{i}] must be a class index in range({k}), got {t!r}")
    return [[1.0 if j == t else 0.0 for j in range(k)] for t in y]
