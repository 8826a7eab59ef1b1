"""Derivatives as functions: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``vjp``,
``jvp``, ``hvp``, ``gradients``, ``apply`` with a custom ``Rule``, and ``gradcheck`` /
``gradgradcheck`` catching wrong derivatives.

The worked examples follow the book's chapter 6 (/work/shared/book/003_bc1e8d3b750d6ff6.txt):
the Jacobian of a layer a = sigma(W x + b) is diag(sigma'(z)) W, the chain rule is the product of
the layers' Jacobians, and a vector-Jacobian product is u^T J.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest
from helpers import matmul, matvec, sigmoid, vecmat

import autodiff
from autodiff import (
    GradcheckError,
    Rule,
    Value,
    apply,
    grad,
    gradcheck,
    gradgradcheck,
    gradients,
    hessian,
    hvp,
    jacobian,
    jacobian_cost,
    jvp,
    value_and_grad,
    vjp,
)

MODES = ("rev", "fwd")


def assert_matrix_close(got: list[list[Any]], want: list[list[float]], rel: float, abs_: float = 0.0) -> None:
    assert len(got) == len(want)
    for i, (row, row_want) in enumerate(zip(got, want)):
        assert len(row) == len(row_want), i
        for j, (a, b) in enumerate(zip(row, row_want)):
            assert a == pytest.approx(b, rel=rel, abs=abs_), f"entry ({i}, {j}): {a!r} vs {b!r}"


def test_the_functional_api_is_importable_from_autodiff() -> None:
    for name in ("grad", "value_and_grad", "jacobian", "hessian", "vjp", "jvp", "hvp", "jacobian_cost",
                 "gradients", "tangents", "apply", "gradcheck", "gradgradcheck", "GradcheckError", "Rule"):
        assert hasattr(autodiff, name), name
        assert name in autodiff.__all__, name
    assert issubclass(GradcheckError, AssertionError)


# --- grad and value_and_grad ---------------------------------------------------------------------


def test_grad_of_a_scalar_function_returns_floats() -> None:
    f = lambda x: x.sin() * x
    g = grad(f)(0.7)
    assert type(g) is float
    assert g == pytest.approx(math.cos(0.7) * 0.7 + math.sin(0.7), rel=1e-15)
    value, slope = value_and_grad(f)(0.7)
    assert type(value) is float and type(slope) is float
    assert value == math.sin(0.7) * 0.7
    assert slope == g


def test_grad_accepts_ints() -> None:
    assert grad(lambda x: x * x * x)(2) == 12.0


@pytest.mark.parametrize(
    ("argnums", "want"),
    [(0, 12.0), (1, 9.0), (2, 1.0), (-1, 1.0), (-3, 12.0), ((0, 2), (12.0, 1.0)), ((1,), (9.0,)),
     ((2, 0, 1), (1.0, 12.0, 9.0))],
)
def test_grad_argnums(argnums: Any, want: Any) -> None:
    """f(x, y, z) = x^2 y + z at (3, 2, 1): (2xy, x^2, 1) = (12, 9, 1). An int gives one
    gradient, a tuple a tuple in its order; negative positions count from the end."""
    got = grad(lambda x, y, z: x * x * y + z, argnums=argnums)(3.0, 2.0, 1.0)
    assert got == want
    assert type(got) is type(want)


def test_grad_nests_to_any_order() -> None:
    """grad(grad(f)) calls grad(f) with a Value, which then returns a Value."""
    f = lambda x: x.exp() * x
    inner = grad(f)(Value(0.5))
    assert isinstance(inner, Value)
    assert inner.data == pytest.approx(math.exp(0.5) * 1.5, rel=1e-15)
    g3 = grad(grad(grad(f)))(0.5)  # (x + 3) e^x
    assert type(g3) is float
    assert g3 == pytest.approx(math.exp(0.5) * 3.5, rel=1e-14)


def test_grad_of_a_function_ignoring_its_input_is_zero() -> None:
    assert grad(lambda x: 3.0)(1.0) == 0.0
    assert grad(lambda x, y: x * x, argnums=1)(2.0, 5.0) == 0.0
    assert value_and_grad(lambda x: Value(2.0) * 3.0)(1.0) == (6.0, 0.0)
    assert grad(grad(lambda x: 2.0 * x))(1.0) == 0.0


# --- jacobian ----------------------------------------------------------------------------------


def _f(xs: list[Any]) -> list[Any]:
    x, y, z = xs
    return [x * y * z, x.sin() + y**2, (z / y).exp()]


def _f_jacobian(x: float, y: float, z: float) -> list[list[float]]:
    e = math.exp(z / y)
    return [[y * z, x * z, x * y], [math.cos(x), 2.0 * y, 0.0], [0.0, -z / y**2 * e, e / y]]


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_matches_closed_form(mode: str) -> None:
    point = [0.5, 2.0, -1.5]
    got = jacobian(_f, mode=mode)(point)  # type: ignore[arg-type]
    assert all(type(entry) is float for row in got for entry in row)
    assert_matrix_close(got, _f_jacobian(*point), rel=1e-15)


def test_jacobian_of_a_scalar_function_is_its_gradient() -> None:
    """The output's structure outside, the argument's inside: a scalar output adds no level."""
    for mode in MODES:
        assert jacobian(lambda v: v[0] * v[1], mode=mode)([2.0, 3.0]) == [3.0, 2.0]  # type: ignore[arg-type]
        assert jacobian(lambda v: [v[0] * v[1]], mode=mode)([2.0, 3.0]) == [[3.0, 2.0]]  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_zero_rows_and_columns_for_what_does_not_depend(mode: str) -> None:
    """Output 1 is a constant, output 2 an input passed through; no output reads input 2."""
    f = lambda v: [v[0] * v[1], 3.0, v[1]]
    got = jacobian(f, mode=mode)([2.0, 5.0, 7.0])  # type: ignore[arg-type]
    assert got == [[5.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


# --- the book's layer: J = diag(sigma'(z)) W -----------------------------------------------------

W1 = [[0.5, -1.25], [0.75, 0.3], [-0.6, 1.1]]
B1 = [0.1, -0.2, 0.05]
W2 = [[1.2, -0.7, 0.4], [-0.3, 0.9, 1.5]]
B2 = [-0.1, 0.25]
X = [0.8, -0.45]


def _layer(w: list[list[float]], b: list[float]):  # type: ignore[no-untyped-def]
    """a = sigma(W x + b), written with engine operations: z_i = b_i + sum_j W_ij x_j."""

    def layer(xs: list[Any]) -> list[Any]:
        out = []
        for row, bias in zip(w, b):
            z: Any = bias
            for wij, xj in zip(row, xs):
                z = z + wij * xj
            out.append(z.sigmoid())
        return out

    return layer


def _layer_floats(w: list[list[float]], b: list[float], xs: list[float]) -> tuple[list[float], list[float]]:
    """z and a = sigma(z) on floats, summed in the same order as ``_layer``."""
    zs = []
    for row, bias in zip(w, b):
        z = bias
        for wij, xj in zip(row, xs):
            z = z + wij * xj
        zs.append(z)
    return zs, [sigmoid(z) for z in zs]


def _diag_sigma_prime_w(w: list[list[float]], b: list[float], xs: list[float]) -> list[list[float]]:
    """diag(sigma'(z)) W, with sigma'(z) = sigma(z) sigma(-z) (= sigma(z)(1 - sigma(z)), without
    the cancellation of 1 - sigma(z))."""
    zs, _ = _layer_floats(w, b, xs)
    return [[sigmoid(z) * sigmoid(-z) * wij for wij in row] for z, row in zip(zs, w)]


@pytest.mark.parametrize("mode", MODES)
def test_sigmoid_layer_jacobian_is_diag_sigma_prime_times_w(mode: str) -> None:
    got = jacobian(_layer(W1, B1), mode=mode)(X)  # type: ignore[arg-type]
    assert len(got) == 3 and all(len(row) == 2 for row in got)
    assert_matrix_close(got, _diag_sigma_prime_w(W1, B1, X), rel=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_chain_rule_is_the_product_of_layer_jacobians(mode: str) -> None:
    """J of layer2(layer1(x)) = J2(a1) J1(x): a 2x3 times a 3x2 matrix."""
    first, second = _layer(W1, B1), _layer(W2, B2)
    _, a1 = _layer_floats(W1, B1, X)
    j1 = jacobian(first, mode=mode)(X)  # type: ignore[arg-type]
    j2 = jacobian(second, mode=mode)(a1)  # type: ignore[arg-type]
    composed = jacobian(lambda xs: second(first(xs)), mode=mode)(X)  # type: ignore[arg-type]
    assert_matrix_close(composed, matmul(j2, j1), rel=1e-14)
    by_hand = matmul(_diag_sigma_prime_w(W2, B2, a1), _diag_sigma_prime_w(W1, B1, X))
    assert_matrix_close(composed, by_hand, rel=1e-14)


def test_vjp_of_a_layer_is_u_transpose_j() -> None:
    u = [0.3, -1.2, 2.0]
    outputs, vjp_layer = vjp(_layer(W1, B1), X)
    (u_j,) = vjp_layer(u)
    assert outputs == _layer_floats(W1, B1, X)[1]
    assert u_j == pytest.approx(vecmat(u, _diag_sigma_prime_w(W1, B1, X)), rel=1e-14)


def test_jvp_of_a_layer_is_j_v() -> None:
    v = [1.5, -0.25]
    outputs, j_v = jvp(_layer(W1, B1), (X,), (v,))
    assert outputs == _layer_floats(W1, B1, X)[1]
    assert j_v == pytest.approx(matvec(_diag_sigma_prime_w(W1, B1, X), v), rel=1e-14)


# --- hessian and hvp -------------------------------------------------------------------------

A_SYM = [[2.0, 0.1, -1.0 / 3.0], [0.1, 5.5, 0.7], [-1.0 / 3.0, 0.7, 3.25]]
B_VEC = [0.3, -1.1, 2.0]


def _quadratic(a: list[list[float]]):  # type: ignore[no-untyped-def]
    def f(xs: list[Any]) -> Any:
        q: Any = 0.0
        for i in range(3):
            for j in range(3):
                q = q + a[i][j] * xs[i] * xs[j]
        return 0.5 * q + sum(bi * xi for bi, xi in zip(B_VEC, xs))

    return f


@pytest.mark.parametrize("point", [[0.0, 0.0, 0.0], [1.3, -0.7, 2.9], [1e3, -7e-2, 3.3]])
def test_hessian_of_a_quadratic_is_a_exactly(point: list[float]) -> None:
    """f = 1/2 x^T A x + b^T x, A symmetric: H = A, bit for bit, at every point. Each entry is
    H_kl = 1/2 A_kl + 1/2 A_lk: halving a float is exact, the two halves are equal, and adding
    a float to itself is exact; x never enters (the products with x are differentiated away,
    leaving products with the seed 1 and the constant 1/2)."""
    h = hessian(_quadratic(A_SYM))(point)
    assert h == A_SYM
    assert all(type(entry) is float for row in h for entry in row)


def test_hessian_of_a_quadratic_with_an_unsymmetric_matrix_is_its_symmetric_part() -> None:
    """With A not symmetric, H = (A + A^T) / 2: now 1/2 A_kl + 1/2 A_lk is a sum of two
    different floats and is rounded once, so the entries match to one rounding (1e-15)."""
    rng = random.Random(7)
    a = [[rng.uniform(-3.0, 3.0) for _ in range(3)] for _ in range(3)]
    want = [[0.5 * a[k][m] + 0.5 * a[m][k] for m in range(3)] for k in range(3)]
    assert_matrix_close(hessian(_quadratic(a))([0.4, -2.0, 1.0]), want, rel=1e-15)


def test_hessian_sweeps_each_gradient_entry_through_its_own_graph() -> None:
    """f(v) = sum_i v_i^3 through a rule whose slope 3 x^2 is itself a rule, whose own slope (6 x)
    counts its calls. The gradient (3 v_i^2, each entry a graph of its own) comes from one
    sweep; then one sweep per entry reaches that entry's slope node only: 3 calls for 3
    inputs, not 3 x 3 (as sweeping all entries, seeded 0 but one, would)."""
    calls = [0]

    def six_x(x: Any, out: Any) -> Any:
        calls[0] += 1
        return 6.0 * x

    slope = Rule("three_x_squared", "3x^2", lambda x: 3.0 * x * x, (six_x,), "3 x^2;  d/dx = 6 x")
    cube = Rule("cube_by_rule", "^3", lambda x: x * x * x, (lambda x, out: apply(slope, x)
                                                           if isinstance(x, Value) else 3.0 * x * x,),
                "x^3;  d/dx = 3 x^2, a rule of its own on Values")
    h = hessian(lambda v: sum((apply(cube, t) for t in v), 0.0))([1.0, 2.0, 3.0])
    assert h == [[6.0, 0.0, 0.0], [0.0, 12.0, 0.0], [0.0, 0.0, 18.0]]
    assert calls[0] == 3


def test_hvp_is_hessian_times_vector() -> None:
    f = lambda v: (v[0] * v[1]).sin() + v[2] ** 3 * v[0]
    point, v = [0.3, -1.2, 0.8], [1.0, 0.5, -2.0]
    value, (hv,) = hvp(f, (point,), (v,))
    assert value == f([Value(p) for p in point]).data
    assert hv == pytest.approx(matvec(hessian(f)(point), v), rel=1e-14)
    (hv,) = hvp(_quadratic(A_SYM), ([1.0, 2.0, 3.0],), (v,))[1]
    assert hv == pytest.approx(matvec(A_SYM, v), rel=1e-15)


def test_hessian_and_hvp_zero_for_inputs_not_used() -> None:
    f = lambda v: v[0] ** 3
    assert hessian(f)([2.0, 9.0]) == [[12.0, 0.0], [0.0, 0.0]]
    assert hessian(lambda v: 4.0)([2.0, 9.0]) == [[0.0, 0.0], [0.0, 0.0]]
    assert hessian(lambda v: v[0] + v[1])([2.0, 9.0]) == [[0.0, 0.0], [0.0, 0.0]]
    assert hvp(f, ([2.0, 9.0],), ([1.0, 1.0],)) == (8.0, ([12.0, 0.0],))
    assert hvp(lambda v: 4.0, ([2.0, 9.0],), ([1.0, 1.0],)) == (4.0, ([0.0, 0.0],))


def test_transforms_called_with_values_return_values() -> None:
    xs = [Value(0.5), Value(-1.5)]
    f = lambda v: (v[0] * v[1]).tanh()
    for mode in MODES:
        (j0, j1), (j2, j3) = jacobian(lambda v: [f(v), v[0] * v[0]], mode=mode)(xs)  # type: ignore[arg-type]
        assert all(isinstance(entry, Value) for entry in (j0, j1, j2, j3)), mode
        assert j3.data == 0.0  # v[0]^2 does not depend on v[1]: a zero, as a Value like the rest
    h = hessian(f)(xs)
    assert all(isinstance(entry, Value) for row in h for entry in row)
    out, vjp_f = vjp(f, xs)
    (u_j,) = vjp_f(1.0)
    assert isinstance(out, Value) and all(isinstance(e, Value) for e in u_j)
    out, j_v = jvp(f, (xs,), ([1.0, 0.0],))
    assert isinstance(out, Value) and isinstance(j_v, Value)
    out, (h_v,) = hvp(f, (xs,), ([1.0, 0.0],))
    assert isinstance(out, Value) and all(isinstance(e, Value) for e in h_v)
    # and the Values are differentiable: d/dx0 of H[0][0]
    (third,) = gradients(h[0][0], [xs[0]])
    t = math.tanh(0.5 * -1.5)
    y = -1.5
    # f = tanh(x y): f_xx = y^2 tanh'', f_xxx = y^3 tanh'''
    assert third == pytest.approx(y**3 * (1 - t * t) * (6 * t * t - 2), rel=1e-13)


@pytest.mark.parametrize(
    ("transform", "product"),
    [
        pytest.param("jvp", lambda v: jvp(lambda x: x**3, (2.0,), (v,))[1], id="jvp"),
        pytest.param("vjp", lambda u: vjp(lambda x: x**3, 2.0)[1](u)[0], id="vjp"),
        pytest.param("hvp", lambda v: hvp(lambda x: x**4 / 4.0, (2.0,), (v,))[1][0], id="hvp"),
    ],
)
def test_a_value_vector_makes_the_product_a_value(transform: str, product) -> None:  # type: ignore[no-untyped-def]
    """J v, u^T J and H v are linear in the vector: their derivative with respect to it is
    J (here f'(2) = 12 for f = x^3, and f''(2) = 12 for f = x^4 / 4). Called with a Value as the
    vector (here from an outer grad), the product must be a Value that depends on it; a float
    would make the outer grad see a constant and return 0."""
    v = Value(1.0)
    assert isinstance(product(v), Value), transform
    assert grad(product)(1.0) == 12.0


def test_vjp_and_jvp_keep_the_shape_of_f() -> None:
    scalar = lambda v: v[0] * v[1]
    vector = lambda v: [v[0] * v[1]]
    out, vjp_scalar = vjp(scalar, [2.0, 3.0])
    assert (out, vjp_scalar(1.0)) == (6.0, ([3.0, 2.0],))
    out, vjp_vector = vjp(vector, [2.0, 3.0])
    assert (out, vjp_vector([1.0])) == ([6.0], ([3.0, 2.0],))
    assert jvp(scalar, ([2.0, 3.0],), ([1.0, 1.0],)) == (6.0, 5.0)
    assert jvp(vector, ([2.0, 3.0],), ([1.0, 1.0],)) == ([6.0], [5.0])


# --- one convention for every transform: JAX's ---------------------------------------------------


def test_the_readme_examples() -> None:
    tanh2 = -2.0 * math.tanh(0.3) / math.cosh(0.3) ** 2
    assert grad(grad(lambda x: x.tanh()))(0.3) == pytest.approx(tanh2, rel=1e-14)
    rosen = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
    assert hessian(rosen)([1.0, 1.0]) == [[802.0, -400.0], [-400.0, 200.0]]
    g = lambda v: [v[0] * v[1], v[0].sin()]
    for mode in MODES:
        assert jacobian(g, mode=mode)([2.0, 3.0]) == [[3.0, 2.0], [math.cos(2.0), 0.0]]  # type: ignore[arg-type]
    assert jacobian_cost(g, mode="fwd")([2.0, 3.0]) == 6
    out, vjp_g = vjp(g, [2.0, 3.0])
    assert out == [6.0, math.sin(2.0)]
    assert vjp_g([1.0, 2.0]) == ([3.0 + 2.0 * math.cos(2.0), 2.0],)
    assert jvp(g, ([2.0, 3.0],), ([1.0, 2.0],)) == ([6.0, math.sin(2.0)], [7.0, math.cos(2.0)])
    assert gradcheck(g, [2.0, 3.0]) is True


def test_a_gradient_has_the_structure_of_its_argument() -> None:
    """A number gives a float, a list a list, a tuple a tuple, a matrix (a list of rows) a
    matrix. f(W, x) = sum_i (W x)_i^2: df/dW_ij = 2 (W x)_i x_j, df/dx_j = sum_i 2 (W x)_i W_ij."""

    def f(w: Any, x: Any) -> Any:
        return sum((row[0] * x[0] + row[1] * x[1]) ** 2 for row in w)

    w, x = [[1.0, 2.0], [3.0, -1.0]], (2.0, 1.0)  # W x = (4, 5)
    assert grad(f)(w, x) == [[16.0, 8.0], [20.0, 10.0]]
    assert grad(f, argnums=1)(w, x) == (38.0, 6.0)  # a tuple argument: a tuple
    assert grad(f, argnums=(1, 0))(w, x) == ((38.0, 6.0), [[16.0, 8.0], [20.0, 10.0]])
    assert grad(lambda t: t * t)(3) == 6.0


def test_jacobian_puts_the_result_outside_and_the_argument_inside() -> None:
    """J[j] has the structure of the argument; the list of the J[j] has that of the result."""
    x = [5.0, 7.0]

    def wx(w: Any) -> list[Any]:
        return [w[0][0] * x[0] + w[0][1] * x[1], w[1][0] * x[0] + w[1][1] * x[1]]

    for mode in MODES:
        # a list-valued f of a number: the column, a list
        assert jacobian(lambda t: [t, t * t, 3.0], mode=mode)(3.0) == [1.0, 6.0, 0.0]  # type: ignore[arg-type]
        # a scalar f of a number: a float
        assert jacobian(lambda t: t * t * t, mode=mode)(2.0) == 12.0  # type: ignore[arg-type]
        # f(W) = W x for a 2 x 2 W: each entry of the result holds a 2 x 2 matrix, d (W x)_i / dW
        got = jacobian(wx, mode=mode)([[1.0, 2.0], [3.0, 4.0]])  # type: ignore[arg-type]
        assert got == [[[5.0, 7.0], [0.0, 0.0]], [[0.0, 0.0], [5.0, 7.0]]]


def test_jacobian_with_a_tuple_argnums_holds_a_tuple_per_output() -> None:
    """f(x, v) = (x v0, x + v1): each output's entry is (d/dx, d/dv)."""
    f = lambda x, v: [x * v[0], x + v[1]]
    for mode in MODES:
        got = jacobian(f, argnums=(0, 1), mode=mode)(2.0, [3.0, 4.0])  # type: ignore[arg-type]
        assert got == [(3.0, [2.0, 0.0]), (1.0, [0.0, 1.0])]
        assert jacobian(f, argnums=1, mode=mode)(2.0, [3.0, 4.0]) == [[2.0, 0.0], [0.0, 1.0]]  # type: ignore[arg-type]


def test_hessian_of_two_numbers_is_a_pair_of_pairs_as_in_jax() -> None:
    """f = x^3 y^2 at (2, 3): f_xx = 6 x y^2 = 108, f_xy = 6 x^2 y = 72, f_yy = 2 x^3 = 16."""
    f = lambda x, y: x**3 * y**2
    assert hessian(f, argnums=(0, 1))(2.0, 3.0) == ((108.0, 72.0), (72.0, 16.0))
    assert hessian(f)(2.0, 3.0) == 108.0
    assert hessian(f, argnums=1)(2.0, 3.0) == 16.0


def test_hessian_of_a_list_and_a_number() -> None:
    """f(v, s) = s v0 v1 at v = (3, 4), s = 2. The gradient is ([s v1, s v0], v0 v1); each of its
    numbers holds its own (d/dv, d/ds): ([0, s], v1) and ([s, 0], v0) for the list's, ([v1,
    v0], 0) for the number's."""
    h = hessian(lambda v, s: s * v[0] * v[1], argnums=(0, 1))([3.0, 4.0], 2.0)
    assert h == ([([0.0, 2.0], 4.0), ([2.0, 0.0], 3.0)], ([4.0, 3.0], 0.0))


def test_vjp_returns_one_cotangent_per_primal_and_may_be_called_again() -> None:
    f = lambda x, v: [x * v[0], x * v[1]]
    out, vjp_f = vjp(f, 2.0, [3.0, 4.0])
    assert out == [6.0, 8.0]
    assert vjp_f([1.0, 1.0]) == (7.0, [2.0, 2.0])
    assert vjp_f([1.0, 0.0]) == (3.0, [2.0, 0.0])
    assert vjp_f((0.0, 2.0)) == (8.0, [0.0, 4.0])  # a tuple stands for a list of the same length


def test_jvp_and_hvp_with_several_primals() -> None:
    """f = x v0 v1 at x = 2, v = (3, 4), along t = (1, (0, 1)): J t = v0 v1 + x v0 = 18. The
    Hessian in (x, v0, v1) has rows (0, v1, v0), (v1, 0, x), (v0, x, 0); times (1, 0, 1) it is
    (3, 6, 3)."""
    f = lambda x, v: x * v[0] * v[1]
    assert jvp(f, (2.0, [3.0, 4.0]), (1.0, [0.0, 1.0])) == (24.0, 18.0)
    assert hvp(f, (2.0, [3.0, 4.0]), (1.0, [0.0, 1.0])) == (24.0, (3.0, [6.0, 3.0]))


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_cost_counts_every_argument_named(mode: str) -> None:
    """Two arguments of one number each cost what one list of two does."""
    by_list = jacobian_cost(lambda v: [v[0] * v[1], v[0].sin()], mode=mode)([2.0, 3.0])  # type: ignore[arg-type]
    by_args = jacobian_cost(lambda x, y: [x * y, x.sin()], argnums=(0, 1), mode=mode)(2.0, 3.0)  # type: ignore[arg-type]
    assert by_list == by_args == 6


@pytest.mark.parametrize("mode", MODES)
def test_transforms_compose(mode: str) -> None:
    rosen = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2
    point = [-1.2, 1.0]
    h = hessian(rosen)(point)
    assert jacobian(grad(rosen), mode=mode)(point) == h  # type: ignore[arg-type]
    assert jacobian(lambda v: vjp(rosen, v)[1](1.0)[0], mode=mode)(point) == h  # type: ignore[arg-type]
    assert hessian(grad(lambda x: x**4))(2.0) == 48.0  # the third derivative, 24 x
    assert grad(lambda x: hessian(lambda t: t**4)(x))(2.0) == 48.0


def test_one_value_in_two_places_is_differentiated_at_the_place_asked() -> None:
    """d/da (a b) = b, even when the outer transform passes the same Value as a and b (or as a
    and through a closure): the inner gradient is y, whose derivative in y is 1 (JAX gives 1).
    Differentiating the Value itself, wherever it appears, would give d/dy y^2 = 2y, and 2."""
    assert grad(lambda y: grad(lambda a, b: a * b)(y, y))(3.0) == 1.0
    assert grad(lambda y: grad(lambda a: a * y)(y))(3.0) == 1.0
    assert grad(lambda y: jacobian(lambda v: v[0] * v[1])([y, y])[0])(3.0) == 1.0


def test_transforms_work_under_no_grad() -> None:
    """As torch.func's: a transform records what it needs whatever the switch outside f; the
    switch is as it was afterwards, and f's own no_grad is respected."""
    from autodiff import is_grad_enabled, no_grad

    with no_grad():
        assert grad(lambda x: x * x)(3.0) == 6.0
        assert hessian(lambda x, y: x * x * y, argnums=(0, 1))(3.0, 2.0) == ((4.0, 6.0), (6.0, 0.0))
        assert not is_grad_enabled()

    def f(x: Any) -> Any:
        with no_grad():
            c = x * 2.0  # a constant for the transform
        return c * x

    assert grad(f)(3.0) == 6.0


def test_gradcheck_checks_f_of_its_positional_arguments() -> None:
    """A tuple is f's arguments; anything else is f's one argument."""
    assert gradcheck(lambda v: v[0] * v[1], [2.0, 3.0]) is True
    assert gradcheck(lambda x, y: x * y, (2.0, 3.0)) is True
    assert gradcheck(lambda v, s: [v[0] * s, v[1].sin()], ([1.0, 2.0], 3.0)) is True
    assert gradcheck(lambda w: w[0][0] * w[1][1] - w[0][1] * w[1][0], [[1.0, 2.0], [3.0, 4.0]]) is True
    assert gradcheck(lambda t: t.exp(), 0.5) is True
    assert gradgradcheck(lambda x, y: (x * y).sin(), (0.5, 1.5)) is True
    assert gradgradcheck(lambda v, s: [v[0] * s * s, v[1].exp() * s], ([1.0, 2.0], 3.0)) is True


def test_gradcheck_checks_every_argument() -> None:
    """The wrong rule sits in the second argument: inputs are numbered through the arguments in
    order (v0, v1, s), so the miss is at input 2, in both modes."""
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda v, s: v[0] * v[1] + apply(WRONG_SQUARE, s), ([1.0, 2.0], 3.0))
    assert [(m, j, i) for m, j, i, *_ in _table_rows(str(caught.value))] == [("rev", 0, 2), ("fwd", 0, 2)]


# --- gradients() --------------------------------------------------------------------------------


def test_gradients_touches_no_grad_and_reaches_any_node() -> None:
    x, y = Value(2.0), Value(3.0)
    z = x * y
    out = z.sin() + x
    gx, gy, gz, g_unused = gradients(out, [x, y, z, Value(1.0)])
    assert (gx, gy, gz) == (math.cos(6.0) * 3.0 + 1.0, math.cos(6.0) * 2.0, math.cos(6.0))
    assert g_unused == 0.0
    assert x.grad == y.grad == z.grad == out.grad == 0.0
    assert gradients(out, [x], grad=2.0) == [2.0 * gx]


def test_gradients_with_create_graph() -> None:
    x = Value(2.0)
    (g,) = gradients(x**3, [x], create_graph=True)
    assert isinstance(g, Value) and g.data == 12.0
    (h,) = gradients(g, [x], create_graph=True)
    assert isinstance(h, Value) and h.data == 12.0
    assert gradients(h, [x]) == [6.0]
    assert x.grad == 0.0


@pytest.mark.parametrize(
    "call",
    [lambda: gradients(1.0, []), lambda: gradients(Value(1.0), [2.0]),  # type: ignore[arg-type]
     lambda: gradients([Value(1.0)], [Value(1.0)])],  # type: ignore[arg-type]
    ids=["output-number", "input-number", "output-list"],
)
def test_gradients_needs_values(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="gradients\\(\\)"):
        call()


# --- custom rules with apply ---------------------------------------------------------------------


def _cube_partial(x: Any, out: Any) -> Any:
    return 3.0 * x * x  # arithmetic only: works on numbers (first order) and Values (higher)


CUBE = Rule("cube", "^3", lambda x: x * x * x, (_cube_partial,), "x^3;  d/dx = 3 x^2")
HYPOT = Rule(
    "hypot", "hypot", math.hypot,
    (lambda x, y, out: x / out, lambda x, y, out: y / out),
    "sqrt(x^2 + y^2);  d/dx = x / out,  d/dy = y / out",
)


def test_apply_a_custom_unary_rule_at_every_order() -> None:
    x = Value(1.5)
    out = apply(CUBE, x)
    assert out.op is CUBE and out.inputs == (x,) and out.data == 3.375
    out.backward()
    assert x.grad == 6.75
    assert grad(lambda t: apply(CUBE, t))(1.5) == 6.75
    assert grad(grad(lambda t: apply(CUBE, t)))(1.5) == 9.0
    assert grad(grad(grad(lambda t: apply(CUBE, t))))(1.5) == 6.0
    assert jacobian(lambda v: [apply(CUBE, v[0])], mode="fwd")([1.5]) == [[6.75]]
    assert gradcheck(lambda v: apply(CUBE, v[0]), [1.5]) is True
    assert gradgradcheck(lambda v: apply(CUBE, v[0]), [1.5]) is True


def test_apply_a_custom_binary_rule_with_constants() -> None:
    x, y = Value(3.0), Value(4.0)
    out = apply(HYPOT, x, y)
    assert out.data == 5.0
    assert gradients(out, [x, y]) == [0.6, 0.8]
    assert gradients(apply(HYPOT, 3.0, y), [y]) == [0.8]
    assert gradients(apply(HYPOT, x, 4.0), [x]) == [0.6]
    assert gradcheck(lambda v: apply(HYPOT, v[0], v[1]), [3.0, 4.0]) is True
    assert gradgradcheck(lambda v: apply(HYPOT, v[0], v[1]), [3.0, 4.0]) is True
    # Hessian of the norm: (I - u u^T) / r with u = (0.6, 0.8), r = 5
    assert_matrix_close(hessian(lambda v: apply(HYPOT, v[0], v[1]))([3.0, 4.0]),
                        [[0.64 / 5, -0.48 / 5], [-0.48 / 5, 0.36 / 5]], rel=1e-15)


@pytest.mark.parametrize(
    "args", [(), (Value(1.0), Value(2.0))], ids=["too-few", "too-many"]
)
def test_apply_checks_the_number_of_inputs(args: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match="cube"):
        apply(CUBE, *args)


def test_apply_needs_a_value() -> None:
    with pytest.raises(TypeError):
        apply(CUBE, 2.0)
    with pytest.raises(TypeError):
        apply(HYPOT, 2.0, 3.0)


# --- gradcheck and gradgradcheck ------------------------------------------------------------

WRONG_SQUARE = Rule("wrong_square", "^2", lambda x: x * x, (lambda x, out: 3.0 * x,), "x^2, slope 3x (wrong)")


def _table_rows(message: str) -> list[tuple[str, int, int, float, float, float]]:
    rows = []
    for line in message.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0] in MODES:
            mode, output, input_, *numbers = parts
            rows.append((mode, int(output), int(input_), *map(float, numbers)))  # type: ignore[arg-type]
    return rows


