"""A worked use of second derivatives: Newton's method, with the exact Hessian from
``hessian`` (or ``grad(grad(f))`` in one dimension), against plain gradient descent.

Newton's step solves H d = grad f; near a minimum it converges quadratically, in a handful of
steps, where gradient descent, limited by the largest curvature to a small learning rate, needs
hundreds or tens of thousands. Both must reach |grad f| < 1e-10 here; the test then compares
their step counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from autodiff import grad, hessian, value_and_grad

TOLERANCE = 1e-10


def newton_1d(f: Callable[[Any], Any], x: float, max_steps: int = 50) -> tuple[float, int]:
    """x <- x - f'(x) / f''(x) until |f'(x)| < TOLERANCE; the point and the steps taken."""
    d1, d2 = grad(f), grad(grad(f))
    for step in range(max_steps):
        slope = d1(x)
        if abs(slope) < TOLERANCE:
            return x, step
        x -= slope / d2(x)
    raise AssertionError(f"Newton did not converge in {max_steps} steps (x = {x!r})")


def descent_1d(f: Callable[[Any], Any], x: float, lr: float, max_steps: int = 100_000) -> tuple[float, int]:
    d1 = grad(f)
    for step in range(max_steps):
        slope = d1(x)
        if abs(slope) < TOLERANCE:
            return x, step
        x -= lr * slope
    raise AssertionError(f"gradient descent did not converge in {max_steps} steps (x = {x!r})")


def _exp_minus_2x(x: Any) -> Any:
    return x.exp() - 2.0 * x  # minimum at ln 2, f'' = e^x


def _quartic(x: Any) -> Any:
    return x**4 + x**2 - 3.0 * x  # minimum where 4x^3 + 2x = 3: x = 0.72808...


@pytest.mark.parametrize(
    ("f", "start", "lr", "minimum"),
    [
        pytest.param(_exp_minus_2x, 1.5, 0.05, math.log(2.0), id="exp(x)-2x"),
        pytest.param(_quartic, 2.0, 0.01, None, id="x^4+x^2-3x"),
    ],
)
def test_newton_beats_gradient_descent_in_one_dimension(f, start: float, lr: float, minimum) -> None:  # type: ignore[no-untyped-def]
    x_newton, newton_steps = newton_1d(f, start)
    x_descent, descent_steps = descent_1d(f, start, lr)
    assert newton_steps <= 10
    assert descent_steps >= 100
    assert x_newton == pytest.approx(x_descent, abs=1e-8)
    if minimum is not None:
        assert x_newton == pytest.approx(minimum, abs=1e-12)
    else:
        assert 4.0 * x_newton**3 + 2.0 * x_newton == pytest.approx(3.0, abs=1e-10)


def rosenbrock(v: list[Any]) -> Any:
    """(1 - x)^2 + 100 (y - x^2)^2: a curved valley, minimum 0 at (1, 1)."""
    x, y = v
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _rosenbrock_hessian(x: float, y: float) -> list[list[float]]:
    return [[2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x], [-400.0 * x, 200.0]]


def newton_2d(
    f: Callable[[list[Any]], Any], point: list[float], max_steps: int = 50
) -> tuple[list[float], int]:
    """Pure Newton (no line search): solve the 2 x 2 system H d = g by Cramer's rule."""
    gradient = grad(lambda x, y: f([x, y]), argnums=(0, 1))
    h_of = hessian(f)
    x, y = point
    for step in range(max_steps):
        gx, gy = gradient(x, y)
        if math.hypot(gx, gy) < TOLERANCE:
            return [x, y], step
        (a, b), (c, d) = h_of([x, y])
        det = a * d - b * c
        x -= (d * gx - b * gy) / det
        y -= (a * gy - c * gx) / det
    raise AssertionError(f"Newton did not converge in {max_steps} steps (at {(x, y)!r})")


def descent_2d(
    f: Callable[[list[Any]], Any], point: list[float], lr: float, max_steps: int = 200_000
) -> tuple[list[float], int]:
    gradient = grad(lambda x, y: f([x, y]), argnums=(0, 1))
    x, y = point
    for step in range(max_steps):
        gx, gy = gradient(x, y)
        if math.hypot(gx, gy) < TOLERANCE:
            return [x, y], step
        x -= lr * gx
        y -= lr * gy
    raise AssertionError(f"gradient descent did not converge in {max_steps} steps (at {(x, y)!r})")


def test_rosenbrock_hessian_is_exact() -> None:
    for point in ([-1.2, 1.0], [1.0, 1.0], [0.5, -0.25]):
        got, want = hessian(rosenbrock)(point), _rosenbrock_hessian(*point)
        for row, row_want in zip(got, want):
            assert row == pytest.approx(row_want, rel=1e-14)
    value, g = value_and_grad(lambda x, y: rosenbrock([x, y]), argnums=(0, 1))(-1.2, 1.0)
    assert value == pytest.approx(24.2, rel=1e-15)
    assert g == pytest.approx((-215.6, -88.0), rel=1e-14)


def test_newton_beats_gradient_descent_on_rosenbrock() -> None:
    """From the classic start (-1.2, 1): Newton with the exact Hessian lands on (1, 1) in 7
    steps or so; gradient descent, its learning rate bounded by the valley's curvature (the
    largest eigenvalue of H is about 1000 at the minimum, so lr < 2e-3), needs tens of
    thousands of steps to crawl along the valley floor."""
    newton_at, newton_steps = newton_2d(rosenbrock, [-1.2, 1.0])
    descent_at, descent_steps = descent_2d(rosenbrock, [-1.2, 1.0], lr=1e-3)
    assert newton_steps <= 10
    assert descent_steps >= 1000
    assert newton_at == pytest.approx([1.0, 1.0], abs=1e-8)
    assert descent_at == pytest.approx([1.0, 1.0], abs=1e-8)
    assert descent_steps > 100 * newton_steps


def test_newton_solves_a_quadratic_in_one_step() -> None:
    """f = 1/2 x^T A x + b^T x: H = A everywhere, so one Newton step from anywhere lands on the
    minimum -A^-1 b (here (1, -2), to rounding)."""
    a = [[4.0, 1.0], [1.0, 3.0]]
    b = [-2.0, 5.0]  # -A^-1 b = (1, -2)

    def f(v: list[Any]) -> Any:
        x, y = v
        return 0.5 * (a[0][0] * x * x + 2.0 * a[0][1] * x * y + a[1][1] * y * y) + b[0] * x + b[1] * y

    assert hessian(f)([7.0, -3.0]) == a
    at, steps = newton_2d(f, [7.0, -3.0])
    assert steps == 1
    assert at == pytest.approx([1.0, -2.0], abs=1e-14)
