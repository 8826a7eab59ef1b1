"""Shared tools for the test suite: finite differences and random expression programs.

A *program* is a small straight-line expression over ``n_inputs`` inputs: each step applies one
of ``STEPS`` to earlier slots, and the last slot is the output. The same program is evaluated
three ways: on engine ``Value``s, on plain floats (an independent re-implementation with the
``math`` module, used for finite differences), and on PyTorch tensors (the oracle test). Every
step keeps each primitive inside its domain for any finite input (``log`` reads
``softplus(x) + 0.1``, ``sqrt`` reads ``x*x + 1``, ...), so programs never raise.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autodiff import Value

EPS = sys.float_info.epsilon


# --- finite differences ------------------------------------------------------------------------


def central_difference(f: Callable[[float], float], x: float, h: float) -> tuple[float, float]:
    """d f / d x at ``x`` by a central difference with one Richardson step (error O(h^4)).

    Returns the estimate and a bound on its rounding noise: each value of ``f`` is off by about
    one ulp, and that error is divided by the step. The steps actually taken (``(x + h) - (x -
    h)``, exact in floating point) are used, not ``h`` itself.
    """

    def one(step: float) -> tuple[float, float]:
        xp, xm = x + step, x - step
        fp, fm = f(xp), f(xm)
        return (fp - fm) / (xp - xm), max(abs(fp), abs(fm))

    d1, m1 = one(h)
    d2, m2 = one(h / 2)
    estimate = (4.0 * d2 - d1) / 3.0
    noise = 8.0 * EPS * max(m1, m2) / h
    return estimate, noise


def assert_matches_fd(
    analytic: float,
    f: Callable[[float], float],
    x: float,
    h: float,
    rtol: float = 1e-9,
    noise_factor: float = 1.0,
    what: str = "",
) -> float:
    """Assert that ``analytic`` equals the finite-difference derivative of ``f`` at ``x`` to
    ``rtol`` relative, plus the rounding noise of the difference itself. Returns the estimate."""
    estimate, noise = central_difference(f, x, h)
    tol = rtol * abs(estimate) + noise_factor * noise
    assert math.isfinite(analytic), f"{what}: analytic derivative {analytic!r} is not finite"
    assert abs(analytic - estimate) <= tol, (
        f"{what}: analytic {analytic!r} vs finite difference {estimate!r} at x={x!r} "
        f"(h={h!r}, |diff|={abs(analytic - estimate):.3g} > tol={tol:.3g})"
    )
    return estimate


def step_for(x: float, relative: bool, singular: Sequence[float] = (), factor: float = 1e-4) -> float:
    """A finite-difference step for ``x``: ``factor`` times the natural scale of the argument
    (``max(1, |x|)`` for power-like arguments, 1 for exponential-like ones), shrunk so that
    ``x +- h`` stays well clear of any ``singular`` point (a kink or a domain boundary)."""
    scale = max(1.0, abs(x)) if relative else 1.0
    for s in singular:
        scale = min(scale, abs(x - s))
    assert scale > 0.0, f"no finite-difference step at the singular point {x!r}"
    return factor * scale


# --- pure-float references ---------------------------------------------------------------------


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) without overflow (written independently of the engine)."""
    z = math.exp(-abs(x))
    return 1.0 / (1.0 + z) if x >= 0 else z / (1.0 + z)


def softplus(x: float) -> float:
    """log(1 + e^x) without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def leaky_relu(x: float, slope: float) -> float:
    return x if x > 0 else slope * x


def relu(x: float) -> float:
    return x if x > 0 else 0.0


class FloatOps:
    """The primitives on plain floats."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    sqrt = staticmethod(math.sqrt)
    tanh = staticmethod(math.tanh)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    abs = staticmethod(abs)
    sigmoid = staticmethod(sigmoid)
    softplus = staticmethod(softplus)
    relu = staticmethod(relu)
    leaky_relu = staticmethod(leaky_relu)


class ValueOps:
    """The primitives on engine Values, through the public methods only."""

    exp = staticmethod(Value.exp)
    log = staticmethod(Value.log)
    sqrt = staticmethod(Value.sqrt)
    tanh = staticmethod(Value.tanh)
    sin = staticmethod(Value.sin)
    cos = staticmethod(Value.cos)
    abs = staticmethod(abs)
    sigmoid = staticmethod(Value.sigmoid)
    softplus = staticmethod(Value.softplus)
    relu = staticmethod(Value.relu)

    @staticmethod
    def leaky_relu(x: Value, slope: Any) -> Value:
        return x.leaky_relu(slope)


# --- random programs ---------------------------------------------------------------------------

Step = Callable[[Any, Any, Any], Any]
"""``step(F, x, y)`` on values of any one kind, with ``F`` the primitives for that kind."""