def test_gradcheck_passes_correct_derivatives() -> None:
    assert gradcheck(_f, [0.5, 2.0, -1.5]) is True
    assert gradcheck(_layer(W1, B1), X) is True
    assert gradgradcheck(_f, [0.5, 2.0, -1.5]) is True
    assert gradgradcheck(lambda v: (v[0] * v[1]).tanh() + v[1].log(), [0.3, 1.7]) is True


def test_gradcheck_catches_a_wrong_partial_and_tables_it() -> None:
    """Output 1 reads input 1 through the wrong rule: d/dy y^2 at y = 2 is 4, the rule says 6.
    The table names (mode, output, input) and both numbers, for both modes, and no other
    entry (the correct ones are not listed)."""
    f = lambda v: [v[0] * v[1], apply(WRONG_SQUARE, v[1])]
    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, [1.5, 2.0])
    message = str(caught.value)
    assert "2 place(s)" in message
    assert "analytic" in message and "numeric" in message and "difference" in message
    rows = _table_rows(message)
    assert [(m, j, i) for m, j, i, *_ in rows] == [("rev", 1, 1), ("fwd", 1, 1)]
    for _, _, _, analytic, numeric, difference in rows:
        assert analytic == 6.0
        assert numeric == pytest.approx(4.0, rel=1e-8)
        assert difference == pytest.approx(2.0, rel=1e-6)


