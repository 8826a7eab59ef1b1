"""Optimizers: objects that own the update of the parameters, with PyTorch's names and semantics.

    optimizer = Adam(model.parameters(), lr=0.01)
    for step in range(100):
        loss = ...                 # a Value computed from the parameters
        optimizer.zero_grad()      # p.grad = 0 for every parameter
        loss.backward()            # p.grad = dL/dp
        optimizer.step()           # p.data moves against the gradient

Each optimizer reads ``p.grad`` (a float) and writes ``p.data``; what it remembers between steps
(momentum, running averages) is plain floats, one list per buffer with one entry per parameter,
never graphs. ``state_dict()`` returns that memory with the step count and the hyperparameters
as plain numbers and lists (JSON can hold it); ``load_state_dict()`` puts it back, so a run
resumes exactly where it stopped.

A learning-rate schedule is a function ``lr_schedule(t) -> lr`` of the number ``t`` of steps
taken so far (0 for the first step); ``step_decay`` and ``linear_decay`` make two common ones
(small classes, so that an optimizer using them pickles), and any ``lambda t: ...`` will do.

A step is all or nothing: one that would make a parameter or a buffer infinite or NaN raises
``DomainError`` and leaves everything as it was, so ``state_dict()`` always holds finite numbers
that ``load_state_dict()`` accepts.

Below, ``g`` is ``p.grad``, ``lr`` the learning rate of this step and ``t`` the step number
counted from 1, as in the papers and in PyTorch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from autodiff import DomainError, Value
from autodiff.value import shown

from .module import Module, _finite

Schedule = Callable[[int], float]
"""``lr_schedule(t)``: the learning rate of the step taken after ``t`` steps (t = 0, 1, 2, ...)."""


class StepDecay:
    """``lr * factor ** (t // every)``: the rate multiplied by ``factor`` every ``every`` steps
    (``torch.optim.lr_scheduler.StepLR``). A small class rather than a closure, so that it
    pickles with the optimizer that uses it."""

    def __init__(self, lr: float, factor: float, every: int) -> None:
        self.lr = _check_positive("step_decay", "lr", lr)
        self.factor = _check_positive("step_decay", "factor", factor)
        self.every = _check_steps("step_decay", "every", every)

    def __call__(self, t: int) -> float:
        return self.lr * self.factor ** (t // self.every)

    def __repr__(self) -> str:
        return f"step_decay(lr={self.lr!r}, factor={self.factor!r}, every={self.every!r})"


class LinearDecay:
    """From ``lr`` at step 0 in a straight line to ``final_lr`` at step ``steps``, then constant:
    ``lr + (final_lr - lr) * min(t, steps) / steps``. A class for the reason ``StepDecay`` is."""

    def __init__(self, lr: float, final_lr: float, steps: int) -> None:
        self.lr = _check_positive("linear_decay", "lr", lr)
        self.final_lr = _check_non_negative("linear_decay", "final_lr", final_lr)
        self.steps = _check_steps("linear_decay", "steps", steps)

    def __call__(self, t: int) -> float:
        return self.lr + (self.final_lr - self.lr) * min(t, self.steps) / self.steps

    def __repr__(self) -> str:
        return f"linear_decay(lr={self.lr!r}, final_lr={self.final_lr!r}, steps={self.steps!r})"


def step_decay(lr: float, factor: float, every: int) -> StepDecay:
    """The schedule ``lr * factor ** (t // every)`` (see ``StepDecay``)."""
    return StepDecay(lr, factor, every)


def linear_decay(lr: float, final_lr: float, steps: int) -> LinearDecay:
    """The schedule from ``lr`` down a straight line to ``final_lr`` at step ``steps`` (see
    ``LinearDecay``)."""
    return LinearDecay(lr, final_lr, steps)


# --- checks ------------------------------------------------------------------------------------


def _check_number(owner: str, name: str, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{owner} {name} must be a number, got {type(x).__name__}: {shown(x)}")
    return _finite(x, f"{owner} {name}")


def _check_positive(owner: str, name: str, x: object) -> float:
    number = _check_number(owner, name, x)
    if not number > 0:
        raise ValueError(f"{owner} {name} must be > 0, got {shown(x)}")
    return number


def _check_non_negative(owner: str, name: str, x: object) -> float:
    number = _check_number(owner, name, x)
    if not number >= 0:
        raise ValueError(f"{owner} {name} must be >= 0, got {shown(x)}")
    return number


def _check_fraction(owner: str, name: str, x: object) -> float:
    """A decay rate: in [0, 1)."""
    number = _check_number(owner, name, x)
    if not 0 <= number < 1:
        raise ValueError(f"{owner} {name} must be in [0, 1), got {shown(x)}")
    return number


def _check_steps(owner: str, name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{owner} {name} must be a whole number of steps >= 1, got {shown(n)}")
    return n


def _check_flag(owner: str, name: str, flag: object) -> bool:
    if not isinstance(flag, bool):
        raise TypeError(f"{owner} {name} must be True or False, got {type(flag).__name__}: {shown(flag)}")
    return flag


def _check_parameters(owner: str, parameters: Iterable[Value]) -> list[Value]:
    if isinstance(parameters, Module):
        raise TypeError(f"{owner} needs the parameters, not the model: pass model.parameters()")
    if isinstance(parameters, Value):
        raise TypeError(f"{owner} needs a list of parameters, got a single Value: pass [p]")
    if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
        raise TypeError(f"{owner} needs a list of parameters (Values), got {type(parameters).__name__}")
    params = list(parameters)
    if not params:
        raise ValueError(f"{owner} got an empty parameter list")
    seen: set[int] = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{owner} parameters must be Values, got {type(p).__name__} (entry {i})")
        if id(p) in seen:
            raise ValueError(f"{owner} got parameter {i} ({_name(p, i)}) twice; list each once")
        seen.add(id(p))
    return params


def _name(p: Value, i: int) -> str:
    return f"'{p.label}'" if p.label else f"number {i}"


# --- the optimizers ----------------------------------------------------------------------------


class Optimizer:
    """What every optimizer shares: the parameters, the learning rate (or its schedule), the
    step count ``steps``, per-parameter state, ``zero_grad``, ``step`` and the state dict.

    A subclass names its state buffers in ``_buffers`` and its hyperparameters in
    ``_hyperparameters``, and writes ``_update``: from the gradients, the learning rate and ``t``
    it returns the new parameter values and the new buffers, without changing anything, so that
    ``step`` can refuse an update that would make a parameter infinite before it happens.
    """

    _buffers: tuple[str, ...] = ()
    _hyperparameters: tuple[str, ...] = ("lr",)

    def __init__(
        self, parameters: Iterable[Value], lr: float, *, lr_schedule: Schedule | None = None
    ) -> None:
        owner = type(self).__name__
        self.params: list[Value] = _check_parameters(owner, parameters)
        self.lr: float = _check_positive(owner, "lr", lr)
        if lr_schedule is not None and not callable(lr_schedule):
            raise TypeError(f"{owner} lr_schedule must be a function of the step, got {shown(lr_schedule)}")
        self.lr_schedule = lr_schedule
        self.steps = 0
        self.state: dict[str, list[float]] = {name: [0.0] * len(self.params) for name in self._buffers}

    def current_lr(self) -> float:
        """The learning rate the next ``step()`` uses: ``lr_schedule(steps)``, or ``lr``."""
        if self.lr_schedule is None:
            return self.lr
        lr = self.lr_schedule(self.steps)
        owner = type(self).__name__
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr >= 0):
            raise ValueError(
                f"{owner} lr_schedule({self.steps}) gave {shown(lr)}; a learning rate is a number >= 0"
            )
        return float(lr)

    def zero_grad(self) -> None:
        """Set ``p.grad = 0.0`` for every parameter, before the next ``backward()``."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its ``.grad`` (see the subclass for the formula).

        All-or-nothing: a step that would make a parameter or any of the optimizer's buffers
        infinite or NaN (a learning rate too large, a gradient so large that its square
        overflows) raises DomainError and changes nothing."""
        lr = self.current_lr()
        grads = self._gradients()
        t = self.steps + 1
        values, state = self._update(grads, lr, t)
        owner = type(self).__name__
        for what, numbers_ in (("parameter", values), *state.items()):
            if all(map(math.isfinite, numbers_)):
                continue
            i = next(i for i, x in enumerate(numbers_) if not math.isfinite(x))
            p = self.params[i]
            made = (
                f"parameter {_name(p, i)} {numbers_[i]!r}" if what == "parameter"
                else f"its buffer {what!r} {numbers_[i]!r} for parameter {_name(p, i)}"
            )
            raise DomainError(
                f"{owner}.step() would make {made} (data {p.data!r}, grad {grads[i]!r}, lr {lr!r}): "
                "the learning rate is too large or the gradients exploded; nothing was changed"
            )
        for p, x in zip(self.params, values):
            p.data = x
        self.state = state
        self.steps = t

    def _gradients(self) -> list[float]:
        owner = type(self).__name__
        grads = []
        for i, p in enumerate(self.params):
            g: Any = p.grad
            if type(g) is float and math.isfinite(g):
                grads.append(g)
                continue
            if isinstance(g, Value):
                raise TypeError(
                    f"{owner}.step(): parameter {_name(p, i)} has a Value as its "
                    "gradient (from backward(create_graph=True)); optimizers need float "
                    "gradients: call backward() without create_graph"
                )
            if isinstance(g, bool) or not isinstance(g, numbers.Real):
                raise TypeError(
                    f"{owner}.step(): parameter {_name(p, i)} has a gradient of "
                    f"type {type(g).__name__}; it must be a float"
                )
            grads.append(_finite(g, f"{owner}.step(): the gradient of parameter {_name(p, i)}"))
        return grads

    def _update(self, grads: list[float], lr: float, t: int) -> tuple[list[float], dict[str, list[float]]]:
        raise NotImplementedError

    # --- saving and resuming --------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, Any]:
        """The settings given to the constructor (apart from the schedule), by name."""
        return {name: _plain(getattr(self, name)) for name in self._hyperparameters}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: ``{"optimizer": "Adam", "steps": t, "hyperparameters":
        {...}, "state": {"exp_avg": [...], ...}}``, plain numbers and lists, copies. The schedule,
        a function, is not included: give the same one to the optimizer that loads this."""
        return {
            "optimizer": type(self).__name__,
            "steps": self.steps,
            "hyperparameters": self.hyperparameters(),
            "state": {name: list(values) for name, values in self.state.items()},
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (possibly through JSON): the step count, the
        hyperparameters and the buffers. The optimizer must be of the same kind, over as many
        parameters, in the same order. Everything is checked before anything is set."""
        owner = type(self).__name__
        where = f"{owner}.load_state_dict()"
        if not isinstance(state_dict, Mapping):
            kind = type(state_dict).__name__
            raise TypeError(f"{where} needs the mapping state_dict() returns, got {kind}")
        kind = state_dict.get("optimizer")
        if kind != owner:
            raise ValueError(f"{where} got the state of a {shown(kind)} optimizer")
        steps = state_dict.get("steps")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"{where} needs a step count >= 0, got {shown(steps)}")
        hyper = state_dict.get("hyperparameters")
        buffers = state_dict.get("state")
        for name, field in (("hyperparameters", hyper), ("state", buffers)):
            if not isinstance(field, Mapping):
                raise TypeError(f"{where} needs {name!r} to be a mapping, got {type(field).__name__}")
        assert isinstance(hyper, Mapping) and isinstance(buffers, Mapping)
        hyper = dict(hyper)
        if set(hyper) != set(self._hyperparameters):
            raise ValueError(
                f"{where} needs hyperparameters {sorted(self._hyperparameters)}, "
                f"got {sorted(map(shown, hyper))}"
            )
        if "betas" in hyper and isinstance(hyper["betas"], list):
            hyper["betas"] = tuple(hyper["betas"])  # JSON has no tuples
        checked = type(self)(self.params, **hyper)  # checks every value as the constructor does
        if set(buffers) != set(self._buffers):
            raise ValueError(
                f"{where} needs buffers {sorted(self._buffers)}, got {sorted(map(shown, buffers))}"
            )
        state: dict[str, list[float]] = {}
        for name in self._buffers:
            values = buffers[name]
            if not isinstance(values, (list, tuple)):
                raise TypeError(f"{where}: buffer {name!r} must be a list, got {type(values).__name__}")
            if len(values) != len(self.params):
                raise ValueError(
                    f"{where}: buffer {name!r} has {len(values)} entries for {len(self.params)} parameters"
                )
            state[name] = [_check_number(where, f"buffer {name!r}", v) for v in values]
        for name in self._hyperparameters:
            setattr(self, name, getattr(checked, name))
        self.state = state
        self.steps = steps

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


def _plain(x: Any) -> Any:
    return list(x) if isinstance(x, tuple) else x


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay
    (``torch.optim.SGD`` with ``dampening=0``)::

        g <- g + weight_decay * p                (weight decay: the gradient of (wd/2) p^2)
        v <- momentum * v + g                    (v starts at 0, so v = g at the first step)
        g <- g + momentum * v   if nesterov,  else  g <- v
        p <- p - lr * g

    Without momentum this is the book's ``w <- w - eta dC/dw``.
    """

    _buffers = ("momentum_buffer",)
    _hyperparameters = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        *,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(parameters, lr, lr_schedule=lr_schedule)
        self.momentum = _check_non_negative("SGD", "momentum", momentum)
        self.nesterov = _check_flag("SGD", "nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD nesterov=True needs momentum > 0, got momentum=0")
        self.weight_decay = _check_non_negative("SGD", "weight_decay", weight_decay)

    def _update(self, grads: list[float], lr: float, t: int) -> tuple[list[float], dict[str, list[float]]]:
        mu, wd = self.momentum, self.weight_decay
        values, buffer = [], []
        for p, g, v in zip(self.params, grads, self.state["momentum_buffer"]):
            if wd:
                g = g + wd * p.data
            if mu:
                v = mu * v + g
                g = g + mu * v if self.nesterov else v
            values.append(p.data - lr * g)
            buffer.append(v)
        return values, {"momentum_buffer": buffer}


class RMSprop(Optimizer):
    """Divide each step by a running root-mean-square of the gradient (``torch.optim.RMSprop``)::

        g <- g + weight_decay * p
        s <- alpha * s + (1 - alpha) * g^2                 (s starts at 0)
        centered:  a <- alpha * a + (1 - alpha) * g;  d = sqrt(s - a^2) + eps
        otherwise: d = sqrt(s) + eps
        momentum > 0:  b <- momentum * b + g / d;  p <- p - lr * b
        otherwise:     p <- p - lr * g / d

    Parameters with steep gradients take smaller steps, flat ones larger: one learning rate
    suits every parameter. (``s - a^2`` is a variance, >= 0 but for rounding: it is taken as at
    least 0.)
    """

    _buffers = ("square_avg", "grad_avg", "momentum_buffer")
    _hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(parameters, lr, lr_schedule=lr_schedule)
        self.alpha = _check_fraction("RMSprop", "alpha", alpha)
        self.eps = _check_positive("RMSprop", "eps", eps)
        self.weight_decay = _check_non_negative("RMSprop", "weight_decay", weight_decay)
        self.momentum = _check_non_negative("RMSprop", "momentum", momentum)
        self.centered = _check_flag("RMSprop", "centered", centered)

    def _update(self, grads: list[float], lr: float, t: int) -> tuple[list[float], dict[str, list[float]]]:
        alpha, eps, wd, mu = self.alpha, self.eps, self.weight_decay, self.momentum
        values: list[float] = []
        new: dict[str, list[float]] = {name: [] for name in self._buffers}
        old = self.state
        buffers = zip(old["square_avg"], old["grad_avg"], old["momentum_buffer"])
        for p, g, (s, a, b) in zip(self.params, grads, buffers):
            if wd:
                g = g + wd * p.data
            s = alpha * s + (1 - alpha) * g * g
            if self.centered:
                a = alpha * a + (1 - alpha) * g
                d = math.sqrt(max(s - a * a, 0.0)) + eps
            else:
                d = math.sqrt(s) + eps
            if mu:
                b = mu * b + g / d
                values.append(p.data - lr * b)
            else:
                values.append(p.data - lr * (g / d))
            new["square_avg"].append(s)
            new["grad_avg"].append(a)
            new["momentum_buffer"].append(b)
        return values, new


class Adam(Optimizer):
    """Adaptive moment estimation (Kingma & Ba 2015; ``torch.optim.Adam``)::

        g <- g + weight_decay * p              (L2 penalty, coupled: it goes through m and v)
        m <- beta1 * m + (1 - beta1) * g       (running mean of g,    starts at 0)
        v <- beta2 * v + (1 - beta2) * g^2     (running mean of g^2,  starts at 0)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     (bias correction)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    m and v start at 0, so early on they are too small by the factor 1 - beta^t; dividing by it
    corrects that. Written as PyTorch computes it: step size lr / (1 - beta1^t) and
    denominator sqrt(v) / sqrt(1 - beta2^t) + eps. The first step moves every parameter by
    about lr, whatever the size of its gradient.
    """

    _buffers = ("exp_avg", "exp_avg_sq")
    _hyperparameters = ("lr", "betas", "eps", "weight_decay")
    _decoupled = False

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(parameters, lr, lr_schedule=lr_schedule)
        owner = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner} betas must be a pair (beta1, beta2), got {shown(betas)}")
        self.betas = (_check_fraction(owner, "beta1", betas[0]), _check_fraction(owner, "beta2", betas[1]))
        self.eps = _check_positive(owner, "eps", eps)
        self.weight_decay = _check_non_negative(owner, "weight_decay", weight_decay)

    def _update(self, grads: list[float], lr: float, t: int) -> tuple[list[float], dict[str, list[float]]]:
        beta1, beta2 = self.betas
        eps, wd = self.eps, self.weight_decay
        step_size = lr / (1 - beta1**t)
        correction2_sqrt = math.sqrt(1 - beta2**t)
        values, ms, vs = [], [], []
        for p, g, m, v in zip(self.params, grads, self.state["exp_avg"], self.state["exp_avg_sq"]):
            x = p.data
            if self._decoupled:
                x = x * (1 - lr * wd)  # AdamW: shrink p itself, outside m and v
            elif wd:
                g = g + wd * x
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            values.append(x - step_size * (m / (math.sqrt(v) / correction2_sqrt + eps)))
            ms.append(m)
            vs.append(v)
        return values, {"exp_avg": ms, "exp_avg_sq": vs}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019; ``torch.optim.AdamW``)::

        p <- p * (1 - lr * weight_decay)       (decay the weight itself, not through g)
        then Adam's update of p from g alone (m, v, bias correction as in ``Adam``)

    With ``Adam(weight_decay=...)`` the decay term is divided by sqrt(v_hat) with the rest of
    the gradient, so weights with large gradients hardly decay; here every weight shrinks by the
    same factor each step.
    """

    _decoupled = True

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(parameters, lr, betas, eps, weight_decay, lr_schedule=lr_schedule)
