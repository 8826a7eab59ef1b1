"""``nn.optim``: the first steps of each optimizer against the published update rules, computed
by hand here in plain Python (PyTorch's semantics: torch.optim.SGD, RMSprop, Adam, AdamW), the
schedule hook, resuming from a state dict, and the checks on hyperparameters and gradients.

The parameters are pulled towards ``c`` by gradients ``g(p) = k (p - c) + s`` that change as the
parameters move, so that every step sees a new gradient; one parameter has no gradient at all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

import nn
from autodiff import DomainError, Value
from nn.optim import SGD, Adam, AdamW, Optimizer, RMSprop, linear_decay, step_decay

START = [0.5, -1.5, 2.0, 0.0]
K = [1.0, 3.0, 0.5, 0.0]  # the last parameter never gets a gradient
C = [2.0, 1.0, -1.0, 0.0]
S = [0.1, -0.2, 0.3, 0.0]


def grad_of(i: int, p: float) -> float:
    return K[i] * (p - C[i]) + S[i]


def run(make: Callable[[list[Value]], Optimizer], steps: int) -> list[float]:
    """The parameters after ``steps`` steps of the optimizer (with zero_grad and new gradients
    each time, as a training loop does)."""
    params = [Value(x) for x in START]
    optimizer = make(params)
    for _ in range(steps):
        optimizer.zero_grad()
        for i, p in enumerate(params):
            p.grad += grad_of(i, p.data)
        optimizer.step()
    return [p.data for p in params]


def close(a: list[float], b: list[float], rel: float = 1e-13) -> bool:
    return all(math.isclose(x, y, rel_tol=rel, abs_tol=1e-300) for x, y in zip(a, b, strict=True))


# --- SGD ----------------------------------------------------------------------------------------


def test_sgd_plain_three_steps() -> None:
    lr = 0.1
    p = list(START)
    for _ in range(3):  # the book's w <- w - eta dC/dw
        p = [x - lr * grad_of(i, x) for i, x in enumerate(p)]
    assert run(lambda ps: SGD(ps, lr=lr), 3) == p  # the same operations: bit for bit
    assert p[3] == 0.0  # no gradient, no move


def test_sgd_momentum_three_steps() -> None:
    lr, mu = 0.1, 0.9
    p = list(START)
    g1 = [grad_of(i, x) for i, x in enumerate(p)]
    v1 = g1  # torch: the buffer starts as the first gradient
    p = [x - lr * v for x, v in zip(p, v1)]
    g2 = [grad_of(i, x) for i, x in enumerate(p)]
    v2 = [mu * v + g for v, g in zip(v1, g2)]
    p = [x - lr * v for x, v in zip(p, v2)]
    g3 = [grad_of(i, x) for i, x in enumerate(p)]
    v3 = [mu * v + g for v, g in zip(v2, g3)]
    p = [x - lr * v for x, v in zip(p, v3)]
    assert close(run(lambda ps: SGD(ps, lr=lr, momentum=mu), 3), p)
    assert not close(run(lambda ps: SGD(ps, lr=lr), 3), p, rel=1e-6)  # momentum made a difference


def test_sgd_nesterov_three_steps() -> None:
    lr, mu = 0.05, 0.8
    p, v = list(START), [0.0] * 4
    for _ in range(3):
        g = [grad_of(i, x) for i, x in enumerate(p)]
        v = [mu * b + gi for b, gi in zip(v, g)]
        p = [x - lr * (gi + mu * b) for x, gi, b in zip(p, g, v)]  # look ahead: g + mu v
    assert close(run(lambda ps: SGD(ps, lr=lr, momentum=mu, nesterov=True), 3), p)
    assert not close(run(lambda ps: SGD(ps, lr=lr, momentum=mu), 3), p, rel=1e-6)


def test_sgd_weight_decay_three_steps() -> None:
    lr, mu, wd = 0.1, 0.5, 0.01
    p, v = list(START), [0.0] * 4
    for _ in range(3):
        g = [grad_of(i, x) + wd * x for i, x in enumerate(p)]
        v = [mu * b + gi for b, gi in zip(v, g)]
        p = [x - lr * b for x, b in zip(p, v)]
    assert close(run(lambda ps: SGD(ps, lr=lr, momentum=mu, weight_decay=wd), 3), p)


def test_sgd_weight_decay_is_the_gradient_of_an_l2_penalty() -> None:
    # weight_decay = 2 lam on the gradient == adding lam * sum p^2 to the loss
    lam = 0.05
    model_a, model_b = nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [3, 1], seed=0)
    opt_a = SGD(model_a.parameters(), lr=0.1, momentum=0.9, weight_decay=2 * lam)
    opt_b = SGD(model_b.parameters(), lr=0.1, momentum=0.9)
    X, y = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.1]], [1.0, -1.0, 0.5]
    for _ in range(3):
        for model, opt, penalty in ((model_a, opt_a, 0.0), (model_b, opt_b, lam)):
            loss = nn.mse([model(x) for x in X], y)
            if penalty:
                loss = loss + penalty * nn.l2(model)
            opt.zero_grad()
            loss.backward()
            opt.step()
    a = [p.data for p in model_a.parameters()]
    b = [p.data for p in model_b.parameters()]
    assert close(a, b, rel=1e-12)


# --- RMSprop ------------------------------------------------------------------------------------


def rmsprop_by_hand(
    lr: float, alpha: float, eps: float, wd: float = 0.0, mu: float = 0.0, centered: bool = False
) -> list[float]:
    p = list(START)
    s, a, b = [0.0] * 4, [0.0] * 4, [0.0] * 4
    for _ in range(3):
        g = [grad_of(i, x) + wd * x for i, x in enumerate(p)]
        s = [alpha * si + (1 - alpha) * gi**2 for si, gi in zip(s, g)]
        if centered:
            a = [alpha * ai + (1 - alpha) * gi for ai, gi in zip(a, g)]
            d = [math.sqrt(si - ai**2) + eps for si, ai in zip(s, a)]
        else:
            d = [math.sqrt(si) + eps for si in s]
        if mu:
            b = [mu * bi + gi / di for bi, gi, di in zip(b, g, d)]
            p = [x - lr * bi for x, bi in zip(p, b)]
        else:
            p = [x - lr * gi / di for x, gi, di in zip(p, g, d)]
    return p


def test_rmsprop_three_steps() -> None:
    expected = rmsprop_by_hand(0.01, 0.99, 1e-8)
    assert close(run(lambda ps: RMSprop(ps), 3), expected)  # torch's defaults
    # the first step is lr * g / sqrt((1 - alpha) g^2) = lr / sqrt(1 - alpha) in size, whatever g is
    first = run(lambda ps: RMSprop(ps, lr=0.01, alpha=0.99), 1)
    for i in range(3):
        assert abs(first[i] - START[i]) == pytest.approx(0.01 / math.sqrt(0.01), rel=1e-6)


@pytest.mark.parametrize(
    "settings",
    [
        {"lr": 0.02, "alpha": 0.9, "eps": 1e-6, "wd": 0.1},
        {"lr": 0.02, "alpha": 0.9, "eps": 1e-8, "mu": 0.5},
        {"lr": 0.01, "alpha": 0.8, "eps": 1e-8, "centered": True},
        {"lr": 0.01, "alpha": 0.8, "eps": 1e-7, "wd": 0.05, "mu": 0.9, "centered": True},
    ],
)
def test_rmsprop_options_three_steps(settings: dict[str, Any]) -> None:
    expected = rmsprop_by_hand(**settings)
    kw = {"lr": settings["lr"], "alpha": settings["alpha"], "eps": settings["eps"],
          "weight_decay": settings.get("wd", 0.0), "momentum": settings.get("mu", 0.0),
          "centered": settings.get("centered", False)}
    assert close(run(lambda ps: RMSprop(ps, **kw), 3), expected, rel=1e-12)
    plain = run(lambda ps: RMSprop(ps, lr=settings["lr"], alpha=settings["alpha"]), 3)
    assert not close(plain, expected, rel=1e-6)  # each option made a difference


# --- Adam and AdamW -----------------------------------------------------------------------------


def adam_by_hand(
    lr: float, beta1: float, beta2: float, eps: float, wd: float = 0.0, decoupled: bool = False
) -> list[float]:
    """Kingma & Ba, Algorithm 1, with bias-corrected m_hat and v_hat; weight decay added to the
    gradient (Adam) or applied to the parameter itself first (AdamW, Loshchilov & Hutter)."""
    p, m, v = list(START), [0.0] * 4, [0.0] * 4
    for t in (1, 2, 3):
        g = [grad_of(i, x) for i, x in enumerate(p)]
        if decoupled:
            p = [x - lr * wd * x for x in p]
        else:
            g = [gi + wd * x for gi, x in zip(g, p)]
        m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]
        v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]
        m_hat = [mi / (1 - beta1**t) for mi in m]
        v_hat = [vi / (1 - beta2**t) for vi in v]
        p = [x - lr * mh / (math.sqrt(vh) + eps) for x, mh, vh in zip(p, m_hat, v_hat)]
    return p


def test_adam_three_steps() -> None:
    expected = adam_by_hand(1e-3, 0.9, 0.999, 1e-8)
    assert close(run(lambda ps: Adam(ps), 3), expected, rel=1e-12)
    expected = adam_by_hand(0.1, 0.5, 0.9, 1e-6)
    assert close(run(lambda ps: Adam(ps, lr=0.1, betas=(0.5, 0.9), eps=1e-6), 3), expected, rel=1e-12)


def test_adam_first_step_moves_each_parameter_by_lr() -> None:
    # bias correction: m_hat = g and v_hat = g^2 after one step, so the step is lr * g / |g|
    after = run(lambda ps: Adam(ps, lr=0.01), 1)
    for i in range(3):
        assert after[i] - START[i] == pytest.approx(-0.01 * math.copysign(1, grad_of(i, START[i])), rel=1e-6)
    assert after[3] == START[3]  # zero gradient: m = v = 0, no step (0 / (0 + eps))


def test_adam_weight_decay_is_coupled() -> None:
    expected = adam_by_hand(0.05, 0.9, 0.999, 1e-8, wd=0.1)
    assert close(run(lambda ps: Adam(ps, lr=0.05, weight_decay=0.1), 3), expected, rel=1e-12)


def test_adamw_decay_is_decoupled() -> None:
    expected = adam_by_hand(0.05, 0.9, 0.999, 1e-8, wd=0.1, decoupled=True)
    adamw = run(lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1), 3)
    assert close(adamw, expected, rel=1e-12)
    adam = run(lambda ps: Adam(ps, lr=0.05, weight_decay=0.1), 3)
    assert not close(adamw, adam, rel=1e-6)
    # without decay they agree exactly; AdamW's default decay is torch's 0.01
    assert run(lambda ps: AdamW(ps, lr=0.05, weight_decay=0.0), 3) == run(lambda ps: Adam(ps, lr=0.05), 3)
    assert AdamW([Value(1.0)]).weight_decay == 0.01


def test_adamw_shrinks_a_parameter_without_gradient() -> None:
    p = Value(2.0)
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        opt.zero_grad()
        opt.step()
    assert p.data == pytest.approx(2.0 * (1 - 0.1 * 0.5) ** 3, rel=1e-15)
    q = Value(2.0)
    coupled = Adam([q], lr=0.1, weight_decay=0.5)  # the decay goes through m / sqrt(v)
    coupled.step()
    assert q.data == pytest.approx(2.0 - 0.1, rel=1e-6)


# --- schedules ---------------------------------------------------------------------------------


def test_schedule_gives_the_rate_of_each_step() -> None:
    rates = [0.1, 0.2, 0.3]
    p = list(START)
    for lr in rates:
        p = [x - lr * grad_of(i, x) for i, x in enumerate(p)]
    assert run(lambda ps: SGD(ps, lr=1.0, lr_schedule=lambda t: rates[t]), 3) == p
    opt = SGD([Value(1.0)], lr=1.0, lr_schedule=lambda t: 0.5 / (t + 1))
    seen = []
    for _ in range(3):
        seen.append(opt.current_lr())
        opt.step()
    assert seen == [0.5, 0.25, 0.5 / 3]
    assert opt.steps == 3


def test_schedule_helpers() -> None:
    decay = step_decay(0.1, 0.5, every=2)
    assert [decay(t) for t in range(6)] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    line = linear_decay(1.0, 0.1, steps=4)
    assert [line(t) for t in range(7)] == pytest.approx([1.0, 0.775, 0.55, 0.325, 0.1, 0.1, 0.1], rel=1e-15)
    with pytest.raises(ValueError, match="every"):
        step_decay(0.1, 0.5, every=0)
    with pytest.raises(ValueError, match="steps"):
        linear_decay(0.1, 0.0, steps=0)
    with pytest.raises(ValueError, match="final_lr"):
        linear_decay(0.1, -0.1, steps=5)


def test_adam_uses_the_scheduled_rate_in_its_update() -> None:
    rates = [0.1, 0.05, 0.02]
    p, m, v = list(START), [0.0] * 4, [0.0] * 4
    for t, lr in zip((1, 2, 3), rates):
        g = [grad_of(i, x) for i, x in enumerate(p)]
        m = [0.9 * mi + 0.1 * gi for mi, gi in zip(m, g)]
        v = [0.999 * vi + 0.001 * gi * gi for vi, gi in zip(v, g)]
        p = [x - lr * (mi / (1 - 0.9**t)) / (math.sqrt(vi / (1 - 0.999**t)) + 1e-8)
             for x, mi, vi in zip(p, m, v)]
    assert close(run(lambda ps: Adam(ps, lr_schedule=lambda t: rates[t]), 3), p, rel=1e-12)


def test_bad_schedules() -> None:
    opt = SGD([Value(1.0)], lr=0.1, lr_schedule=lambda t: -0.1)
    with pytest.raises(ValueError, match=r"lr_schedule\(0\) gave -0.1"):
        opt.step()
    opt = SGD([Value(1.0)], lr=0.1, lr_schedule=lambda t: math.inf)
    with pytest.raises(ValueError, match="gave inf"):
        opt.step()
    with pytest.raises(TypeError, match="lr_schedule must be a function"):
        SGD([Value(1.0)], lr=0.1, lr_schedule=0.5)  # type: ignore[arg-type]


# --- state dict ---------------------------------------------------------------------------------

MAKERS: dict[str, Callable[[list[Value]], Optimizer]] = {
    "sgd": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01),
    "adam": lambda ps: Adam(ps, lr=0.05, betas=(0.8, 0.99), weight_decay=0.01),
    "adamw": lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1),
    "scheduled": lambda ps: Adam(ps, lr=0.05, lr_schedule=linear_decay(0.05, 0.001, 6)),
}


@pytest.mark.parametrize("kind", list(MAKERS))
def test_state_dict_resumes_identically(kind: str) -> None:
    make = MAKERS[kind]
    straight = run(make, 6)

    params = [Value(x) for x in START]
    first = make(params)

    def steps(opt: Optimizer, n: int) -> None:
        for _ in range(n):
            opt.zero_grad()
            for i, p in enumerate(params):
                p.grad = grad_of(i, p.data)
            opt.step()

    steps(first, 3)
    saved = json.loads(json.dumps(first.state_dict()))  # plain numbers and lists: JSON holds it
    # a fresh optimizer takes everything from the state dict, hyperparameters included
    second = make([*params])
    second.lr = 123.0
    second.load_state_dict(saved)
    assert second.steps == 3
    assert second.state_dict() == first.state_dict()
    steps(second, 3)
    assert [p.data for p in params] == straight  # bit for bit
    # and a fresh optimizer without the state does not resume the same way
    assert run(make, 3) != straight


def test_state_dict_contents_and_copies() -> None:
    p = Value(1.0)
    opt = Adam([p], lr=0.1)
    p.grad = 2.0
    opt.step()
    state = opt.state_dict()
    assert state["optimizer"] == "Adam" and state["steps"] == 1
    assert state["hyperparameters"] == {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}
    assert state["state"]["exp_avg"] == [pytest.approx(0.2)]
    assert state["state"]["exp_avg_sq"] == [pytest.approx(0.004)]
    state["state"]["exp_avg"][0] = 99.0  # a copy: the optimizer is unchanged
    assert opt.state["exp_avg"] == [pytest.approx(0.2)]


def test_load_state_dict_errors() -> None:
    adam = Adam([Value(1.0), Value(2.0)])
    with pytest.raises(ValueError, match="state of a 'SGD' optimizer"):
        adam.load_state_dict(SGD([Value(1.0), Value(2.0)], lr=0.1).state_dict())
    with pytest.raises(ValueError, match="has 1 entries for 2 parameters"):
        adam.load_state_dict(Adam([Value(1.0)]).state_dict())
    bad = Adam([Value(1.0), Value(2.0)]).state_dict()
    bad["hyperparameters"]["betas"] = [0.9, 1.0]
    with pytest.raises(ValueError, match="beta2 must be in"):
        adam.load_state_dict(bad)
    assert adam.betas == (0.9, 0.999)  # nothing was loaded


# --- checks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda ps: SGD(ps, lr=0.0), "lr must be > 0"),
        (lambda ps: SGD(ps, lr=-0.1), "lr must be > 0"),
        (lambda ps: SGD(ps, lr=math.nan), "lr must be finite"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "momentum must be >= 0"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-1e-4), "weight_decay must be >= 0"),
        (lambda ps: RMSprop(ps, alpha=1.0), "alpha must be in"),
        (lambda ps: RMSprop(ps, eps=0.0), "eps must be > 0"),
        (lambda ps: RMSprop(ps, momentum=-1.0), "momentum must be >= 0"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), "beta1 must be in"),
        (lambda ps: Adam(ps, betas=(0.9, 1.0)), "beta2 must be in"),
        (lambda ps: Adam(ps, betas=(-0.1, 0.9)), "beta1 must be in"),
        (lambda ps: Adam(ps, betas=(0.9,)), "betas must be a pair"),  # type: ignore[arg-type]
        (lambda ps: Adam(ps, eps=-1e-8), "eps must be > 0"),
        (lambda ps: AdamW(ps, weight_decay=-0.01), "weight_decay must be >= 0"),
        (lambda ps: Adam([]), "empty parameter list"),
        (lambda ps: Adam([ps[0], ps[0]]), "twice"),
    ],
)
def test_bad_hyperparameters(make: Callable[[list[Value]], Optimizer], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


def test_bad_parameters() -> None:
    model = nn.MLP(2, [1], seed=0)
    with pytest.raises(TypeError, match=r"pass model.parameters\(\)"):
        SGD(model, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"must be Values, got float \(entry 1\)"):
        SGD([Value(1.0), 2.0], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="lr must be a number"):
        SGD([Value(1.0)], lr="0.1")  # type: ignore[arg-type]


def test_step_refuses_graph_gradients() -> None:
    x = Value(3.0)
    (x * x * x).backward(create_graph=True)  # x.grad is now a Value
    with pytest.raises(TypeError, match="create_graph"):
        SGD([x], lr=0.1).step()


def test_step_that_would_overflow_changes_nothing() -> None:
    p, q = Value(1.0, label="w"), Value(2.0)
    opt = SGD([q, p], lr=1e300, momentum=0.9)
    q.grad, p.grad = 1.0, -1e10
    with pytest.raises(DomainError, match="parameter 'w' inf"):
        opt.step()
    assert (q.data, p.data, opt.steps, opt.state["momentum_buffer"]) == (2.0, 1.0, 0, [0.0, 0.0])


def test_zero_grad_and_int_gradients() -> None:
    p, q = Value(1.0), Value(2.0)
    opt = SGD([p, q], lr=0.5)
    p.grad, q.grad = 3.0, 1  # an int gradient (set by hand) is a number like any other
    opt.step()
    assert (p.data, q.data) == (-0.5, 1.5)
    opt.zero_grad()
    assert (p.grad, q.grad) == (0.0, 0.0)
    assert repr(opt) == "SGD(2 parameters, lr=0.5, momentum=0.0, nesterov=False, weight_decay=0.0)"
