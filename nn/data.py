"""Toy datasets generated in pure Python from a seed: no downloads, no scikit-learn.

Every generator returns ``(X, y)`` as plain lists: ``X`` a list of feature lists (``[x1, x2]``
points, or ``[x]`` for the 1-D regression curve), ``y`` the labels (ints ``0 .. k-1``, or floats
for regression), grouped by class in order. The same ``seed`` gives the same data, bit for bit;
each generator draws from its own ``random.Random(seed)`` and never touches the global one.

``train_test_split`` shuffles and splits a data set, ``batches`` cuts it into mini-batches.
"""

from __future__ import annotations

import math
import numbers
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, TypeGuard, TypeVar

Row = TypeVar("Row")
Label = TypeVar("Label")

Dataset = tuple[list[list[float]], list[int]]


# --- argument checks ---------------------------------------------------------------------------


def _check_count(function: str, name: str, n: object, minimum: int, why: str = "") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{function}() {name} must be a whole number >= {minimum}{reason}, got {n!r}")
    return n


def _is_finite_number(x: object) -> TypeGuard[numbers.Real]:
    return not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(x)


def _check_nonnegative(function: str, name: str, x: object) -> float:
    if not (_is_finite_number(x) and float(x) >= 0):
        raise ValueError(f"{function}() {name} must be a finite number >= 0, got {x!r}")
    return float(x)


def _split(n: int, k: int) -> list[int]:
    """``n`` samples over ``k`` groups as evenly as possible, the first groups taking the rest."""
    return [n // k + (1 if j < n % k else 0) for j in range(k)]


# --- classification in the plane ---------------------------------------------------------------


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int | None = 0) -> Dataset:
    """Two interleaving half circles: class 0 on ``(cos t, sin t)``, class 1 on
    ``(1 - cos t, 1/2 - sin t)`` for ``t`` in ``[0, pi]``, plus Gaussian noise of std ``noise``.

    Returns ``(X, y)``: ``X`` a list of ``[x1, x2]`` points, ``y`` a list of 0/1 labels.
    """
    n_samples = _check_count("make_moons", "n_samples", n_samples, 2)
    noise = _check_nonnegative("make_moons", "noise", noise)
    rng = random.Random(seed)
    n_first = n_samples // 2
    n_second = n_samples - n_first
    points = [_on_arc(i, n_first, 0.0, 0.0, 1.0) for i in range(n_first)]
    points += [_on_arc(i, n_second, 1.0, 0.5, -1.0) for i in range(n_second)]
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in points]
    return X, [0] * n_first + [1] * n_second


def _on_arc(i: int, n: int, cx: float, cy: float, direction: float) -> tuple[float, float]:
    """Point ``i`` of ``n`` evenly spaced on the upper (direction 1) or lower (-1) half circle
    of radius 1 centred at ``(cx, cy)``."""
    t = math.pi * i / max(n - 1, 1)
    return cx + direction * math.cos(t), cy + direction * math.sin(t)


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0
) -> Dataset:
    """A circle inside a circle: class 0 on the unit circle, class 1 on the circle of radius
    ``factor`` (``0 <= factor < 1``), each evenly spaced, plus Gaussian noise of std ``noise``.
    No straight line separates them: a model must bend its boundary into a loop."""
    n_samples = _check_count("make_circles", "n_samples", n_samples, 2)
    noise = _check_nonnegative("make_circles", "noise", noise)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 <= factor < 1:
        raise ValueError(f"make_circles() factor must be a number in [0, 1), got {factor!r}")
    rng = random.Random(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    X = []
    for n, radius in ((n_outer, 1.0), (n_inner, float(factor))):
        for i in range(n):
            t = 2.0 * math.pi * i / n
            x1, x2 = radius * math.cos(t), radius * math.sin(t)
            X.append([x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)])
    return X, [0] * n_outer + [1] * n_inner


def make_spirals(
    n_samples: int = 150, n_classes: int = 3, noise: float = 0.05, seed: int | None = 0
) -> Dataset:
    """``n_classes`` spiral arms winding out of the origin, one class each (CS231n's spirals).

    Point ``i`` of the ``n`` on arm ``k`` sits at radius ``r = (i + 1) / n`` and angle
    ``2 pi k / n_classes + 4 r`` (radians), plus Gaussian noise of std ``noise`` on each
    coordinate. Labels are ``0 .. n_classes - 1``."""
    n_classes = _check_count("make_spirals", "n_classes", n_classes, 2)
    n_samples = _check_count("make_spirals", "n_samples", n_samples, n_classes, "one per class")
    noise = _check_nonnegative("make_spirals", "noise", noise)
    rng = random.Random(seed)
    X: list[list[float]] = []
    y: list[int] = []
    for k, n in enumerate(_split(n_samples, n_classes)):
        for i in range(n):
            r = (i + 1) / n
            t = 2.0 * math.pi * k / n_classes + 4.0 * r
            X.append([r * math.cos(t) + rng.gauss(0.0, noise), r * math.sin(t) + rng.gauss(0.0, noise)])
            y.append(k)
    return X, y