def test_gradcheck_reports_every_mismatch() -> None:
    f = lambda v: [apply(WRONG_SQUARE, v[0]), apply(WRONG_SQUARE, v[1]) + v[0]]
    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, [1.0, -3.0])
    rows = _table_rows(str(caught.value))
    places = sorted((m, j, i) for m, j, i, *_ in rows)
    assert places == [("fwd", 0, 0), ("fwd", 1, 1), ("rev", 0, 0), ("rev", 1, 1)]
    by_place = {(m, j, i): (a, n) for m, j, i, a, n, _ in rows}
    assert by_place["rev", 0, 0][0] == 3.0 and by_place["rev", 0, 0][1] == pytest.approx(2.0, rel=1e-8)
    assert by_place["rev", 1, 1][0] == -9.0 and by_place["rev", 1, 1][1] == pytest.approx(-6.0, rel=1e-8)


# A cosine whose own slope has the wrong sign (+sin instead of -sin) on Values; and a sine whose
# slope is cos: right as a number (math.cos), but on Values built from that wrong cosine. First
# derivatives are right everywhere; second derivatives of the sine have the wrong sign.
WRONG_COS = Rule(
    "wrong_cos", "cos", math.cos,
    (lambda x, out: math.sin(x) if isinstance(x, (int, float)) else x.sin(),),
    "cos x;  slope +sin x (wrong sign)",
)
SINE = Rule(
    "sine", "sin", math.sin,
    (lambda x, out: math.cos(x) if isinstance(x, (int, float)) else apply(WRONG_COS, x),),
    "sin x;  slope cos x, on Values through wrong_cos",
)


