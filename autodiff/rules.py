"""Every operation the engine knows: its forward formula and its local derivatives, written once.

A rule is data. ``forward`` maps input numbers to the output number; ``partials`` holds one
function per input, the partial derivative of the output with respect to that input, given the
inputs and the output: ``d_dx(x, out)`` for a unary rule, ``d_dx(x, y, out)`` and
``d_dy(x, y, out)`` for a binary one.

Reverse mode multiplies the upstream gradient by these partials (a vector-Jacobian product, one
scalar at a time); forward mode multiplies them by the input tangents; higher-order derivatives
call the same partials on ``Value`` arguments so that they record a graph of their own. So the
partials are written with arithmetic and the helpers below, which work on plain numbers and on
anything with the engine's methods (``x.cos()``, ``x.log()``, ...), never with ``math`` alone.

Kinks use the subgradient PyTorch uses: ``relu'(0) = 0``, ``abs'(0) = 0``, ``leaky_relu'(0) = slope``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Partial = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Rule:
    """One operation: ``name`` (as errors and graphs show it), ``symbol`` (for pictures),
    ``forward`` on floats, one partial derivative per input, the ``math`` in one line, and the
    ``domain`` it needs, named in the error when an input falls outside it."""

    name: str
    symbol: str
    forward: Callable[..., float]
    partials: tuple[Partial, ...]
    math: str
    domain: str = "finite inputs"

    @property
    def arity(self) -> int:
        return len(self.partials)


# --- helpers that let one partial serve numbers (first order) and Values (higher order) -------


def _call(method: str, on_number: Callable[[float], float], x: Any) -> Any:
    return on_number(x) if isinstance(x, (int, float)) else getattr(x, method)()


def cos(x: Any) -> Any:
    return _call("cos", math.cos, x)


def sin(x: Any) -> Any:
    return _call("sin", math.sin, x)


def log(x: Any) -> Any:
    return _call("log", math.log, x)


def sigmoid(x: Any) -> Any:
    return _call("sigmoid", _sigmoid, x)


# --- forward formulas that need more than one library call --------------------------------


def _sigmoid(x: float) -> float:
    """1 / (1 + e^-x), computed so that no exponential overflows: e^x / (1 + e^x) for x < 0."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), finite for every finite x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _number(x: Any) -> float:
    """The number behind ``x``, a number or a Value. (``==`` on Values is identity, so a partial
    that tests a value for equality must look at the number.)"""
    return x if isinstance(x, (int, float)) else x.data


def _pow_d_dx(x: Any, y: Any, out: Any) -> Any:
    """d(x^y)/dx = y x^(y-1); at x = 0 with y = 0, where x^(y-1) has no value, the limit 0
    (x^0 = 1 is constant)."""
    if _number(y) == 0 and _number(x) == 0:
        return 0.0
    return y * x ** (y - 1)


def _pow_d_dy(x: Any, y: Any, out: Any) -> Any:
    """d(x^y)/dy = x^y ln x for x > 0; at x = 0 the limit 0 (as PyTorch takes it); for x < 0,
    where x^y is real only at whole y, there is no real derivative in y."""
    if x > 0:
        return out * log(x)
    if x < 0:
        raise ValueError("x ** y has no real derivative in y for x < 0")
    return 0.0


# --- the table ------------------------------------------------------------------------------

