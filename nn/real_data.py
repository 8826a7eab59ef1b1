"""Real datasets, the small ones that scikit-learn ships inside its package (no download), as
plain Python lists: ``load_digits``, ``load_iris``, ``load_breast_cancer``.

Each returns ``(X, y)``: ``X`` a list of rows of floats, one row per sample, ``y`` a list of int
class labels ``0 .. k-1``, in scikit-learn's order. They need scikit-learn, the optional ``data``
extra (``pip install 'chaingrad[data]'``); without it, calling one raises an ImportError that
says so. Importing ``nn`` never needs it.

The features keep their own units (pixel intensities, centimetres, cell measurements), so they
differ in scale: ``nn.standardize`` puts them on one scale before training.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .data import Dataset

DIGITS_SHAPE = (8, 8)
"""``load_digits``' rows are 8 x 8 pictures read row by row: pixel ``(r, c)`` is ``X[i][8 * r + c]``."""

IRIS_CLASSES = ("setosa", "versicolor", "virginica")
"""``load_iris``' class names, by label."""

BREAST_CANCER_CLASSES = ("malignant", "benign")
"""``load_breast_cancer``'s class names, by label: 0 is malignant, 1 benign."""


def _sklearn_datasets(function: str) -> ModuleType:
    try:
        return importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise ImportError(
            f"{function}() needs scikit-learn, which ships this dataset; install chaingrad's `data` "
            f"extra: pip install 'chaingrad[data]'"
        ) from error


def _load(function: str) -> Dataset:
    """scikit-learn's ``sklearn.datasets.<function>()`` as lists of Python floats and ints."""
    bunch = getattr(_sklearn_datasets(function), function)()
    X = [[float(v) for v in row] for row in bunch.data.tolist()]
    y = [int(label) for label in bunch.target.tolist()]
    return X, y


def load_digits() -> Dataset:
    """1,797 handwritten digits (UCI's optical recognition set, as scikit-learn ships it): each row
    64 pixel intensities, whole numbers 0 (white) to 16 (black), of an 8 x 8 picture read row by
    row (``DIGITS_SHAPE``); labels 0-9, the digit drawn."""
    return _load("load_digits")


def load_iris() -> Dataset:
    """Fisher's 150 irises: sepal length and width, petal length and width in cm (4 features);
    labels 0-2, the species (``IRIS_CLASSES``), 50 of each."""
    return _load("load_iris")


def load_breast_cancer() -> Dataset:
    """569 breast-mass biopsies (the Wisconsin diagnostic set): 30 measurements of the cell
    nuclei in a picture (mean, standard error and worst value of 10 quantities such as radius,
    texture and concavity); labels 0 malignant (212), 1 benign (357) (``BREAST_CANCER_CLASSES``)."""
    return _load("load_breast_cancer")
