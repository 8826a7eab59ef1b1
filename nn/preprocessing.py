"""Getting data ready for a network: ``standardize`` features, ``one_hot`` labels.

Both take and return plain lists, and check their input whole before computing anything: rows of
different lengths, an empty set, a number that is not finite or a label out of range is a
ValueError (a value that is not a number at all, a TypeError) naming the function, the argument
and the place.
"""

from __future__ import annotations

import math
import numbers
import sys
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
    training set and ``x - mean`` in the test set, never a division by zero. So does a column
    whose values differ only by rounding error (``0.1 + 0.2`` and ``0.3``): its variance is
    within the bound on the error of computing a variance (scikit-learn's ``StandardScaler``
    uses the same test, from Chan, Golub and LeVeque), and dividing by its standard deviation
    would blow that noise up to +-1. Numbers too large to square (``1e300``) are standardized all
    the same: each column is computed in units of a power of two near its largest magnitude, which
    changes no digit. A test value whose standardized value does not fit in a float is a
    ValueError. The inputs are not changed.
    """
    width = _check_rows("X_train", X_train, None)
    if X_test is not None:
        _check_rows("X_test", X_test, width)
    n = len(X_train)
    eps = sys.float_info.epsilon
    mean: list[float] = []
    scale: list[float] = []
    unit: list[float] = []  # per column: a power of two, so that dividing by it is exact
    for column in zip(*X_train):
        largest = max(abs(float(x)) for x in column)
        u = math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest else 1.0
        unit.append(u)
        if min(column) == max(column):
            mean.append(float(column[0]))
            scale.append(1.0)
            continue
        scaled = [float(x) / u for x in column]  # each in [-2, 2): no square overflows
        m = math.fsum(scaled) / n
        var = math.fsum((x - m) ** 2 for x in scaled) / n
        mean.append(m * u)
        if var <= n * eps * var + (n * m * eps) ** 2:  # as constant as rounding can tell
            scale.append(1.0)
        else:
            scale.append(math.sqrt(var) * u)

    def apply(name: str, rows: Sequence[Sequence[float]]) -> list[list[float]]:
        out = [[(float(x) / u - m / u) / (s / u) for x, m, s, u in zip(row, mean, scale, unit)]
               for row in rows]
        for i, row in enumerate(out):
            for j, x in enumerate(row):
                if not math.isfinite(x):  # a test value far beyond the column's unit: unscaled
                    x = row[j] = (float(rows[i][j]) - mean[j]) / scale[j]
                if not math.isfinite(x):
                    raise ValueError(
                        f"standardize() {name}[{i}][{j}] = {rows[i][j]!r} is too large for the "
                        f"training statistics of column {j} (mean {mean[j]!r}, scale {scale[j]!r}): "
                        f"standardized, it does not fit in a float"
                    )
        return out

    return Standardized(apply("X_train", X_train),
                        None if X_test is None else apply("X_test", X_test), mean, scale)


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