ADD = Rule(
    "add", "+", operator.add,
    (lambda x, y, out: 1.0, lambda x, y, out: 1.0),
    "x + y;  d/dx = 1,  d/dy = 1",
)
SUB = Rule(
    "sub", "-", operator.sub,
    (lambda x, y, out: 1.0, lambda x, y, out: -1.0),
    "x - y;  d/dx = 1,  d/dy = -1",
)
MUL = Rule(
    "mul", "*", operator.mul,
    (lambda x, y, out: y, lambda x, y, out: x),
    "x * y;  d/dx = y,  d/dy = x",
)
DIV = Rule(
    "div", "/", operator.truediv,
    (lambda x, y, out: 1.0 / y, lambda x, y, out: -out / y),
    "x / y;  d/dx = 1/y,  d/dy = -x/y^2",
    "a nonzero divisor",
)
POW = Rule(
    "pow", "**", math.pow,
    (_pow_d_dx, _pow_d_dy),
    "x ** y;  d/dx = y x^(y-1),  d/dy = x^y log x",
    "a real, finite power (x > 0, or x < 0 with an integer y, or x = 0 with y >= 0)",
)
LEAKY_RELU = Rule(
    "leaky_relu", "leaky_relu", _leaky_relu,
    (lambda x, y, out: 1.0 if x > 0 else y, lambda x, y, out: 0.0 if x > 0 else x),
    "x if x > 0 else slope * x;  d/dx = 1 if x > 0 else slope,  d/dslope = 0 if x > 0 else x",
)

def _dot(x: Sequence[float], y: Sequence[float]) -> float:
    total: float = sum(map(operator.mul, x, y))
    return total


DOT = Rule(
    "dot", "·", _dot,
    (lambda x, y, out: y, lambda x, y, out: x),
    "x · y = sum_i x_i y_i, over two vectors;  d/dx_i = y_i,  d/dy_i = x_i",
)
"""The one rule over vectors: a neuron's weighted sum w · x as a single node, whose local
derivatives are the inputs (for the weights) and the weights (for the inputs)."""

NEG = Rule("neg", "-", operator.neg, (lambda x, out: -1.0,), "-x;  d/dx = -1")
ABS = Rule(
    "abs", "abs", abs,
    (lambda x, out: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0),),
    "|x|;  d/dx = sign(x), 0 at x = 0",
)
EXP = Rule(
    "exp", "exp", math.exp, (lambda x, out: out,), "e^x;  d/dx = e^x",
    "an input of at most 709.78 (e^x overflows a float beyond it)",
)
LOG = Rule("log", "log", math.log, (lambda x, out: 1.0 / x,), "ln x;  d/dx = 1/x", "a positive input")
SQRT = Rule(
    "sqrt", "sqrt", math.sqrt, (lambda x, out: 0.5 / out,),
    "sqrt(x);  d/dx = 1 / (2 sqrt(x)), infinite at 0",
    "a non-negative input",
)
TANH = Rule(
    "tanh", "tanh", math.tanh, (lambda x, out: 4.0 * sigmoid(2.0 * x) * sigmoid(-2.0 * x),),
    "tanh(x);  d/dx = 1 - tanh(x)^2, computed as 4 σ(2x) σ(-2x): equal, and still exact to the"
    " last digits at large |x|, where tanh(x) rounds to ±1 and 1 - tanh(x)^2 to 0",
)
SIGMOID = Rule(
    "sigmoid", "σ", _sigmoid, (lambda x, out: out * sigmoid(-x),),
    "σ(x) = 1 / (1 + e^-x);  d/dx = σ(x) (1 - σ(x)), computed as σ(x) σ(-x): equal, and exact"
    " at large x, where σ(x) rounds to 1",
)
RELU = Rule(
    "relu", "relu", _relu, (lambda x, out: 1.0 if x > 0 else 0.0,),
    "max(x, 0);  d/dx = 1 if x > 0 else 0",
)
SOFTPLUS = Rule(
    "softplus", "softplus", _softplus, (lambda x, out: sigmoid(x),),
    "log(1 + e^x);  d/dx = σ(x)",
)
SIN = Rule("sin", "sin", math.sin, (lambda x, out: cos(x),), "sin x;  d/dx = cos x")
COS = Rule("cos", "cos", math.cos, (lambda x, out: -sin(x),), "cos x;  d/dx = -sin x")

RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (ADD, SUB, MUL, DIV, POW, LEAKY_RELU, DOT, NEG, ABS, EXP, LOG, SQRT, TANH, SIGMOID,
                 RELU, SOFTPLUS, SIN, COS)
}
"""Every rule by name: the one place to look up an operation's math."""