XOR_CENTERS = ((-1.0, -1.0, 0), (1.0, 1.0, 0), (-1.0, 1.0, 1), (1.0, -1.0, 1))
"""``make_xor``'s four clusters: centre and label, ``label = (x1 > 0) xor (x2 > 0)``."""


def make_xor(n_samples: int = 100, noise: float = 0.3, seed: int | None = 0) -> Dataset:
    """XOR as four Gaussian clusters of std ``noise`` centred at ``(+-1, +-1)``: label 1 where
    the centre's coordinates differ in sign, 0 where they agree. No single neuron separates
    them; one hidden layer does."""
    n_samples = _check_count("make_xor", "n_samples", n_samples, 4, "one per cluster")
    noise = _check_nonnegative("make_xor", "noise", noise)
    rng = random.Random(seed)
    X: list[list[float]] = []
    y: list[int] = []
    for (cx, cy, label), n in zip(XOR_CENTERS, _split(n_samples, 4)):
        X += [[cx + rng.gauss(0.0, noise), cy + rng.gauss(0.0, noise)] for _ in range(n)]
        y += [label] * n
    return X, y


def make_blobs(
    n_samples: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    std: float = 0.5,
    seed: int | None = 0,
    n_features: int | None = None,
) -> Dataset:
    """Gaussian clusters of std ``std``, one class per centre, labels ``0 .. k-1``.

    ``centers`` is a number of clusters, whose centres are drawn uniformly from ``[-5, 5]`` in
    each of ``n_features`` coordinates (2 unless given), or a list of centre points, whose
    length is the number of features."""
    std = _check_nonnegative("make_blobs", "std", std)
    rng = random.Random(seed)
    points: list[list[float]]
    if isinstance(centers, bool):
        raise ValueError(f"make_blobs() centers must be a count or a list of points, got {centers!r}")
    if isinstance(centers, int):
        _check_count("make_blobs", "centers", centers, 1)
        dims = 2 if n_features is None else _check_count("make_blobs", "n_features", n_features, 1)
        points = [[rng.uniform(-5.0, 5.0) for _ in range(dims)] for _ in range(centers)]
    else:
        points = _check_points(centers)
        if n_features is not None and n_features != len(points[0]):
            raise ValueError(
                f"make_blobs() n_features is {n_features!r} but the centres have {len(points[0])} coordinates"
            )
    n_samples = _check_count("make_blobs", "n_samples", n_samples, len(points), "one per centre")
    X: list[list[float]] = []
    y: list[int] = []
    for label, (centre, n) in enumerate(zip(points, _split(n_samples, len(points)))):
        X += [[c + rng.gauss(0.0, std) for c in centre] for _ in range(n)]
        y += [label] * n
    return X, y


def _check_points(centers: Any) -> list[list[float]]:
    problem = ""
    try:
        points = [list(centre) for centre in centers]
    except TypeError:
        problem = "not a list of points"
    else:
        if not points:
            problem = "no centres"
        elif not points[0] or any(len(p) != len(points[0]) for p in points):
            problem = "points of different or zero lengths"
        elif not all(_is_finite_number(c) for p in points for c in p):
            problem = "coordinates that are not finite numbers"
    if problem:
        raise ValueError(
            f"make_blobs() centers must be a count or a list of points, got {problem}: {centers!r}"
        )
    return [[float(c) for c in p] for p in points]


# --- regression --------------------------------------------------------------------------------


def make_regression_curve(
    n_samples: int = 100, noise: float = 0.1, seed: int | None = 0
) -> tuple[list[list[float]], list[float]]:
    """``y = sin(x)`` plus Gaussian noise of std ``noise``, at ``n_samples`` points ``x`` evenly
    spaced over ``[-3, 3]`` (both ends included). ``X`` is ``[[x], ...]``, ``y`` floats."""
    n_samples = _check_count("make_regression_curve", "n_samples", n_samples, 2)
    noise = _check_nonnegative("make_regression_curve", "noise", noise)
    rng = random.Random(seed)
    xs = [-3.0 + 6.0 * i / (n_samples - 1) for i in range(n_samples)]
    return [[x] for x in xs], [math.sin(x) + rng.gauss(0.0, noise) for x in xs]


# --- splitting and batching --------------------------------------------------------------------


