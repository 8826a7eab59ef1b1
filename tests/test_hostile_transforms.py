"""Hostile input to the function transforms (issue 14): NaN and infinities returned by ``f``,
numpy scalars of every dtype, bools, huge ints, strings and None as arguments, tangents and
cotangents, bad ``argnums`` and bad gradcheck settings.

The standard: the right answer, or a TypeError / ValueError / DomainError whose message names
the transform; never a silent NaN, never a bare error from deeper code. A hypothesis fuzz
feeds odd values to every transform and checks the answer exactly against the closed form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from autodiff import (
    DomainError,
    GradcheckError,
    Value,
    grad,
    gradcheck,
    gradgradcheck,
    hessian,
    hvp,
    jacobian,
    jacobian_cost,
    jvp,
    value_and_grad,
    vjp,
)

CLEAR_ERRORS = (TypeError, ValueError, DomainError)

# --- every transform, called on f and one argument x -------------------------------------------

Call = Callable[[Callable[..., Any], Any], Any]

TRANSFORMS: dict[str, Call] = {
    "grad": lambda f, x: grad(f)(x),
    "value_and_grad": lambda f, x: value_and_grad(f)(x),
    "jacobian": lambda f, x: jacobian(f)(x),
    "jacobian-fwd": lambda f, x: jacobian(f, mode="fwd")(x),
    "jacobian_cost": lambda f, x: jacobian_cost(f)(x),
    "jacobian_cost-fwd": lambda f, x: jacobian_cost(f, mode="fwd")(x),
    "hessian": lambda f, x: hessian(f)(x),
    "jvp": lambda f, x: jvp(f, (x,), (_ones_like(x),)),
    "vjp": lambda f, x: _vjp_once(f, x),
    "hvp": lambda f, x: hvp(f, (x,), (_ones_like(x),)),
    "gradcheck": lambda f, x: gradcheck(f, (x,)),  # a tuple is f's arguments: x is the one
    "gradgradcheck": lambda f, x: gradgradcheck(f, (x,)),
}


def _name(key: str) -> str:
    """The function a message must name: ``jacobian-fwd`` is ``jacobian()``."""
    return key.split("-")[0] + "()"


def _vjp_once(f: Callable[..., Any], x: Any) -> Any:
    """vjp, and its function called once, with ones shaped like f's result."""
    out, vjp_f = vjp(f, x)
    return out, vjp_f(_ones_like(out))


def _ones_like(x: Any) -> Any:
    """A tangent of x's structure, all ones (x itself where it is no list: a bad x stays bad)."""
    if isinstance(x, (list, tuple)):
        return type(x)(_ones_like(t) for t in x)
    return 1.0 if isinstance(x, (int, float, np.number, Value)) and not isinstance(x, bool) else x


def _numbers(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [leaf for t in x for leaf in _numbers(t)]
    return [x]


def _shaped(x: Any, values: Any) -> Any:
    """``x``'s structure filled with the next items of the iterator ``values``."""
    if isinstance(x, (list, tuple)):
        return type(x)(_shaped(t, values) for t in x)
    return next(values)


def _sum_of_sines(x: Any) -> Any:
    """f(x) = sum of sin over the numbers of x: finite for every finite x (no overflow), with
    gradient cos and a diagonal Hessian -sin, known in closed form."""
    return sum((leaf.sin() for leaf in _numbers(x)), 0.0)


def _expected(key: str, x: Any) -> Any:
    """What transform ``key`` must give for ``_sum_of_sines`` at a valid x, from math alone."""
    xs = [float(leaf) for leaf in _numbers(x)]
    value = math.fsum(math.sin(t) for t in xs) if xs else 0.0
    gradient = _shaped(x, iter([math.cos(t) for t in xs]))
    n = len(xs)
    if key in ("grad", "jacobian", "jacobian-fwd"):
        return gradient
    if key == "value_and_grad":
        return value, gradient
    if key == "hessian":
        rows = [[-math.sin(t) if k == i else 0.0 for k in range(n)] for i, t in enumerate(xs)]
        return _shaped(x, iter([_shaped(x, iter(row)) for row in rows]))
    if key == "jvp":
        return value, math.fsum(math.cos(t) for t in xs)
    if key == "vjp":
        return value, (gradient,)
    if key == "hvp":
        return value, (_shaped(x, iter([-math.sin(t) for t in xs])),)
    raise AssertionError(key)


def _close(got: Any, want: Any) -> bool:
    """Equal structure (type of every container too) and equal numbers, to a few ulps (sums
    may be added in another order), every number a finite float."""
    if isinstance(want, (list, tuple)):
        return type(got) is type(want) and len(got) == len(want) and all(map(_close, got, want))
    return type(got) is float and math.isfinite(got) and math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)