def test_gradgradcheck_catches_a_wrong_second_derivative_only() -> None:
    f = lambda v: apply(SINE, v[0]) * v[1]
    point = [0.7, 1.3]
    assert gradcheck(f, point) is True  # the first derivative is right
    assert grad(lambda x: apply(SINE, x))(0.7) == math.cos(0.7)
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(f, point)
    message = str(caught.value)
    assert message.startswith("second derivatives disagree")
    rows = _table_rows(message)
    # d^2/dx0^2 = -sin(x0) x1 is wrong (sign flipped), reverse over reverse and forward over
    # reverse alike; the mixed partials cos(x0) are right
    assert [(m, j, i) for m, j, i, *_ in rows] == [("rev", 0, 0), ("fwd", 0, 0)]
    for _, _, _, analytic, numeric, _ in rows:
        assert analytic == pytest.approx(math.sin(0.7) * 1.3, rel=1e-8)
        assert numeric == pytest.approx(-math.sin(0.7) * 1.3, rel=1e-6)


def test_gradcheck_tolerances_are_used() -> None:
    """A small error passes a loose check and fails a tight one."""
    slightly = Rule("slightly", "s", lambda x: x * x, (lambda x, out: 2.0 * x * (1 + 1e-6),), "x^2, off 1e-6")
    f = lambda v: apply(slightly, v[0])
    assert gradcheck(f, [1.0], atol=1e-5, rtol=1e-4) is True
    with pytest.raises(GradcheckError):
        gradcheck(f, [1.0], atol=1e-9, rtol=1e-9)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [lambda: grad(lambda x: [x, x])(1.0), lambda: value_and_grad(lambda x: (x, x))(1.0),
     lambda: hessian(lambda v: [v[0], v[1]])([1.0, 2.0]), lambda: hvp(lambda v: [v[0]], ([1.0],), ([1.0],))],
    ids=["grad", "value_and_grad", "hessian", "hvp"],
)
def test_scalar_transforms_of_a_list_valued_function_point_to_jacobian(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="jacobian"):
        call()


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: vjp(lambda v: [v[0], v[1]], [1.0, 2.0])[1]([1.0]), "vjp() cotangent"),
        (lambda: vjp(lambda v: v[0], [1.0, 2.0])[1]([1.0, 1.0]), "vjp() cotangent"),
        (lambda: jvp(lambda v: v[0], ([1.0, 2.0],), ([1.0],)), "jvp() tangents[0]"),
        (lambda: jvp(lambda x, y: x * y, (1.0, [2.0]), (1.0, 1.0)), "jvp() tangents[1]"),
        (lambda: hvp(lambda v: v[0], ([1.0, 2.0],), ([1.0, 2.0, 3.0],)), "hvp() tangents[0]"),
    ],
    ids=["vjp-short", "vjp-long", "jvp-short", "jvp-nested", "hvp-long"],
)
def test_a_tangent_or_cotangent_of_the_wrong_structure(call, where: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=re.escape(where) + " must have the structure of"):
        call()


