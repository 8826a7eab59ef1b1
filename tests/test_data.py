"""``nn.data``: the toy datasets (shapes, geometry, labels, seeds), ``train_test_split`` and
``batches``, and the checking of every argument."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from nn.data import (
    batches,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_curve,
    make_spirals,
    make_xor,
    train_test_split,
)

GENERATORS: dict[str, tuple[Callable[..., Any], int, set[Any]]] = {
    # name: (generator, features, labels)
    "moons": (make_moons, 2, {0, 1}),
    "circles": (make_circles, 2, {0, 1}),
    "spirals": (make_spirals, 2, {0, 1, 2}),
    "xor": (make_xor, 2, {0, 1}),
    "blobs": (make_blobs, 2, {0, 1, 2}),
}
ALL = [*GENERATORS, "curve"]


def _make(name: str, **kwargs: Any) -> tuple[list[list[float]], list[Any]]:
    function = make_regression_curve if name == "curve" else GENERATORS[name][0]
    return function(**kwargs)  # type: ignore[no-any-return]


# --- every generator ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_shapes_and_types(name: str) -> None:
    X, y = _make(name, n_samples=61, seed=3)
    assert isinstance(X, list) and isinstance(y, list)
    assert len(X) == len(y) == 61
    width = 1 if name == "curve" else GENERATORS[name][1]
    assert all(isinstance(row, list) and len(row) == width for row in X)
    assert all(type(v) is float and math.isfinite(v) for row in X for v in row)
    if name == "curve":
        assert all(type(v) is float for v in y)
    else:
        assert all(type(label) is int for label in y)
        assert set(y) == GENERATORS[name][2]
        assert y == sorted(y)  # grouped by class, in order


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_data_and_different_seeds_differ(name: str) -> None:
    assert _make(name, n_samples=40, seed=7) == _make(name, n_samples=40, seed=7)
    assert _make(name, n_samples=40, seed=7) != _make(name, n_samples=40, seed=8)
    assert _make(name, n_samples=40, seed=None) != _make(name, n_samples=40, seed=None)


@pytest.mark.parametrize("name", ALL)
def test_the_global_random_state_is_untouched(name: str) -> None:
    random.seed(2024)
    expected = [random.random() for _ in range(3)]
    random.seed(2024)
    _make(name, n_samples=50, seed=1)
    _make(name, n_samples=50, seed=None)
    assert [random.random() for _ in range(3)] == expected


@pytest.mark.parametrize("name", [n for n in ALL if n != "blobs"])
def test_noise_moves_the_points_by_about_its_std(name: str) -> None:
    std = "std" if name == "blobs" else "noise"
    # (blobs: its centres are drawn from the same stream; see test_blobs_with_a_number_of_centres)
    clean, clean_y = _make(name, n_samples=2000, seed=5, **{std: 0.0})
    noisy, noisy_y = _make(name, n_samples=2000, seed=5, **{std: 0.2})
    if name == "curve":  # the noise is in the targets
        assert clean == noisy
        clean, noisy = [[v] for v in clean_y], [[v] for v in noisy_y]
    else:
        assert clean_y == noisy_y
    shifts = [a - b for row_a, row_b in zip(noisy, clean) for a, b in zip(row_a, row_b)]
    assert statistics.pstdev(shifts) == pytest.approx(0.2, rel=0.05)
    assert abs(statistics.fmean(shifts)) < 0.02


# --- each geometry -----------------------------------------------------------------------------


def test_make_moons_is_unchanged() -> None:
    """The values ``make_moons`` gave before the other generators joined it."""
    X, y = make_moons(100, noise=0.1, seed=0)
    assert X[0] == [1.0941715404680665, -0.139657810470115]
    assert X[57] == [0.2034067391086382, -0.00010778199739411298]
    assert X[99] == [1.9837758876419176, 0.4736378561278835]
    assert y == [0] * 50 + [1] * 50
    assert make_moons(3, noise=0.0)[1] == [0, 1, 1]


def test_moons_without_noise_lie_on_their_half_circles() -> None:
    X, y = make_moons(40, noise=0.0)
    for (a, b), label in zip(X, y):
        cx, cy = (0.0, 0.0) if label == 0 else (1.0, 0.5)
        assert math.hypot(a - cx, b - cy) == pytest.approx(1.0, abs=1e-12)
        assert (b >= -1e-12) if label == 0 else (b <= 0.5 + 1e-12)


def test_circles_without_noise() -> None:
    X, y = make_circles(50, noise=0.0, factor=0.3)
    assert Counter(y) == {0: 25, 1: 25}
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3, abs=1e-12)
    angles = [math.atan2(b, a) % (2 * math.pi) for a, b in X[:25]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(angles)]
    assert gaps == pytest.approx([2 * math.pi / 25] * 24, abs=1e-12)  # evenly spaced
    assert make_circles(4, noise=0.0, factor=0.0)[0][2:] == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spirals_without_noise(n_classes: int) -> None:
    n = 20 * n_classes + 1
    X, y = make_spirals(n, n_classes=n_classes, noise=0.0)
    counts = Counter(y)
    assert sorted(counts) == list(range(n_classes))
    assert counts[0] == 21 and all(counts[k] == 20 for k in range(1, n_classes))
    for k in range(n_classes):
        arm = [x for x, label in zip(X, y) if label == k]
        for i, (a, b) in enumerate(arm):
            r = (i + 1) / len(arm)
            assert math.hypot(a, b) == pytest.approx(r, abs=1e-12)
            angle = 2 * math.pi * k / n_classes + 4 * r
            assert (math.cos(angle) * r, math.sin(angle) * r) == pytest.approx((a, b), abs=1e-12)


def test_xor_clusters_and_labels() -> None:
    X, y = make_xor(8, noise=0.0)
    assert sorted(zip(map(tuple, X), y)) == [
        ((-1.0, -1.0), 0), ((-1.0, -1.0), 0), ((-1.0, 1.0), 1), ((-1.0, 1.0), 1),
        ((1.0, -1.0), 1), ((1.0, -1.0), 1), ((1.0, 1.0), 0), ((1.0, 1.0), 0),
    ]
    X, y = make_xor(400, noise=0.3, seed=1)
    assert Counter(y) == {0: 200, 1: 200}
    agree = sum(((a > 0) != (b > 0)) == (label == 1) for (a, b), label in zip(X, y))
    assert agree >= 0.97 * 400  # noise 0.3 rarely pushes a point across an axis


def test_blobs_with_a_number_of_centres() -> None:
    X, y = make_blobs(3000, centers=4, std=0.1, seed=2)
    assert Counter(y) == {0: 750, 1: 750, 2: 750, 3: 750}
    clusters = [[x for x, label in zip(X, y) if label == k] for k in range(4)]
    means = [[statistics.fmean(x[d] for x in cluster) for d in (0, 1)] for cluster in clusters]
    assert all(-5.0 <= c <= 5.0 for m in means for c in m)
    for k in range(4):
        spread = [x[0] - means[k][0] for x, label in zip(X, y) if label == k]
        assert statistics.pstdev(spread) == pytest.approx(0.1, rel=0.1)
    assert all(len(x) == 5 for x in make_blobs(10, centers=2, n_features=5)[0])


def test_blobs_with_given_centres() -> None:
    centres = [[0.0, 0.0, 10.0], [5.0, -5.0, 0.0]]
    X, y = make_blobs(11, centers=centres, std=0.0)
    assert y == [0] * 6 + [1] * 5
    assert [centres[0]] * 6 + [centres[1]] * 5 == X
    X, _ = make_blobs(2000, centers=centres, std=0.5, seed=3)
    assert statistics.fmean(x[2] for x in X[:1000]) == pytest.approx(10.0, abs=0.05)


def test_regression_curve() -> None:
    X, y = make_regression_curve(61, noise=0.0)
    xs = [row[0] for row in X]
    assert xs[0] == -3.0 and xs[-1] == 3.0 and xs[30] == 0.0
    assert [b - a for a, b in itertools.pairwise(xs)] == pytest.approx([0.1] * 60, abs=1e-12)
    assert y == [math.sin(x) for x in xs]
    X, y = make_regression_curve(4000, noise=0.3, seed=1)
    residuals = [target - math.sin(row[0]) for row, target in zip(X, y)]
    assert statistics.pstdev(residuals) == pytest.approx(0.3, rel=0.05)


# --- argument checking -------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("moons-one-sample", lambda: make_moons(1), "n_samples.*1"),
    ("moons-float-samples", lambda: make_moons(10.0), "n_samples.*10.0"),
    ("moons-bool-samples", lambda: make_moons(True), "n_samples.*True"),
    ("moons-negative-noise", lambda: make_moons(10, noise=-0.1), "noise.*-0.1"),
    ("moons-nan-noise", lambda: make_moons(10, noise=math.nan), "noise.*nan"),
    ("moons-infinite-noise", lambda: make_moons(10, noise=math.inf), "noise.*inf"),
    ("moons-string-noise", lambda: make_moons(10, noise="0.1"), "noise.*'0.1'"),
    ("circles-zero-samples", lambda: make_circles(0), "n_samples.*0"),
    ("circles-factor-one", lambda: make_circles(10, factor=1.0), "factor.*1.0"),
    ("circles-negative-factor", lambda: make_circles(10, factor=-0.5), "factor.*-0.5"),
    ("circles-negative-noise", lambda: make_circles(10, noise=-1), "noise.*-1"),
    ("spirals-one-class", lambda: make_spirals(10, n_classes=1), "n_classes.*1"),
    ("spirals-too-few-samples", lambda: make_spirals(4, n_classes=5), "n_samples.*>= 5.*4"),
    ("spirals-negative-noise", lambda: make_spirals(10, noise=-0.01), "noise.*-0.01"),
    ("xor-three-samples", lambda: make_xor(3), "n_samples.*>= 4.*3"),
    ("xor-negative-noise", lambda: make_xor(8, noise=-2.0), "noise"),
    ("blobs-zero-centres", lambda: make_blobs(10, centers=0), "centers.*0"),
    ("blobs-bool-centres", lambda: make_blobs(10, centers=True), "centers.*True"),
    ("blobs-too-few-samples", lambda: make_blobs(2, centers=3), "n_samples.*>= 3.*2"),
    ("blobs-no-centres", lambda: make_blobs(10, centers=[]), "no centres"),
    ("blobs-ragged-centres", lambda: make_blobs(10, centers=[[1, 2], [3]]), "different"),
    ("blobs-nan-centre", lambda: make_blobs(10, centers=[[math.nan, 0]]), "finite"),
    ("blobs-string-centre", lambda: make_blobs(10, centers=[["a", "b"]]), "finite"),
    ("blobs-feature-mismatch", lambda: make_blobs(10, centers=[[0, 0]], n_features=3), "n_features.*3.*2"),
    ("blobs-zero-features", lambda: make_blobs(10, centers=2, n_features=0), "n_features.*0"),
    ("blobs-negative-std", lambda: make_blobs(10, std=-1.0), "std.*-1.0"),
    ("curve-one-sample", lambda: make_regression_curve(1), "n_samples.*1"),
    ("curve-negative-noise", lambda: make_regression_curve(10, noise=-0.3), "noise.*-0.3"),
]


@pytest.mark.parametrize(
    ("call", "mentioned"), [case[1:] for case in BAD_ARGUMENTS], ids=[case[0] for case in BAD_ARGUMENTS]
)
def test_bad_arguments_raise_value_error_naming_them(call: Callable[[], Any], mentioned: str) -> None:
    with pytest.raises(ValueError, match=mentioned):
        call()


def test_the_smallest_sizes_work() -> None:
    assert len(make_moons(2)[0]) == 2 and len(make_circles(2)[0]) == 2
    assert make_spirals(3, n_classes=3)[1] == [0, 1, 2]
    assert make_xor(4, noise=0.0)[1] == [0, 0, 1, 1]
    assert make_blobs(1, centers=1)[1] == [0]
    assert len(make_regression_curve(2)[0]) == 2


# --- train_test_split --------------------------------------------------------------------------


def _indexed(n: int) -> tuple[list[list[float]], list[int]]:
    """Rows that say which sample they are, so that pairing can be checked."""
    return [[float(i), -float(i)] for i in range(n)], list(range(n))


@pytest.mark.parametrize(
    ("n", "test_size", "n_test"), [(100, 0.25, 25), (10, 0.25, 3), (7, 0.5, 4), (10, 3, 3)]
)
def test_split_sizes_and_pairing(n: int, test_size: float, n_test: int) -> None:
    X, y = _indexed(n)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=1)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (n - n_test, n_test, n - n_test, n_test)
    assert sorted(y_train + y_test) == list(range(n))  # each sample in exactly one part
    assert all(row[0] == label for row, label in zip(X_train + X_test, y_train + y_test))
    assert X_train[0] is X[y_train[0]]  # rows are not copied


def test_split_is_shuffled_reproducible_and_leaves_global_random_alone() -> None:
    X, y = _indexed(50)
    random.seed(11)
    expected = random.random()
    random.seed(11)
    first = train_test_split(X, y, seed=3)
    assert random.random() == expected
    assert train_test_split(X, y, seed=3) == first
    assert train_test_split(X, y, seed=4) != first
    assert first[3] != sorted(first[3])  # shuffled
    assert train_test_split(X, y, seed=random.Random(3)) == first
    assert train_test_split(X, y) == train_test_split(X, y)  # seed 0 by default


def test_stratified_split_keeps_class_shares() -> None:
    X = [[float(i)] for i in range(100)]
    y = [0] * 90 + [1] * 10
    for seed in range(5):
        _, _, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=seed, stratify=True)
        assert Counter(y_test) == {0: 18, 1: 2}
        assert Counter(y_train) == {0: 72, 1: 8}
    # three classes whose exact shares are fractional: the counts still add up
    y3 = [0] * 5 + [1] * 7 + [2] * 9
    _, _, y_train, y_test = train_test_split([[0.0]] * 21, y3, test_size=5, stratify=True)
    assert len(y_test) == 5 and len(y_train) == 16
    assert all(abs(Counter(y_test)[c] - 5 * Counter(y3)[c] / 21) < 1 for c in range(3))


def test_stratify_needs_two_of_each_label() -> None:
    with pytest.raises(ValueError, match="at least 2 samples of each label"):
        train_test_split([[0.0]] * 5, [0, 0, 0, 0, 1], stratify=True)


@pytest.mark.parametrize(
    ("test_size", "mentioned"),
    [(0.0, "0.0"), (1.0, "1.0"), (-0.1, "-0.1"), (1.5, "1.5"), (0, "0"), (10, "10"), (True, "True"),
     ("0.2", "'0.2'"), (math.nan, "nan"), (0.99, "leaves 0 to train on and 10")],  # ceil(9.9) = 10
)
def test_bad_test_size(test_size: Any, mentioned: str) -> None:
    X, y = _indexed(10)
    with pytest.raises(ValueError, match=mentioned):
        train_test_split(X, y, test_size=test_size)


def test_split_needs_one_label_per_sample() -> None:
    with pytest.raises(ValueError, match="len\\(X\\) is 3 but len\\(y\\) is 2"):
        train_test_split([[0.0]] * 3, [0, 1])
    with pytest.raises(ValueError, match="seed"):
        train_test_split([[0.0]] * 3, [0, 1, 0], seed="x")  # type: ignore[arg-type]


# --- batches -----------------------------------------------------------------------------------


def test_batches_cover_every_sample_once_the_last_smaller() -> None:
    X, y = _indexed(23)
    parts = list(batches(X, y, 5, seed=0))
    assert [len(xb) for xb, _ in parts] == [5, 5, 5, 5, 3]
    assert all(len(xb) == len(yb) for xb, yb in parts)
    labels = [label for _, yb in parts for label in yb]
    assert sorted(labels) == list(range(23)) and labels != list(range(23))
    assert all(row[0] == label for xb, yb in parts for row, label in zip(xb, yb))
    assert [len(xb) for xb, _ in batches(X, y, 100)] == [23]
    assert [len(xb) for xb, _ in batches(X, y, 1)] == [1] * 23


def test_batches_orders() -> None:
    X, y = _indexed(30)

    def order(**kwargs: Any) -> list[int]:
        return [label for _, yb in batches(X, y, 4, **kwargs) for label in yb]

    assert order(shuffle=False) == list(range(30))
    assert order(seed=5) == order(seed=5) != order(seed=6)
    assert order(seed=None) != order(seed=None)
    rng = random.Random(1)
    epochs = [order(seed=rng) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    rng = random.Random(1)
    assert [order(seed=rng) for _ in range(3)] == epochs  # reproducible per run


def test_batches_check_arguments_at_once() -> None:
    X, y = _indexed(4)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match=f"batch_size.*{bad}"):
            batches(X, y, bad)  # type: ignore[arg-type]  # raised before any iteration
    with pytest.raises(ValueError, match="len\\(X\\) is 4 but len\\(y\\) is 3"):
        batches(X, y[:3], 2)
    with pytest.raises(ValueError, match="no samples"):
        batches([], [], 2)
    with pytest.raises(ValueError, match="seed"):
        batches(X, y, 2, seed=1.5)  # type: ignore[arg-type]