def _assert_clear(error: BaseException, name: str) -> None:
    assert isinstance(error, CLEAR_ERRORS), f"{type(error).__name__}: {error}"
    assert name in str(error), f"the message does not name {name}: {error}"


# --- NaN and infinities returned by f ------------------------------------------------------------

NON_FINITE = [
    pytest.param(float("nan"), id="nan"),
    pytest.param(float("inf"), id="inf"),
    pytest.param(-float("inf"), id="-inf"),
    pytest.param(np.float32("nan"), id="float32-nan"),
    pytest.param(np.float64("inf"), id="float64-inf"),
    pytest.param(np.float16("-inf"), id="float16-inf"),
    pytest.param(10**5000, id="huge-int"),
    pytest.param(-(10**400), id="huge-negative-int"),
]


@pytest.mark.parametrize("result", NON_FINITE)
@pytest.mark.parametrize("key", sorted(TRANSFORMS))
def test_a_non_finite_result_of_f_is_a_domain_error_naming_the_transform(key: str, result: Any) -> None:
    with pytest.raises(DomainError, match=re.escape(_name(key)) + " f's result") as caught:
        TRANSFORMS[key](lambda x: result, 1.0)
    assert "digits" in str(caught.value) or "nan" in str(caught.value) or "inf" in str(caught.value)


@pytest.mark.parametrize("key", ["jacobian", "jacobian-fwd", "jacobian_cost", "jvp", "vjp"])
def test_a_non_finite_entry_deep_in_a_result_is_named_by_its_place(key: str) -> None:
    f = lambda x: [x * 2.0, [x, float("nan")]]
    call = TRANSFORMS[key] if key != "vjp" else (lambda f, x: vjp(f, x))
    message = f"{_name(key)} f's result[1][1] must be finite, got float nan"
    with pytest.raises(DomainError, match=re.escape(message)):
        call(f, 1.0)


def test_a_huge_int_in_a_message_is_shortened() -> None:
    with pytest.raises(DomainError) as caught:
        grad(lambda x: 10**5000)(1.0)
    assert "an int of 5001 digits" in str(caught.value)
    assert len(str(caught.value)) < 200


# --- numpy scalars of every dtype -------------------------------------------------------------