@pytest.mark.parametrize("name", ["jvp", "hvp"])
def test_jvp_and_hvp_need_one_tangent_per_primal(name: str) -> None:
    transform = {"jvp": jvp, "hvp": hvp}[name]
    with pytest.raises(ValueError, match=re.escape(f"{name}() needs one tangent per primal")):
        transform(lambda x, y: x * y, (1.0, 2.0), (1.0,))


@pytest.mark.parametrize("name", ["jvp", "hvp"])
@pytest.mark.parametrize("which", ["primals", "tangents"])
def test_jvp_and_hvp_take_tuples(name: str, which: str) -> None:
    """A list would be ambiguous (one vector argument, or several arguments?): the primals and
    tangents are tuples with one entry per argument, as in JAX's examples."""
    transform = {"jvp": jvp, "hvp": hvp}[name]
    primals, tangents = ([1.0, 2.0], [1.0, 0.0]) if which == "primals" else (([1.0, 2.0],), [[1.0, 0.0]])
    with pytest.raises(TypeError, match=re.escape(f"{name}() {which} must be a tuple")):
        transform(lambda v: v[0] * v[1], primals, tangents)


@pytest.mark.parametrize("argnums", [2, -3, (0, 5), (), (0, 0), (1, -1)])
def test_argnums_out_of_range_or_repeated(argnums: Any) -> None:
    with pytest.raises(ValueError, match="argnums"):
        grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)


