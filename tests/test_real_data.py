"""scikit-learn's bundled datasets as plain lists (nn.real_data), and the clear ImportError
without scikit-learn."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable

import pytest
import sklearn.datasets as datasets

import nn
from nn import load_breast_cancer, load_digits, load_iris
from nn.data import Dataset
from nn.real_data import BREAST_CANCER_CLASSES, DIGITS_SHAPE, IRIS_CLASSES

LOADERS: dict[str, tuple[Callable[[], Dataset], int, int, dict[int, int]]] = {
    "load_digits": (load_digits, 1797, 64, {0: 178, 1: 182, 2: 177, 3: 183, 4: 181, 5: 182, 6: 181,
                                            7: 179, 8: 174, 9: 180}),
    "load_iris": (load_iris, 150, 4, {0: 50, 1: 50, 2: 50}),
    "load_breast_cancer": (load_breast_cancer, 569, 30, {0: 212, 1: 357}),
}


@pytest.mark.parametrize("name", LOADERS)
def test_shapes_types_and_class_counts(name: str) -> None:
    load, n, width, counts = LOADERS[name]
    X, y = load()
    assert type(X) is list and type(y) is list
    assert len(X) == len(y) == n
    assert all(type(row) is list and len(row) == width for row in X)
    assert all(type(v) is float for row in X for v in row)
    assert all(type(label) is int for label in y)
    assert Counter(y) == counts


@pytest.mark.parametrize("name", LOADERS)
def test_the_same_numbers_as_scikit_learn(name: str) -> None:
    X, y = LOADERS[name][0]()
    bunch = getattr(datasets, name)()
    assert bunch.data.tolist() == X
    assert bunch.target.tolist() == y


def test_what_the_constants_describe() -> None:
    X = load_digits()[0]
    assert DIGITS_SHAPE == (8, 8)
    assert {v for row in X for v in row} == {float(v) for v in range(17)}  # intensities 0 .. 16
    assert list(IRIS_CLASSES) == list(datasets.load_iris().target_names)
    assert list(BREAST_CANCER_CLASSES) == list(datasets.load_breast_cancer().target_names)


@pytest.mark.parametrize("name", LOADERS)
def test_without_scikit_learn_the_error_names_the_extra(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import sklearn...` raise ImportError, as if not installed.
    for module in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=rf"{name}\(\) needs scikit-learn.*pip install 'chaingrad\[data\]'"):
        getattr(nn, name)()


def test_importing_nn_does_not_import_scikit_learn() -> None:
    import subprocess

    probe = "import sys, nn; print('sklearn' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