REAL_DTYPES = [np.float16, np.float32, np.float64, np.longdouble, np.int8, np.int16, np.int32, np.int64,
               np.uint8, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("dtype", REAL_DTYPES, ids=lambda d: d.__name__)
def test_f_may_return_any_numpy_real_scalar(dtype: Any) -> None:
    """A constant result: the value as a float, a zero gradient."""
    value, gradient = value_and_grad(lambda x: dtype(3))(1.0)
    assert (value, gradient) == (3.0, 0.0)
    assert type(value) is float and type(gradient) is float
    assert jacobian(lambda x: [dtype(2), x * 2.0])(1.0) == [0.0, 2.0]
    assert jvp(lambda x: dtype(5), (1.0,), (1.0,)) == (5.0, 0.0)


@pytest.mark.parametrize("dtype", REAL_DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("key", sorted(TRANSFORMS))
def test_numpy_scalars_are_arguments(key: str, dtype: Any) -> None:
    """At x = dtype(2) (2 exactly in every dtype) each transform gives what it gives at 2.0."""
    x = dtype(2)
    got = TRANSFORMS[key](_sum_of_sines, x)
    if key.startswith("jacobian_cost"):
        assert got == TRANSFORMS[key](_sum_of_sines, 2.0)
    elif key.endswith("check"):
        assert got is True
    else:
        assert _close(got, _expected(key, 2.0)), (got, _expected(key, 2.0))


def test_numpy_scalars_in_tangents_and_cotangents() -> None:
    f = lambda x: x * x
    assert jvp(f, (np.float32(3.0),), (np.float16(0.5),)) == (9.0, 3.0)
    assert vjp(f, np.int64(3))[1](np.float32(2.0)) == (12.0,)
    assert hvp(f, (np.uint8(3),), (np.float64(2.0),)) == (9.0, (4.0,))


# --- odd arguments, tangents, cotangents -------------------------------------------------------

BAD_ARGUMENTS = [
    pytest.param(True, TypeError, "got bool True", id="bool"),
    pytest.param(np.bool_(False), TypeError, "got bool", id="numpy-bool"),
    pytest.param("2.0", TypeError, "got str '2.0'", id="str"),
    pytest.param(None, TypeError, "got NoneType None", id="None"),
    pytest.param(1j, TypeError, "got complex 1j", id="complex"),
    pytest.param(np.complex64(1), TypeError, "got complex64", id="numpy-complex"),
    pytest.param({1.0: 2.0}, TypeError, "got dict", id="dict"),
    pytest.param(np.array([1.0, 2.0]), TypeError, "pass .tolist()", id="array"),
    pytest.param(float("nan"), DomainError, "must be finite, got float nan", id="nan"),
    pytest.param(-float("inf"), DomainError, "must be finite, got float -inf", id="-inf"),
    pytest.param(np.float32("inf"), DomainError, "must be finite", id="float32-inf"),
    pytest.param(np.longdouble("1e4000"), DomainError, "must be finite", id="longdouble-overflow"),
    pytest.param(10**5000, DomainError, "a float can hold, got int an int of 5001 digits",
                 id="huge-int"),
    pytest.param([1.0, [2.0, "x"]], TypeError, "argument 0[1][1] must be a number", id="nested-str"),
    pytest.param((1.0, float("nan")), DomainError, "argument 0[1] must be finite", id="nested-nan"),
]


@pytest.mark.parametrize(("x", "error", "says"), BAD_ARGUMENTS)
@pytest.mark.parametrize("key", sorted(TRANSFORMS))
def test_a_bad_argument_is_a_clear_error_naming_the_transform(
    key: str, x: Any, error: type, says: str
) -> None:
    with pytest.raises(error, match=re.escape(_name(key))) as caught:
        TRANSFORMS[key](_sum_of_sines, x)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("key", "call"),
    [
        ("jvp", lambda t: jvp(_sum_of_sines, (1.0,), (t,))),
        ("hvp", lambda t: hvp(_sum_of_sines, (1.0,), (t,))),
        ("vjp", lambda t: vjp(_sum_of_sines, 1.0)[1](t)),
    ],
)
@pytest.mark.parametrize(("t", "error", "says"), BAD_ARGUMENTS[:-2])
def test_a_bad_tangent_or_cotangent_is_a_clear_error(
    key: str, call: Any, t: Any, error: type, says: str
) -> None:
    where = f"{key}() " + ("cotangent" if key == "vjp" else "tangents[0]")
    with pytest.raises(error, match=re.escape(where)) as caught:
        call(t)
    assert says in str(caught.value)


def test_a_list_too_deep_or_holding_itself_is_a_value_error() -> None:
    deep: Any = 1.0
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match=re.escape("grad() argument 0") + r".* more than \d+ lists deep"):
        grad(_sum_of_sines)(deep)
    itself: list[Any] = [1.0]
    itself.append(itself)
    with pytest.raises(ValueError, match=re.escape("jacobian() argument 0")):
        jacobian(_sum_of_sines)(itself)
    with pytest.raises(ValueError, match=re.escape("grad() f's result")):
        grad(lambda x: itself)(1.0)


def test_an_overflow_in_a_sweep_names_the_transform() -> None:
    """Finite values, infinite derivatives: 2e308 overflows as a gradient (reverse) and as a
    tangent (forward), though every value is finite."""
    f = lambda x: x * 1e308 + x * 1e308  # f(1e-10) = 2e298, f' = 2e308 = inf
    for key in ("grad", "jacobian", "jacobian-fwd", "value_and_grad", "vjp", "jvp"):
        with pytest.raises(DomainError, match="^" + re.escape(_name(key))):
            TRANSFORMS[key](f, 1e-10)


def test_an_error_leaves_the_values_of_a_closure_as_they_were() -> None:
    w = Value(2.0)
    with pytest.raises(DomainError):
        grad(lambda x: [x * w, float("nan")][1])(1.0)
    with pytest.raises(DomainError):
        grad(lambda x: x * 1e308 * w + x * 1e308 * w)(1e-10)
    assert w.grad == 0.0 and w.is_leaf


# --- gradcheck settings ------------------------------------------------------------------------

BAD_SETTINGS = [
    ("eps", 0, ValueError), ("eps", 0.0, ValueError), ("eps", -1e-6, ValueError),
    ("eps", float("nan"), ValueError), ("eps", float("inf"), ValueError), ("eps", 10**5000, ValueError),
    ("eps", "1e-6", TypeError),
    ("eps", None, TypeError), ("eps", True, TypeError),
    ("atol", float("nan"), ValueError), ("atol", -1.0, ValueError), ("atol", float("inf"), ValueError),
    ("atol", [1e-5], TypeError),
    ("rtol", float("inf"), ValueError), ("rtol", float("nan"), ValueError), ("rtol", -1e-4, ValueError),
    ("rtol", np.float32("nan"), ValueError), ("rtol", 1j, TypeError),
]


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
@pytest.mark.parametrize(("setting", "value", "error"), BAD_SETTINGS,
                         ids=[f"{setting}-{k}" for k, (setting, _, _) in enumerate(BAD_SETTINGS)])
