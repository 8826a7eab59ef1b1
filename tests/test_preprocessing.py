"""standardize and one_hot (nn.preprocessing): worked examples, the constant column, scikit-learn's
StandardScaler as an oracle, and every bad input."""

from __future__ import annotations

import copy
import math
import random
import statistics
from typing import Any

import numpy as np
import pytest

from nn import Standardized, load_breast_cancer, one_hot, standardize, train_test_split

# --- standardize -------------------------------------------------------------------------------


def test_a_worked_example() -> None:
    # column 0: mean 3, population variance (4 + 0 + 4) / 3 = 8/3; column 1 is constant
    train, test, mean, scale = standardize([[1, 10], [3, 10], [5, 10]], [[7, 11], [3, 9.5]])
    s = math.sqrt(8 / 3)
    assert mean == [3.0, 10.0]
    assert scale == [s, 1.0]
    assert train == [[-2 / s, 0.0], [0.0, 0.0], [2 / s, 0.0]]
    assert test == [[4 / s, 1.0], [0.0, -0.5]]  # the constant column is only centred: x - 10


def test_training_columns_get_mean_0_and_std_1() -> None:
    rng = random.Random(0)
    X = [[rng.gauss(5.0, 3.0), rng.uniform(-100.0, 100.0), rng.expovariate(0.1)] for _ in range(200)]
    train = standardize(X).train
    for column in zip(*train):
        assert statistics.fmean(column) == pytest.approx(0.0, abs=1e-12)
        assert statistics.pstdev(column) == pytest.approx(1.0, rel=1e-12)


def test_the_test_set_uses_the_training_statistics_only() -> None:
    X_train = [[0.0, 1.0], [2.0, 3.0]]
    alone = standardize(X_train)
    assert isinstance(alone, Standardized) and alone.test is None
    for X_test in ([[100.0, -100.0]], [[0.0, 0.0]] * 7):
        both = standardize(X_train, X_test)
        assert (both.train, both.mean, both.scale) == (alone.train, alone.mean, alone.scale)
        assert both.test == [[(a - m) / s for a, m, s in zip(row, alone.mean, alone.scale)] for row in X_test]


def test_a_constant_column_is_centred_never_divided_by_zero() -> None:
    # 0.1 three times: the mean as a sum / 3 is not exactly 0.1, which would leave a variance of
    # about 1e-35 and blow rounding errors up to +-1; a constant column is detected exactly instead
    assert math.fsum([0.1] * 3) / 3 != 0.1
    train, test, mean, scale = standardize([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]], [[0.3, 2.0]])
    assert [row[0] for row in train] == [0.0, 0.0, 0.0]
    assert (mean[0], scale[0]) == (0.1, 1.0)
    assert test is not None and test[0][0] == 0.3 - 0.1
    one_row = standardize([[4.0, -2.0]], [[5.0, -2.0]])  # one sample: every column is constant
    assert one_row == ([[0.0, 0.0]], [[1.0, 0.0]], [4.0, -2.0], [1.0, 1.0])


def test_a_column_that_differs_only_by_rounding_is_constant_as_in_scikit_learn() -> None:
    """Dividing by a standard deviation of rounding noise would make it +-1.4: such a column is
    centred only, by the test scikit-learn's StandardScaler uses (_is_constant_feature)."""
    from sklearn.preprocessing import StandardScaler

    for column in ([1.0, 1.0000000000000002], [0.1 + 0.2, 0.3], [1e6, 1e6 + 1.2e-10, 1e6]):
        X = [[x, float(i)] for i, x in enumerate(column)]
        ours = standardize(X)
        assert ours.scale[0] == 1.0 and all(abs(row[0]) < 1e-9 for row in ours.train), ours
        scaler = StandardScaler().fit(np.array(X))
        assert scaler.scale_[0] == 1.0
        assert np.allclose(ours.train, scaler.transform(np.array(X)), rtol=0, atol=1e-12)
    # a small spread that is real is still divided by
    real = standardize([[1.0], [1.0 + 1e-9]])
    assert [row[0] for row in real.train] == pytest.approx([-1.0, 1.0], rel=1e-6)


def test_numbers_too_large_to_square_are_standardized_without_overflow() -> None:
    assert standardize([[1e300], [-1e300]]) == ([[1.0], [-1.0]], None, [0.0], [1e300])
    big = [row[0] for row in standardize([[1.7e308], [1.7e308], [-1.7e308]]).train]
    assert big == pytest.approx([2 ** -0.5, 2 ** -0.5, -(2 ** 0.5)], rel=1e-15)
    # the same digits as without the rescaling, on ordinary numbers
    X = [[3.0, -1e-3], [7.5, 2e-3], [-4.25, 5e-4]]
    means, stds = np.mean(X, axis=0), np.std(X, axis=0)
    for row, expected in zip(standardize(X).train, np.asarray(X)):
        assert row == pytest.approx(((expected - means) / stds).tolist(), rel=1e-14)
    with pytest.raises(ValueError, match=r"standardize\(\) X_test\[0\]\[0\] = 1.7e\+308 is too large"):
        standardize([[0.0], [1.0]], [[1.7e308]])