@pytest.mark.parametrize("argnums", [1.0, True, [0], [0, 1], "0", None, (0, 1.0), (False,)])
@pytest.mark.parametrize("name", ["grad", "value_and_grad", "jacobian", "jacobian_cost", "hessian"])
def test_argnums_of_the_wrong_type_is_refused_when_the_transform_is_made(name: str, argnums: Any) -> None:
    transform = {"grad": grad, "value_and_grad": value_and_grad, "jacobian": jacobian,
                 "jacobian_cost": jacobian_cost, "hessian": hessian}[name]
    with pytest.raises(TypeError, match=re.escape(f"{name}() argnums must be an int or a tuple of ints")):
        transform(lambda x, y: x * y, argnums=argnums)


def test_a_mode_given_in_the_place_of_argnums_says_so() -> None:
    with pytest.raises(TypeError, match=re.escape("pass the mode by name: mode='fwd'")):
        jacobian_cost(lambda v: v, "fwd")  # type: ignore[arg-type]


def test_numpy_integers_are_argnums() -> None:
    np = pytest.importorskip("numpy")
    assert grad(lambda x, y: x * y, argnums=np.int64(1))(2.0, 3.0) == 2.0
    assert grad(lambda x, y: x * y, argnums=(np.int32(0), 1))(2.0, 3.0) == (3.0, 2.0)


