"""Logistic regression by Newton's method, with the engine's own gradient and Hessian, on the
standardized breast-cancer data: it lands on scikit-learn's coefficients, and converges
quadratically (the gradient's norm roughly squares each step once it is below 1).

The objective is scikit-learn's for ``LogisticRegression(C=1)`` (an L2 penalty; the intercept
is not penalised), with labels ``s_i = +-1`` and ``w = (coefficients, intercept)``::

    f(w) = C sum_i log(1 + exp(-s_i (w . x_i + b))) + 1/2 ||w||^2,

and Newton's step is ``w <- w - H(w)^-1 grad f(w)``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from autodiff import Value, dot, grad, hessian
from nn import load_breast_cancer, standardize


def logistic_objective(X: list[list[float]], y: list[int]) -> Callable[[list[Any]], Value]:
    """``f(w)`` above for rows ``X`` and 0/1 labels ``y``: each term is
    ``softplus(-s_i (w . x_i + b))``, one dot node and one softplus node per sample, the minus
    sign and the label folded into the constant row ``-s_i (x_i, 1)``; the sum is one more dot."""
    rows = [[-s * v for v in (*x, 1.0)] for x, s in zip(X, (2 * t - 1 for t in y))]
    ones = [1.0] * len(rows)

    def f(w: list[Any]) -> Value:
        return dot(ones, [dot(w, row).softplus() for row in rows]) + 0.5 * dot(w[:-1], w[:-1])

    return f


Data = tuple[list[list[float]], list[int]]


@pytest.fixture(scope="module")
def data() -> Data:
    X, y = load_breast_cancer()
    return standardize(X).train, y


def test_the_engines_gradient_and_hessian_are_the_closed_forms(data: Data) -> None:
    # with m_i = s_i (w . x_i + b) and a_i = (x_i, 1): grad f = sum_i -s_i sigma(-m_i) a_i + (w, 0) and
    # H = sum_i sigma(m_i) sigma(-m_i) a_i a_i^T + diag(1, ..., 1, 0); at a point away from 0, to rounding
    X, y = data
    f = logistic_objective(X, y)
    w = [0.1 * math.sin(k) for k in range(31)]
    A = np.hstack([np.array(X), np.ones((len(X), 1))])
    s = 2.0 * np.array(y) - 1.0
    m = s * (A @ np.array(w))
    sigma = 1 / (1 + np.exp(-m))
    penalty = np.diag([1.0] * 30 + [0.0])
    expected_gradient = A.T @ (-s * (1 - sigma)) + penalty @ np.array(w)
    expected_hessian = A.T @ ((sigma * (1 - sigma))[:, None] * A) + penalty
    assert np.allclose(grad(f)(w), expected_gradient, rtol=1e-12, atol=1e-10)
    assert np.allclose(hessian(f)(w), expected_hessian, rtol=1e-12, atol=1e-10)


@pytest.mark.slow
def test_newton_lands_on_scikit_learns_coefficients_quadratically(data: Data) -> None:
    X, y = data
    f = logistic_objective(X, y)
    w = [0.0] * 31
    norms = []
    start = time.perf_counter()
    for _ in range(10):
        g = grad(f)(w)
        norms.append(math.hypot(*g))
        if norms[-1] < 1e-9:
            break
        w = (np.array(w) - np.linalg.solve(hessian(f)(w), g)).tolist()
    steps = len(norms) - 1
    seconds = (time.perf_counter() - start) / steps
    print(f"{steps} Newton steps, {seconds:.2f} s each; |grad f| = " + ", ".join(f"{n:.2g}" for n in norms))

    assert norms[-1] < 1e-9 and steps <= 10
    assert all(later < earlier for earlier, later in itertools.pairwise(norms))
    near = [(earlier, later) for earlier, later in itertools.pairwise(norms) if earlier < 1]
    assert len(near) >= 3 and all(later <= earlier**2 for earlier, later in near)  # quadratic

    reference = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-14, max_iter=1000).fit(np.array(X), y)
    expected = [*reference.coef_[0].tolist(), float(reference.intercept_[0])]
    assert w == pytest.approx(expected, rel=1e-5)