def test_returns_new_lists_of_floats_and_leaves_the_inputs_alone() -> None:
    X_train: list[list[Any]] = [[1, np.float64(2.0)], [3, np.float64(5.0)]]
    X_test: list[list[Any]] = [[np.int64(2), 3]]
    before = copy.deepcopy((X_train, X_test))
    result = standardize(X_train, X_test)
    assert (X_train, X_test) == before
    assert result.test is not None
    numbers = [v for part in (result.train, result.test, [result.mean], [result.scale]) for row in part
               for v in row]
    assert all(type(v) is float for v in numbers)


def test_matches_scikit_learns_standard_scaler() -> None:
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer()
    X_train, X_test, _, _ = train_test_split(X, y, test_size=0.2, seed=0)
    ours = standardize(X_train, X_test)
    scaler = StandardScaler().fit(np.array(X_train))
    assert ours.mean == pytest.approx(scaler.mean_.tolist(), rel=1e-14)
    assert ours.scale == pytest.approx(scaler.scale_.tolist(), rel=1e-12)
    assert ours.test is not None
    assert np.allclose(ours.train, scaler.transform(np.array(X_train)), rtol=0, atol=1e-12)
    assert np.allclose(ours.test, scaler.transform(np.array(X_test)), rtol=0, atol=1e-12)


BAD_STANDARDIZE: list[tuple[str, tuple[Any, ...], type[Exception], str]] = [
    ("empty-train", ([],), ValueError, r"standardize\(\) X_train is empty"),
    ("empty-test", ([[1.0]], []), ValueError, r"X_test is empty.*X_test=None"),
    ("empty-row", ([[]],), ValueError, r"X_train\[0\] is empty"),
    ("ragged-train", ([[1.0, 2.0], [3.0, 4.0], [5.0]],), ValueError,
     r"X_train\[2\] has 1 numbers but X_train\[0\] has 2"),
    ("ragged-test", ([[1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0, 3.0]]), ValueError,
     r"X_test\[1\] has 3 numbers but X_train's rows have 2"),
    ("nan", ([[1.0], [math.nan]],), ValueError, r"X_train\[1\]\[0\] must be a finite number, got nan"),
    ("inf-in-test", ([[1.0, 2.0]], [[1.0, -math.inf]]), ValueError, r"X_test\[0\]\[1\].*got -inf"),
    ("string", ([[1.0, "2"]],), TypeError, r"X_train\[0\]\[1\] must be a finite number, got '2'"),
    ("none", ([[None]],), TypeError, r"X_train\[0\]\[0\].*None"),
    ("bool", ([[True]],), TypeError, r"X_train\[0\]\[0\].*True"),
    ("not-rows", ([1.0, 2.0],), TypeError, r"X_train\[0\] must be a row .*float"),
    ("string-rows", (["ab"],), TypeError, r"X_train\[0\] must be a row .*str"),
    ("not-a-list", ({"a": 1},), TypeError, r"X_train must be a list of rows, got dict"),
    ("test-not-a-list", ([[1.0]], 5), TypeError, r"X_test must be a list of rows, got int"),
]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [case[1:] for case in BAD_STANDARDIZE],
    ids=[case[0] for case in BAD_STANDARDIZE],
)
def test_standardize_rejects_bad_input(args: tuple[Any, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        standardize(*args)


# --- one_hot -----------------------------------------------------------------------------------


def test_one_hot() -> None:
    assert one_hot([2, 0, 1, 2], 3) == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    assert one_hot([0], 1) == [[1.0]]
    assert one_hot([np.int64(1)], np.int64(2)) == [[0.0, 1.0]]  # numpy's integers are whole numbers
    rows = one_hot(list(range(10)), 10)
    assert [row.index(1.0) for row in rows] == list(range(10)) and all(sum(row) == 1.0 for row in rows)
    assert all(type(v) is float for row in rows for v in row)


BAD_ONE_HOT: list[tuple[str, tuple[Any, ...], type[Exception], str]] = [
    ("label-too-big", ([0, 3], 3), ValueError,
     r"one_hot\(\) y\[1\] must be a class index in range\(3\), got 3"),
    ("negative-label", ([-1], 3), ValueError, r"y\[0\].*range\(3\), got -1"),
    ("float-label", ([1.0], 3), TypeError, r"y\[0\] must be a whole number.*got 1.0"),
    ("bool-label", ([True], 3), TypeError, r"y\[0\].*True"),
    ("string-label", (["1"], 3), TypeError, r"y\[0\].*'1'"),
    ("empty", ([], 3), ValueError, r"one_hot\(\) y is empty"),
    ("not-a-list", ("012", 3), TypeError, r"y must be a list of labels, got str"),
    ("k-zero", ([0], 0), ValueError, r"one_hot\(\) k must be a whole number >= 1.*got 0"),
    ("k-float", ([0], 2.0), ValueError, r"k .*got 2.0"),
    ("k-bool", ([0], True), ValueError, r"k .*got True"),
]


@pytest.mark.parametrize(
    ("args", "error", "message"), [case[1:] for case in BAD_ONE_HOT], ids=[case[0] for case in BAD_ONE_HOT]
)
def test_one_hot_rejects_bad_input(args: tuple[Any, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        one_hot(*args)


def test_a_test_value_far_beyond_a_tiny_constant_column_is_still_standardized() -> None:
    """The column's unit (2^-997) would overflow the test value; unscaled, it fits."""
    got = standardize([[1e-300, 1.0], [1e-300, 2.0]], [[1e10, 1.0]])
    assert got.test == [[1e10, -1.0]]