def _check_pairs(function: str, X: Sequence[Any], y: Sequence[Any]) -> int:
    try:
        n, m = len(X), len(y)
    except TypeError:
        raise ValueError(
            f"{function}() needs X and y as sequences, got {type(X).__name__} and {type(y).__name__}"
        ) from None
    if n != m:
        raise ValueError(f"{function}() needs one label per sample: len(X) is {n} but len(y) is {m}")
    return n


def _random(seed: int | random.Random | None, function: str) -> random.Random:
    if isinstance(seed, random.Random):
        return seed
    if seed is None or (isinstance(seed, int) and not isinstance(seed, bool)):
        return random.Random(seed)
    raise ValueError(f"{function}() seed must be an int, None or a random.Random, got {seed!r}")


def train_test_split(
    X: Sequence[Row],
    y: Sequence[Label],
    test_size: float | int = 0.25,
    seed: int | random.Random | None = 0,
    stratify: bool = False,
) -> tuple[list[Row], list[Row], list[Label], list[Label]]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    ``test_size`` is a fraction in ``(0, 1)`` (the test set gets ``ceil(test_size * n)``
    samples) or a whole number of samples; both parts must end up non-empty. With ``stratify``
    each label's share of the test set is its share of the data (rounded), so a rare class
    appears in both parts. The rows themselves are not copied.
    """
    n = _check_pairs("train_test_split", X, y)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"train_test_split() test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size <= n - 1:
            raise ValueError(
                f"train_test_split() test_size as a count must be in [1, {n - 1}] for {n} samples, "
                f"got {test_size!r}"
            )
        n_test = int(test_size)
    else:
        if not 0 < test_size < 1:
            raise ValueError(
                f"train_test_split() test_size as a fraction must be in (0, 1), got {test_size!r}"
            )
        n_test = math.ceil(test_size * n)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"train_test_split() test_size {test_size!r} of {n} samples leaves "
                f"{n - n_test} to train on and {n_test} to test on; both need at least 1"
            )
    rng = _random(seed, "train_test_split")
    if stratify:
        test = _stratified_test_indices(y, n_test, rng)
        in_test = set(test)
        train = [i for i in range(n) if i not in in_test]
        rng.shuffle(test)
        rng.shuffle(train)
    else:
        order = list(range(n))
        rng.shuffle(order)
        test, train = order[:n_test], order[n_test:]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


def _stratified_test_indices(y: Sequence[Any], n_test: int, rng: random.Random) -> list[int]:
    """``n_test`` indexes, each label taking its share: ``n_test * count / n`` rounded down, the
    samples left over going to the labels with the largest remainders (first seen first on ties)."""
    counts = Counter(y)
    n = len(y)
    single = [label for label, count in counts.items() if count < 2]
    if single:
        raise ValueError(
            f"train_test_split(stratify=True) needs at least 2 samples of each label, "
            f"got {len(single)} label(s) with 1: {single[:5]!r}"
        )
    shares = {label: n_test * count / n for label, count in counts.items()}
    quota = {label: math.floor(share) for label, share in shares.items()}
    by_remainder = sorted(counts, key=lambda label: quota[label] - shares[label])  # stable on ties
    for label in by_remainder[: n_test - sum(quota.values())]:
        quota[label] += 1
    test: list[int] = []
    for label in counts:
        members = [i for i, label_i in enumerate(y) if label_i == label]
        test += rng.sample(members, quota[label])
    return test


def batches(
    X: Sequence[Row],
    y: Sequence[Label],
    batch_size: int,
    shuffle: bool = True,
    seed: int | random.Random | None = None,
) -> Iterator[tuple[list[Row], list[Label]]]:
    """Mini-batches ``(X_batch, y_batch)`` of ``batch_size`` samples, the last one smaller when
    ``batch_size`` does not divide the data. Every sample appears exactly once.

    With ``shuffle`` the order is random: ``seed=None`` a new order on each call, an int the same
    order on each call, a ``random.Random`` the next order from that generator (pass one
    generator for every epoch to get orders that differ per epoch and repeat per run).
    Arguments are checked when ``batches`` is called, not at the first batch.
    """
    n = _check_pairs("batches", X, y)
    batch_size = _check_count("batches", "batch_size", batch_size, 1)
    if n == 0:
        raise ValueError("batches() got no samples: X and y are empty")
    order = list(range(n))
    if shuffle:
        _random(seed, "batches").shuffle(order)
    return _batches(X, y, order, batch_size)


def _batches(
    X: Sequence[Row], y: Sequence[Label], order: list[int], batch_size: int
) -> Iterator[tuple[list[Row], list[Label]]]:
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        yield [X[i] for i in chunk], [y[i] for i in chunk]