def test_an_error_names_the_place_in_a_nested_argument() -> None:
    with pytest.raises(TypeError, match=re.escape("grad() argument 1[0][2] must be a number or a Value")):
        grad(lambda x, m: x, argnums=1)(1.0, [[1.0, 2.0, "three"]])


def test_arguments_not_differentiated_pass_through_untouched() -> None:
    """Only the arguments named by argnums must be numbers: others (a flag, a string, a dict)
    reach f as they are, as in JAX."""
    def f(x: Any, how: str, table: dict[str, float]) -> Any:
        return x * table[how]

    assert grad(f)(2.0, "double", {"double": 2.0}) == 2.0


def test_f_must_return_numbers_or_values() -> None:
    with pytest.raises(TypeError, match=re.escape("grad() f's result must be a number or a Value")):
        grad(lambda x: "x")(1.0)
    with pytest.raises(TypeError, match=re.escape("jacobian() f's result[1] must be a number or a Value")):
        jacobian(lambda v: [v[0], None])([1.0])
    with pytest.raises(TypeError, match=re.escape("grad() f's result must be a number or a Value")):
        grad(lambda x: True)(1.0)


def test_f_must_be_a_function() -> None:
    for transform in (grad, value_and_grad, jacobian, jacobian_cost, hessian):
        with pytest.raises(TypeError, match=re.escape(f"{transform.__name__}() needs a function f")):
            transform(3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("vjp() needs a function f")):
        vjp(3.0, 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["forward", "reverse", "", None, 1])
def test_unknown_mode(mode: Any) -> None:
    with pytest.raises(ValueError, match="mode"):
        jacobian(lambda v: v, mode=mode)([1.0])
    with pytest.raises(ValueError, match="mode"):
        jacobian_cost(lambda v: v, mode=mode)([1.0])


# --- optional cross-checks: HIPS autograd and PyTorch ---------------------------------------