UNARY_STEPS: dict[str, Step] = {
    "neg": lambda F, x, y: -x,
    "abs": lambda F, x, y: F.abs(x),
    "exp": lambda F, x, y: F.exp(F.tanh(x) * 3.0),
    "log": lambda F, x, y: F.log(F.softplus(x) + 0.1),
    "sqrt": lambda F, x, y: F.sqrt(x * x + 1.0),
    "tanh": lambda F, x, y: F.tanh(x),
    "sigmoid": lambda F, x, y: F.sigmoid(x),
    "relu": lambda F, x, y: F.relu(x),
    "softplus": lambda F, x, y: F.softplus(x),
    "sin": lambda F, x, y: F.sin(x),
    "cos": lambda F, x, y: F.cos(x),
    "leaky_relu": lambda F, x, y: F.leaky_relu(x, 0.1),
    "square": lambda F, x, y: x**2,
    "pow_const": lambda F, x, y: (F.sigmoid(x) + 0.5) ** 2.5,
    "pow_neg_int": lambda F, x, y: (x * x + 1.0) ** -2,
    "rpow": lambda F, x, y: 2.0 ** F.tanh(x),
    "rsub": lambda F, x, y: 3.0 - x,
    "rdiv": lambda F, x, y: 1.0 / (x * x + 1.0),
    "affine": lambda F, x, y: x * 0.75 - 0.25,
}
BINARY_STEPS: dict[str, Step] = {
    "add": lambda F, x, y: x + y,
    "sub": lambda F, x, y: x - y,
    "mul": lambda F, x, y: x * y,
    "div": lambda F, x, y: x / (F.softplus(y) + 0.5),
    "pow": lambda F, x, y: (F.softplus(x) + 0.5) ** F.tanh(y),
    "leaky_slope": lambda F, x, y: F.leaky_relu(x, F.sigmoid(y)),
}
STEPS: dict[str, Step] = {**UNARY_STEPS, **BINARY_STEPS}

KINK_STEPS = frozenset({"abs", "relu", "leaky_relu", "leaky_slope"})
"""Steps whose first operand meets a kink at 0."""


@dataclass(frozen=True)
class Program:
    n_inputs: int
    steps: tuple[tuple[str, int, int], ...]
    """(step name, slot of x, slot of y); y is ignored by unary steps."""

    def run(self, F: Any, inputs: Sequence[Any]) -> list[Any]:
        """Every slot: the inputs, then one per step."""
        slots = list(inputs)
        for name, i, j in self.steps:
            slots.append(STEPS[name](F, slots[i], slots[j]))
        return slots

    def kink_sides(self, inputs: Sequence[float]) -> tuple[bool, ...]:
        """Which side of its kink each kinked step's operand lies on (for floats)."""
        slots = list(inputs)
        sides = []
        for name, i, j in self.steps:
            if name in KINK_STEPS:
                sides.append(slots[i] > 0)
            slots.append(STEPS[name](FloatOps, slots[i], slots[j]))
        return tuple(sides)

    def __str__(self) -> str:
        return "; ".join(f"s{self.n_inputs + k} = {n}(s{i}, s{j})" for k, (n, i, j) in enumerate(self.steps))


def random_program(rng: random.Random, n_inputs: int, n_steps: int) -> Program:
    """A program whose every step reads one or two earlier slots, preferring recent ones so
    that the graph is deep, with reuse (diamonds, ``x op x``) arising naturally."""
    names = sorted(STEPS)
    steps = []
    for k in range(n_steps):
        available = n_inputs + k
        i = max(0, available - 1 - int(rng.expovariate(0.7)))
        j = rng.randrange(available)
        steps.append((rng.choice(names), i, j))
    return Program(n_inputs, tuple(steps))


def value_gradients(program: Program, xs: Sequence[float]) -> tuple[float, list[float]]:
    """The program's output and its gradient with respect to every input, by ``backward()``."""
    leaves = [Value(x) for x in xs]
    out = program.run(ValueOps, leaves)[-1]
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


# --- vector functions and small matrices (higher-order, functional and forward-mode tests) -----


def vector_function(program: Program, n_outputs: int) -> Callable[[Sequence[Any]], list[Any]]:
    """``program`` as a function from R^n to R^m: its last ``n_outputs`` slots, on Values.

    The outputs share most of their graph (each later slot reads earlier ones), as the
    outputs of a layer share its inputs. ``n_outputs`` must not exceed the number of steps,
    so that every output is an operation node rather than an input passed through."""
    assert 1 <= n_outputs <= len(program.steps)
    return lambda xs: program.run(ValueOps, xs)[-n_outputs:]


def matmul(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> list[list[float]]:
    """The matrix product of two lists of rows."""
    return [[math.fsum(row[k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for row in a]


def matvec(a: Sequence[Sequence[float]], v: Sequence[float]) -> list[float]:
    """A v, for A a list of rows."""
    return [math.fsum(x * y for x, y in zip(row, v)) for row in a]


def vecmat(u: Sequence[float], a: Sequence[Sequence[float]]) -> list[float]:
    """u^T A, for A a list of rows."""
    return [math.fsum(u[i] * a[i][j] for i in range(len(a))) for j in range(len(a[0]))]


def dot(u: Sequence[float], v: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(u, v))
