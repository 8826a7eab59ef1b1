"""``nn.losses``: each loss against values computed by hand, its gradient against finite
differences and against the derivative its docstring states, stability at logits of +-1000,
shapes (one sample, a batch, ``[score]`` against a bare label) and the errors for bad input."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial

import pytest
from helpers import central_difference

import nn
from autodiff import DomainError, Value, no_grad
from nn.losses import LOSSES, binary_cross_entropy, cross_entropy, hinge, l2, mse, softmax


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def values(xs: list[float]) -> list[Value]:
    return [Value(x) for x in xs]


def gradient(loss: Callable[[list[Value]], Value], xs: list[float]) -> list[float]:
    """d loss / d xs by backward()."""
    vs = values(xs)
    loss(vs).backward()
    return [v.grad for v in vs]


def assert_matches_finite_differences(
    loss: Callable[[list[Value]], Value], xs: list[float], rtol: float = 1e-7
) -> None:
    """backward() against a central difference (with a Richardson step) in each coordinate."""
    analytic = gradient(loss, xs)
    for i, x in enumerate(xs):

        def f(t: float, i: int = i) -> float:
            return loss(values([*xs[:i], t, *xs[i + 1 :]])).data

        estimate, noise = central_difference(f, x, 1e-3 * max(1.0, abs(x)))
        tolerance = rtol * abs(estimate) + 10 * noise + 1e-12
        assert abs(analytic[i] - estimate) <= tolerance, (i, analytic, estimate)


# --- mse -----------------------------------------------------------------------------------------


def test_mse_by_hand() -> None:
    ps = values([1.0, 2.0, 4.0])
    loss = mse(ps, [0, 1, 1])  # differences 1, 1, 3: squares 1 + 1 + 9 = 11
    assert loss.data == pytest.approx(11 / 3, rel=1e-15)
    loss.backward()
    assert [p.grad for p in ps] == pytest.approx([2 / 3, 2 / 3, 2.0], rel=1e-15)  # (2/n)(y - t)


def test_mse_half_is_the_books_cost() -> None:
    ps = values([1.0, 2.0, 4.0])
    loss = mse(ps, [0, 1, 1], half=True)  # C = 1/(2n) sum (y - t)^2
    assert loss.data == pytest.approx(11 / 6, rel=1e-15)
    loss.backward()
    assert [p.grad for p in ps] == pytest.approx([1 / 3, 1 / 3, 1.0], rel=1e-15)  # (y - t)/n


def test_mse_gradient_matches_finite_differences() -> None:
    rng = random.Random(1)
    xs = [rng.uniform(-3, 3) for _ in range(5)]
    ts = [rng.uniform(-3, 3) for _ in range(5)]
    assert_matches_finite_differences(lambda v: mse(v, ts), xs)
    assert_matches_finite_differences(lambda v: mse(v, ts, half=True), xs)


def test_mse_shapes_one_sample_batches_and_vectors() -> None:
    assert mse(Value(3.0), 1.0).data == 4.0  # one scalar sample
    assert mse([Value(3.0)], 1.0).data == 4.0  # [score] against a bare target
    assert mse(Value(3.0), [1.0]).data == 4.0
    # a batch of one-output predictions, as [model(x) for x in X] gives, against plain labels
    assert mse([[Value(3.0)], [Value(0.0)]], [1, 0]).data == 2.0
    # a batch of two-output samples: the mean over all four entries
    assert mse([[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]], [[0, 0], [0, 0]]).data == 30 / 4
    # targets may be Values (their gradient is the opposite of the prediction's)
    p, t = Value(3.0), Value(1.0)
    mse(p, t).backward()
    assert (p.grad, t.grad) == (4.0, -4.0)
    # plain-number predictions still give a Value
    assert isinstance(mse([1.0, 2.0], [1.0, 1.0]), Value)


def test_mse_refuses_to_broadcast() -> None:
    # torch would broadcast (2, 2) against (2,); here a two-entry sample against one label is an error
    with pytest.raises(ValueError, match=r"predictions\[0\] has 2 entries but targets\[0\] is a single"):
        mse([[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]], [1, 0])


# --- binary cross-entropy ----------------------------------------------------------------------


def test_bce_from_probabilities_by_hand() -> None:
    ps = values([0.8, 0.3])
    loss = binary_cross_entropy(ps, [1, 0])
    assert loss.data == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2, rel=1e-15)
    loss.backward()
    # (p - t) / (n p (1 - p))
    assert ps[0].grad == pytest.approx((0.8 - 1) / (2 * 0.8 * 0.2), rel=1e-14)
    assert ps[1].grad == pytest.approx(0.3 / (2 * 0.3 * 0.7), rel=1e-14)


def test_bce_from_probabilities_soft_targets() -> None:
    ts = [0.25, 0.9, 0.0, 1.0]
    xs = [0.4, 0.7, 0.2, 0.6]
    expected = -sum(t * math.log(p) + (1 - t) * math.log(1 - p) for p, t in zip(xs, ts)) / 4
    assert binary_cross_entropy(values(xs), ts).data == pytest.approx(expected, rel=1e-14)
    assert_matches_finite_differences(lambda v: binary_cross_entropy(v, ts), xs)
    grads = gradient(lambda v: binary_cross_entropy(v, ts), xs)
    assert grads == pytest.approx([(p - t) / (4 * p * (1 - p)) for p, t in zip(xs, ts)], rel=1e-13)


def test_bce_at_probabilities_zero_and_one_exact_or_error() -> None:
    # finite cases are exact: nothing clamped, the zero-weight term left out
    p = Value(1.0)
    loss = binary_cross_entropy(p, 1)
    loss.backward()
    assert (loss.data, p.grad) == (0.0, -1.0)
    q = Value(0.0)
    loss = binary_cross_entropy([q, Value(0.5)], [0, 1])
    loss.backward()
    assert loss.data == pytest.approx(math.log(2) / 2, rel=1e-15)
    assert q.grad == 0.5  # 1/(1 - p) / n
    # infinite cases are errors that say what to do
    for prob, target in [(1.0, 0), (0.0, 1), (1.0, 0.5), (0.0, 0.01)]:
        with pytest.raises(DomainError, match=r"infinite.*from_logits=True"):
            binary_cross_entropy(Value(prob), target)


def test_bce_refuses_non_probabilities_and_bad_targets() -> None:
    for prob in (1.2, -0.1, 3.0):
        with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*from_logits=True"):
            binary_cross_entropy(Value(prob), 1)
    for target in (1.5, -1, 2):
        with pytest.raises(ValueError, match="targets must be in \\[0, 1\\]"):
            binary_cross_entropy(Value(0.5), target)
    made = r"targets must be a number \(or a leaf Value\), got a Value made by mul"
    with pytest.raises(TypeError, match=made):
        binary_cross_entropy(Value(0.5), Value(1.0) * 1.0)
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\], got 2\.0"):
        binary_cross_entropy(Value(0.5), Value(2.0))


def test_bce_from_logits_by_hand() -> None:
    zs = values([2.0, -1.0, 0.0])
    loss = binary_cross_entropy(zs, [1, 0, 1], from_logits=True)
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-1.0)) + math.log(2)) / 3
    assert loss.data == pytest.approx(expected, rel=1e-15)
    loss.backward()
    # (sigmoid(z) - t) / n, also at z = 0 where max(z, 0) and |z| have kinks
    assert [z.grad for z in zs] == pytest.approx(
        [(_sigmoid(2.0) - 1) / 3, _sigmoid(-1.0) / 3, (0.5 - 1) / 3], rel=1e-14
    )


def test_bce_from_logits_equals_bce_of_sigmoid_and_matches_finite_differences() -> None:
    rng = random.Random(2)
    xs = [rng.uniform(-4, 4) for _ in range(6)]
    ts = [1, 0, 0.3, 1, 0, 0.75]
    logits = binary_cross_entropy(values(xs), ts, from_logits=True).data
    probabilities = binary_cross_entropy([Value(_sigmoid(x)) for x in xs], ts).data
    assert logits == pytest.approx(probabilities, rel=1e-13)
    assert_matches_finite_differences(lambda v: binary_cross_entropy(v, ts, from_logits=True), xs)
    grads = gradient(lambda v: binary_cross_entropy(v, ts, from_logits=True), xs)
    assert grads == pytest.approx([(_sigmoid(x) - t) / 6 for x, t in zip(xs, ts)], rel=1e-13)


@pytest.mark.parametrize(
    ("z", "t", "loss", "slope"),
    [(1000.0, 1, 0.0, 0.0), (1000.0, 0, 1000.0, 1.0), (-1000.0, 1, 1000.0, -1.0), (-1000.0, 0, 0.0, 0.0),
     (1000.0, 0.5, 500.0, 0.5), (-1000.0, 0.25, 250.0, -0.25)],
)
def test_bce_from_logits_is_exact_at_extreme_logits(z: float, t: float, loss: float, slope: float) -> None:
    v = Value(z)
    out = binary_cross_entropy(v, t, from_logits=True)
    out.backward()
    assert out.data == loss
    assert v.grad == slope


def test_bce_from_logits_keeps_small_losses() -> None:
    # softplus(z) - z t would round 40 + 4e-18 - 40 to 0; the form used keeps the digits
    assert binary_cross_entropy(Value(40.0), 1, from_logits=True).data == pytest.approx(
        math.exp(-40.0), rel=1e-15, abs=0.0
    )


# --- softmax and cross-entropy -----------------------------------------------------------------


def test_softmax_by_hand_and_sums_to_one() -> None:
    ps = softmax(values([1.0, 2.0, 3.0]))
    total = math.e + math.e**2 + math.e**3
    expected = [math.e / total, math.e**2 / total, math.e**3 / total]
    assert [p.data for p in ps] == pytest.approx(expected, rel=1e-15)
    rng = random.Random(3)
    for _ in range(20):
        zs = [rng.uniform(-50, 50) for _ in range(rng.randint(1, 8))]
        assert sum(p.data for p in softmax(zs)) == pytest.approx(1.0, abs=1e-15)


def test_softmax_is_stable_and_shift_invariant() -> None:
    ps = softmax(values([1000.0, -1000.0, 999.0]))
    assert [p.data for p in ps] == pytest.approx([1 / (1 + math.exp(-1)), 0.0, 1 / (1 + math.e)], rel=1e-15)
    assert [p.data for p in softmax([1000.0, 1000.0])] == [0.5, 0.5]
    shifted = [p.data for p in softmax([501.0, 502.0, 503.0])]
    assert shifted == pytest.approx([p.data for p in softmax([1.0, 2.0, 3.0])], rel=1e-14)


def test_softmax_jacobian() -> None:
    xs = [0.5, -1.0, 2.0]
    p = [q.data for q in softmax(xs)]
    for i in range(3):
        zs = values(xs)
        softmax(zs)[i].backward()
        assert [z.grad for z in zs] == pytest.approx(
            [p[i] * ((i == j) - p[j]) for j in range(3)], rel=1e-13, abs=1e-16
        )


def test_softmax_batch() -> None:
    out = softmax([[1.0, 2.0], [3.0, 3.0, 3.0]])
    assert len(out) == 2 and len(out[0]) == 2 and len(out[1]) == 3
    assert [p.data for p in out[1]] == pytest.approx([1 / 3] * 3, rel=1e-15)


def test_cross_entropy_by_hand() -> None:
    zs = values([1.0, 2.0, 3.0])
    loss = cross_entropy(zs, 2)
    total = math.e + math.e**2 + math.e**3
    assert loss.data == pytest.approx(math.log(total) - 3.0, rel=1e-15)
    loss.backward()
    p = [math.e / total, math.e**2 / total, math.e**3 / total]
    assert [z.grad for z in zs] == pytest.approx([p[0], p[1], p[2] - 1], rel=1e-14)  # softmax - onehot


def test_cross_entropy_is_minus_log_softmax_and_matches_finite_differences() -> None:
    rng = random.Random(4)
    for target in range(4):
        xs = [rng.uniform(-5, 5) for _ in range(4)]
        assert cross_entropy(xs, target).data == pytest.approx(-math.log(softmax(xs)[target].data), rel=1e-13)
        assert_matches_finite_differences(partial(cross_entropy, target=target), xs)


def test_cross_entropy_batch_is_the_mean() -> None:
    rows = [[0.5, -1.0, 2.0], [3.0, 0.0, 0.0]]
    targets = [1, 0]
    expected = (cross_entropy(rows[0], 1).data + cross_entropy(rows[1], 0).data) / 2
    zs = [values(r) for r in rows]
    loss = cross_entropy(zs, targets)
    assert loss.data == pytest.approx(expected, rel=1e-15)
    loss.backward()
    p = [q.data for q in softmax(rows[0])]
    assert [z.grad for z in zs[0]] == pytest.approx([p[0] / 2, (p[1] - 1) / 2, p[2] / 2], rel=1e-14)


@pytest.mark.parametrize(("target", "loss", "slopes"), [(0, 0.0, [0.0, 0.0]), (1, 2000.0, [1.0, -1.0])])
def test_cross_entropy_is_exact_at_extreme_logits(target: int, loss: float, slopes: list[float]) -> None:
    zs = values([1000.0, -1000.0])
    out = cross_entropy(zs, target)
    out.backward()
    assert out.data == loss
    assert [z.grad for z in zs] == slopes


def test_cross_entropy_errors() -> None:
    with pytest.raises(ValueError, match=r"target = 3 is not a class index for 3 logits \(0 to 2\)"):
        cross_entropy([1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match="target = -1 is not a class index"):
        cross_entropy([1.0, 2.0, 3.0], -1)
    for bad in (1.0, True, "1", None):
        with pytest.raises(TypeError, match="class index"):
            cross_entropy([1.0, 2.0], bad)
    with pytest.raises(ValueError, match=r"target\[1\] = 5"):
        cross_entropy([[1.0, 2.0], [1.0, 2.0]], [0, 5])
    with pytest.raises(ValueError, match="2 samples of logits but 3 targets"):
        cross_entropy([[1.0, 2.0], [1.0, 2.0]], [0, 1, 1])
    with pytest.raises(TypeError, match="needs a list of targets"):
        cross_entropy([[1.0, 2.0], [1.0, 2.0]], 0)
    # a list target for one sample is its class probabilities: [0, 1] is class 1
    assert cross_entropy([1.0, 2.0], [0, 1]).data == cross_entropy([1.0, 2.0], 1).data
    with pytest.raises(ValueError, match=r"target has 2 class probabilities for 3 logits"):
        cross_entropy([1.0, 2.0, 3.0], [0, 1])
    with pytest.raises(ValueError, match=r"target must sum to 1 \(class probabilities\), got a sum of 2"):
        cross_entropy([1.0, 2.0], [1, 1])
    with pytest.raises(TypeError, match=r"target\[1\] must be a number, got NoneType"):
        cross_entropy([1.0, 2.0], [1, None])
    with pytest.raises(ValueError, match="empty"):
        cross_entropy([], 0)
    with pytest.raises(ValueError, match=r"logits\[1\] is empty"):
        cross_entropy([[1.0], []], [0, 0])
    with pytest.raises(TypeError, match="needs a list of logits"):
        cross_entropy(Value(1.0), 0)  # type: ignore[arg-type]


# --- hinge ---------------------------------------------------------------------------------------


def test_hinge_by_hand() -> None:
    ss = values([0.5, -2.0, 3.0, 2.0, 1.0])
    loss = hinge(ss, [1, 1, -1, 1, 1])  # margins 0.5, 3, 4, 0 (inactive), 0 (at the kink)
    assert loss.data == pytest.approx(7.5 / 5, rel=1e-15)
    loss.backward()
    assert [s.grad for s in ss] == pytest.approx([-0.2, -0.2, 0.2, 0.0, 0.0], rel=1e-15)


def test_hinge_matches_finite_differences_and_accepts_float_labels() -> None:
    xs = [0.3, -0.4, 1.7, -2.5]
    ys = [1.0, -1.0, -1, 1]
    assert_matches_finite_differences(lambda v: hinge(v, ys), xs)


def test_hinge_refuses_zero_one_labels() -> None:
    for label in (0, 2, 0.5, -2):
        with pytest.raises(ValueError, match=r"labels must be -1 or \+1.*2 \* y - 1"):
            hinge([Value(0.1), Value(0.2)], [1, label])


# --- l2 ------------------------------------------------------------------------------------------


def test_l2_by_hand_and_on_a_module() -> None:
    ps = values([1.0, -2.0, 3.0])
    loss = l2(ps)
    assert loss.data == 14.0
    loss.backward()
    assert [p.grad for p in ps] == [2.0, -4.0, 6.0]
    model = nn.MLP(2, [3, 1], seed=0)
    assert l2(model).data == pytest.approx(sum(p.data**2 for p in model.parameters()), rel=1e-15)


def test_l2_errors() -> None:
    with pytest.raises(ValueError, match="no parameters"):
        l2([])
    with pytest.raises(TypeError, match=r"must be Values, got float \(entry 1\)"):
        l2([Value(1.0), 2.0])  # type: ignore[list-item]


# --- shapes, errors and modes shared by every loss -------------------------------------------


@pytest.mark.parametrize("name", ["mse", "binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge"])
def test_elementwise_losses_check_shapes(name: str) -> None:
    loss = LOSSES[name]
    p = [Value(0.5), Value(0.25)]
    with pytest.raises(ValueError, match=r"has 2 entries but .* has 3"):
        loss(p, [1, 1, 1])
    with pytest.raises(ValueError, match="is empty"):
        loss([], [])
    with pytest.raises(TypeError, match="must be a Value, a number or a list"):
        loss(p, [1, "1"])
    with pytest.raises(TypeError, match="must be a Value, a number or a list"):
        loss([Value(0.5), None], [1, 1])
    with pytest.raises(ValueError, match="must be finite"):
        loss(p, [1, math.nan])
    # one sample, a batch of bare scores and a batch of [score] agree
    one = loss(Value(0.5), 1).data
    assert loss([Value(0.5)], [1]).data == one
    assert loss([[Value(0.5)], [Value(0.5)]], [1, 1]).data == one


def test_losses_work_under_no_grad() -> None:
    with no_grad():
        out = [
            mse([Value(1.0)], [0.0]), hinge([Value(0.5)], [1]), cross_entropy([Value(1.0), Value(2.0)], 0),
            binary_cross_entropy([Value(0.5)], [1]), l2([Value(2.0)]),
        ]
    assert all(isinstance(o, Value) and o.is_leaf for o in out)
    assert [o.data for o in out] == pytest.approx([1.0, 0.5, math.log1p(math.e), math.log(2), 4.0])


def test_losses_table() -> None:
    assert set(LOSSES) == {
        "mse", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "hinge"
    }
    assert LOSSES["binary_cross_entropy_with_logits"](Value(1000.0), 0).data == 1000.0
    assert nn.mse is mse and nn.cross_entropy is cross_entropy