def test_bad_gradcheck_settings_are_refused_naming_the_setting(check: Any, setting: str, value: Any,
                                                               error: type) -> None:
    with pytest.raises(error, match=re.escape(f"{check.__name__}() {setting} must be a")):
        check(_sum_of_sines, [1.0, 2.0], **{setting: value})


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
def test_zero_tolerances_and_numpy_settings_are_accepted(check: Any) -> None:
    """atol = 0 or rtol = 0 alone is a legitimate (strict) check; a numpy number is a number."""
    assert check(lambda x: x * 3.0, 1.0, atol=0.0, rtol=1e-6) is True
    assert check(lambda x: x * x * x, 1.0, eps=np.float32(1e-3), atol=np.float64(1e-4), rtol=0) is True


def test_gradcheck_needs_an_argument() -> None:
    with pytest.raises(ValueError, match=re.escape("gradcheck() needs at least one argument")):
        gradcheck(lambda: 1.0, ())


# --- the fuzz: odd values everywhere, the right answer or a clear error -------------------------

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _numpy_scalar(dtype: Any, x: float) -> Any:
    with np.errstate(over="ignore"):  # 1e300 as a float16 is inf: one more odd input
        return dtype(x)


numpy_scalars = st.builds(
    _numpy_scalar, st.sampled_from([np.float16, np.float32, np.float64, np.longdouble]), finite
) | st.builds(_numpy_scalar, st.sampled_from([np.int8, np.int16, np.int32, np.int64]), st.integers(-100, 100))
odd_leaves = st.one_of(
    finite,
    st.floats(),  # nan and the infinities too
    st.integers(-(10**20), 10**20),
    st.sampled_from([5000, -400, 308, 309]).map(lambda k: 10 ** abs(k) * (1 if k > 0 else -1)),
    st.booleans(),
    numpy_scalars,
    st.sampled_from([np.bool_(True), np.float32("nan"), np.complex128(1.0), 1j, None, "1.0", b"1", {}]),
)
odd_arguments = st.recursive(odd_leaves, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
                             max_leaves=6)