def _generic(F: Any, x: Any) -> list[Any]:
    """One function written once for engine Values (F = helpers.ValueOps), torch and autograd."""
    a = F.sin(x[0]) * F.exp(x[1] * 0.5)
    b = F.tanh(x[0] * x[1] - x[2])
    c = F.log(x[2] * x[2] + 1.0) / (x[0] ** 2 + 2.0)
    return [a + b * c, b**3, F.sqrt(x[1] ** 2 + 1.0) * c]


def _generic_scalar(F: Any, x: Any) -> Any:
    out = _generic(F, x)
    return out[0] * out[1] + F.cos(out[2])


POINTS = ([0.4, -1.1, 0.9], [1.3, 0.2, -0.6])


def _engine():  # type: ignore[no-untyped-def]
    from helpers import ValueOps

    return (
        lambda xs: _generic(ValueOps, xs),
        lambda xs: _generic_scalar(ValueOps, xs),
    )


@pytest.mark.parametrize("point", POINTS)
def test_against_hips_autograd(point: list[float]) -> None:
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    vector, scalar = _engine()
    want_j = autograd.jacobian(lambda x: anp.stack(_generic(anp, x)))(anp.array(point))
    want_h = autograd.hessian(lambda x: _generic_scalar(anp, x))(anp.array(point))
    for mode in MODES:
        assert_matrix_close(jacobian(vector, mode=mode)(point), want_j.tolist(), rel=1e-12, abs_=1e-15)
    assert_matrix_close(hessian(scalar)(point), want_h.tolist(), rel=1e-12, abs_=1e-15)


@pytest.mark.parametrize("point", POINTS)
def test_against_hips_autograd_with_several_arguments(point: list[float]) -> None:
    """The same functions of three numbers x, y, z: Hessian and Jacobian blocks by argnums
    against autograd's derivatives in one argnum at a time (mixed ones by nesting)."""
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    from helpers import ValueOps

    def scalar(F: Any) -> Any:
        return lambda x, y, z: _generic_scalar(F, [x, y, z])

    h = hessian(scalar(ValueOps), argnums=(0, 1, 2))(*point)
    assert isinstance(h, tuple) and all(isinstance(row, tuple) for row in h)
    for i in range(3):
        for k in range(3):
            want = autograd.grad(autograd.grad(scalar(anp), i), k)(*point)
            assert h[i][k] == pytest.approx(float(want), rel=1e-12, abs=1e-15), (i, k)
    vector = lambda F: lambda x, y, z: _generic(F, [x, y, z])
    for mode in MODES:
        got = jacobian(vector(ValueOps), argnums=(0, 1, 2), mode=mode)(*point)  # type: ignore[arg-type]
        for argnum in range(3):
            want = autograd.jacobian(lambda *xs: anp.stack(vector(anp)(*xs)), argnum)(*point)
            assert [entry[argnum] for entry in got] == pytest.approx(want.tolist(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("point", POINTS)
def test_against_pytorch(point: list[float]) -> None:
    torch = pytest.importorskip("torch")
    from torch.autograd.functional import hessian as t_hessian
    from torch.autograd.functional import jacobian as t_jacobian

    vector, scalar = _engine()
    x = torch.tensor(point, dtype=torch.float64)
    want_j = t_jacobian(lambda t: torch.stack(_generic(torch, t)), x)
    want_h = t_hessian(lambda t: _generic_scalar(torch, t), x)
    for mode in MODES:
        assert_matrix_close(jacobian(vector, mode=mode)(point), want_j.tolist(), rel=1e-12, abs_=1e-15)
    assert_matrix_close(hessian(scalar)(point), want_h.tolist(), rel=1e-12, abs_=1e-15)
    v = [0.5, -1.0, 2.0]
    direction = torch.tensor(v, dtype=torch.float64)
    want_hv = torch.autograd.functional.hvp(lambda t: _generic_scalar(torch, t), x, direction)[1]
    (hv,) = hvp(scalar, (point,), (v,))[1]
    assert hv == pytest.approx(want_hv.tolist(), rel=1e-12, abs=1e-15)


# --- nesting through closures, and small API promises ------------------------------------------


def test_an_inner_transform_sees_the_outer_variable_through_a_closure() -> None:
    """d/dy [d/dx (x y)] = 1: the inner grad is called with a number, but its function closes
    over the outer transform's Value, so its result must stay differentiable."""
    assert grad(lambda y: grad(lambda x: x * y)(3.0))(2.0) == 1.0
    assert grad(lambda y: grad(lambda x: x * x * y)(3.0))(2.0) == 6.0


def test_constant_gradients_from_create_graph_are_values() -> None:
    x = Value(2.0)
    (x * 3.0).backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 3.0
    x.grad.backward()  # a constant: a leaf with nothing below it, no error


def test_apply_dispatches_the_vector_rule() -> None:
    from autodiff import RULES, apply

    w = [Value(1.0), Value(2.0)]
    out = apply(RULES["dot"], w, [3.0, 4.0])
    assert out.data == 11.0 and out.op is RULES["dot"]


def test_local_derivatives_line_up_with_inputs() -> None:
    from autodiff import dot

    a, b = Value(2.0), Value(5.0)
    assert (a * b).local_derivatives() == [5.0, 2.0]
    assert (a * 3.0).local_derivatives() == [3.0, None]
    assert dot([a, 7.0], [b, 1.0]).local_derivatives() == [5.0, None, 2.0, None]
    assert a.local_derivatives() == []


@pytest.mark.parametrize("factory", [jacobian, jacobian_cost])
def test_an_unknown_mode_is_refused_when_the_transform_is_made(factory: Any) -> None:
    with pytest.raises(ValueError, match="'rev' or 'fwd'"):
        factory(lambda v: v, mode="sideways")


def test_a_zero_derivative_is_never_negative_zero() -> None:
    """d sin(x0) / d x1 = cos(x0) * 0 comes out -0.0 in floats where cos(x0) < 0; a printed
    Jacobian says 0.0 (issue 13: never print -0)."""
    g = lambda v: [v[0] * v[1], v[0].sin()]
    for mode in ("fwd", "rev"):
        entry = jacobian(g, mode=mode)([2.0, 3.0])[1][1]
        assert entry == 0.0 and math.copysign(1.0, entry) == 1.0
    assert str(hessian(lambda x, y: -x * y, argnums=(0, 1))(0.0, 0.0)).count("-0.0") == 0