def _valid(x: Any) -> bool:
    """Does x hold only finite real numbers (no bools) a float can hold, in lists and tuples?"""
    if isinstance(x, (list, tuple)):
        return all(_valid(t) for t in x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


@FUZZ
@given(x=odd_arguments)
@pytest.mark.parametrize("key", sorted(TRANSFORMS))
def test_fuzz_every_transform_with_odd_arguments(key: str, x: Any) -> None:
    try:
        got = TRANSFORMS[key](_sum_of_sines, x)
    except GradcheckError:
        # central differences cannot resolve a step of eps at a huge |x| (x + eps == x)
        assert key.endswith("check") and _valid(x)
        assert max(abs(float(t)) for t in _numbers(x)) > 1e6
        return
    except Exception as error:  # the point: which error, and what it says
        assert not _valid(x), f"{key} refused a valid argument {x!r}: {error!r}"
        _assert_clear(error, _name(key))
        event(f"refused with a {type(error).__name__}")
        return
    assert _valid(x), f"{key} accepted {x!r}"
    event("answered")
    if key.startswith("jacobian_cost"):
        assert isinstance(got, int) and got >= 0
    elif key.endswith("check"):
        assert got is True
    else:
        assert _close(got, _expected(key, x)), (got, _expected(key, x))


@FUZZ
@given(result=odd_arguments)
@pytest.mark.parametrize("key", sorted(TRANSFORMS))
def test_fuzz_every_transform_with_odd_results_of_f(key: str, result: Any) -> None:
    """f returns an odd constant: accepted (with zero derivatives) exactly when it is finite
    numbers; a list only where the transform takes several outputs."""
    scalar_only = key in ("grad", "value_and_grad", "hessian", "hvp")
    try:
        got = TRANSFORMS[key](lambda x: result, 1.5)
    except Exception as error:
        assert not _valid(result) or (scalar_only and isinstance(result, (list, tuple))), (
            f"{key} refused f's valid result {result!r}: {error!r}"
        )
        _assert_clear(error, _name(key))
        return
    assert _valid(result), f"{key} accepted f's result {result!r}"
    zeros = _shaped(result, iter([0.0] * len(_numbers(result))))
    value = _shaped(result, iter([float(t) for t in _numbers(result)]))
    want = {
        "grad": 0.0, "value_and_grad": (value, 0.0), "jacobian": zeros, "jacobian-fwd": zeros,
        "hessian": 0.0, "jvp": (value, zeros), "vjp": (value, (0.0,)), "hvp": (value, (0.0,)),
    }
    if key.startswith("jacobian_cost"):
        assert got == 0
    elif key.endswith("check"):
        assert got is True
    else:
        assert _close(got, want[key]), (got, want[key])


argnums_strategy = st.one_of(
    st.integers(-5, 5),
    st.tuples(st.integers(-4, 4)) | st.tuples(st.integers(-4, 4), st.integers(-4, 4)),
    st.sampled_from([1.0, True, False, None, "0", "rev", [0], [0, 1], (), (0, 0), (1, 1.0), (np.int64(1),),
                     np.int32(2), np.bool_(True)]),
    st.sampled_from([5000, 400]).map(lambda k: 10**k),
    st.sampled_from([5000, 400]).map(lambda k: (0, 10**k)),
)


@FUZZ
@given(argnums=argnums_strategy)
@pytest.mark.parametrize("name", ["grad", "value_and_grad", "jacobian", "jacobian_cost", "hessian"])
def test_fuzz_argnums(name: str, argnums: Any) -> None:
    """f(x, y, z) = x y^2 z^3 at (1, 2, 3): the gradient is (108, 108, 108)... or a clear error
    whose message says argnums, for anything but an int or a tuple of distinct ints in range."""
    transform = {"grad": grad, "value_and_grad": value_and_grad, "jacobian": jacobian,
                 "jacobian_cost": jacobian_cost, "hessian": hessian}[name]
    f = lambda x, y, z: x * y**2 * z**3
    try:
        got = transform(f, argnums=argnums)(1.0, 2.0, 3.0)
    except (TypeError, ValueError) as error:
        assert "argnums" in str(error) and f"{name}()" in str(error), error
        positions = argnums if isinstance(argnums, tuple) else (argnums,)
        valid = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in positions)
        assert not (valid and positions and len({int(i) % 3 for i in positions}) == len(positions)
                    and all(-3 <= i < 3 for i in positions)), f"refused {argnums!r}: {error}"
        return
    single = not isinstance(argnums, tuple)
    positions = [int(i) % 3 for i in ((argnums,) if single else argnums)]
    first = {0: 108.0, 1: 108.0, 2: 108.0}  # x y^2 z^3 at (1, 2, 3): y^2 z^3, 2 x y z^3, 3 x y^2 z^2
    if name == "grad":
        want = [first[p] for p in positions]
        assert got == (want[0] if single else tuple(want))
    elif name == "value_and_grad":
        assert got[0] == 108.0
    elif name == "jacobian_cost":
        assert isinstance(got, int) and got > 0
    elif name == "hessian":
        second = {(0, 0): 0.0, (1, 1): 54.0, (2, 2): 72.0, (0, 1): 108.0, (0, 2): 108.0, (1, 2): 108.0}
        table = [[second[min(p, q), max(p, q)] for q in positions] for p in positions]
        assert got == (table[0][0] if single else tuple(tuple(row) for row in table))


def test_an_infinite_difference_quotient_is_a_miss_not_a_pass() -> None:
    """f(x) = 2x with eps = 8e307: f(x + eps) - f(x - eps) = 3.2e308 overflows to inf, and so
    does the quotient. A check that compared |2 - inf| <= atol + rtol * inf would pass; it must
    report the place instead, in both modes."""
    with pytest.raises(GradcheckError, match=r"2 place\(s\)") as caught:
        gradcheck(lambda x: x * 2.0, 0.0, eps=8e307)
    rows = [line.split() for line in str(caught.value).splitlines()[1:]]
    assert rows[1:] == [["rev", "0", "0", "2", "inf", "-inf"], ["fwd", "0", "0", "2", "inf", "-inf"]]


def test_gradcheck_says_when_its_step_leaves_the_domain() -> None:
    """log at 1e-7 with eps 1e-6: the difference quotient needs log(-9e-7). The error names
    gradcheck and says what to change, not only log's complaint."""
    with pytest.raises(DomainError, match=r"gradcheck\(\) evaluates f at the point moved by eps.*log\(\)"):
        gradcheck(lambda x: x.log(), (1e-7,))
    assert gradcheck(lambda x: x.log(), (1e-7,), eps=1e-9, rtol=1e-2)
