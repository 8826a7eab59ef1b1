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

Each built-in rule also carries its formulas as text (``Rule.code``, a ``Code``): Python
expressions in the names ``x``, ``y`` and ``out`` that do exactly the float operations of its
functions (``tests/test_rules.py`` checks them bit for bit), which compiled programs are made of
(``autodiff.compile``), and the same formulas as a reader writes them, which pictures print.

Kinks use the subgradient PyTorch uses: ``relu'(0) = 0``, ``abs'(0) = 0``, ``leaky_relu'(0) = slope``.
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Partial = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Code:
    """A rule's formulas as text, over the names its inputs have in the rule, ``x`` (and ``y``),
    and ``out`` for its output.

    ``forward`` and ``partials`` are Python expressions that do exactly the float operations of
    the rule's functions, in the same order, so that a program made of them computes the same
    bits (the names they use are those of ``CODE_NAMES``). ``shown_forward`` and
    ``shown_partials`` are the same formulas as a reader writes them, for pictures and captions;
    empty when the code reads well as it is. For the rule over two vectors (``dot``) every text
    is per element: the forward term ``x * y`` is summed left to right, and the partial of
    ``x_i`` is ``y`` (its partner ``y_i``).
    """

    forward: str
    partials: tuple[str, ...]
    shown_forward: str = ""
    shown_partials: tuple[str, ...] = ()

    @property
    def readable(self) -> tuple[str, tuple[str, ...]]:
        """``(forward, partials)`` as pictures print them."""
        return self.shown_forward or self.forward, self.shown_partials or self.partials


@dataclass(frozen=True, slots=True)
class Rule:
    """One operation: ``name`` (as errors and graphs show it), ``symbol`` (for pictures),
    ``forward`` on floats, one partial derivative per input, the ``math`` in one line, the
    ``domain`` it needs, named in the error when an input falls outside it, and optionally its
    formulas as text (``code``), which compiled programs and pictures read. A rule of your own
    without ``code`` still compiles: the program then calls its functions."""

    name: str
    symbol: str
    forward: Callable[..., float]
    partials: tuple[Partial, ...]
    math: str
    domain: str = "finite inputs"
    code: Code | None = None

    def __post_init__(self) -> None:
        for field, value in (("name", self.name), ("symbol", self.symbol), ("math", self.math),
                             ("domain", self.domain)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"Rule() {field} must be a non-empty str, got {value!r:.80}")
        if not callable(self.forward):
            raise TypeError(f"Rule() forward must be a function, got {type(self.forward).__name__}")
        if not isinstance(self.partials, tuple) or not 1 <= len(self.partials) <= 2:
            raise TypeError(
                f"Rule() partials must be a tuple of one function per input (1 or 2 of them), "
                f"got {self.partials!r:.80}"
            )
        n = len(self.partials)
        _check_takes(self.forward, n, "Rule() forward",
                     f"one number per input: partials has {n} function{'s' * (n > 1)}, one per input")
        for i, partial in enumerate(self.partials):
            if not callable(partial):
                raise TypeError(f"Rule() partials[{i}] must be a function, got {type(partial).__name__}")
            _check_takes(partial, n + 1, f"Rule() partials[{i}]", "the inputs and the output")
        if self.code is not None:
            if not isinstance(self.code, Code):
                raise TypeError(f"Rule() code must be a rules.Code, got {type(self.code).__name__}")
            if len(self.code.partials) != len(self.partials):
                raise ValueError(
                    f"Rule() code has {len(self.code.partials)} partials for {len(self.partials)} inputs"
                )

    @property
    def arity(self) -> int:
        return len(self.partials)

    def __reduce__(self) -> str | tuple[Any, ...]:
        """A built-in rule pickles as its name, so that a graph pickles with it; a rule of your
        own pickles field by field (its functions must be importable, not lambdas)."""
        if RULES.get(self.name) is self:
            return _builtin, (self.name,)
        fields = (self.name, self.symbol, self.forward, self.partials, self.math, self.domain, self.code)
        return Rule, fields


def _builtin(name: str) -> Rule:
    """The built-in rule called ``name`` (how a pickled rule comes back)."""
    return RULES[name]


def _check_takes(function: Callable[..., Any], count: int, what: str, meaning: str) -> None:
    """TypeError unless ``function`` accepts ``count`` positional arguments (when Python can
    tell: some built-in functions have no signature)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*range(count))
    except TypeError:
        raise TypeError(f"{what} must take {count} arguments ({meaning}), but its signature is "
                        f"{signature}") from None


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


def _dot(x: Sequence[float], y: Sequence[float]) -> float:
    """x_0 y_0 + x_1 y_1 + ..., added left to right from the first product, as a program that
    writes the sum out does it. (``sum`` starts from -0.0, which adds nothing to any float, not
    even to -0.0; from Python 3.12 on, ``sum`` of floats compensates its rounding errors, so
    there the products are added one by one.)"""
    total: float = _sum(map(operator.mul, x, y), -0.0)
    return total


if sys.version_info >= (3, 12):  # pragma: no cover - the machines we test on run 3.10 and 3.11

    def _sum(terms: Any, start: float) -> float:
        return functools.reduce(operator.add, terms, start)  # type: ignore[no-any-return]

else:
    _sum = sum


# --- the table ------------------------------------------------------------------------------

ADD = Rule(
    "add", "+", operator.add,
    (lambda x, y, out: 1.0, lambda x, y, out: 1.0),
    "x + y;  d/dx = 1,  d/dy = 1",
    code=Code("x + y", ("1.0", "1.0"), "x + y", ("1", "1")),
)
SUB = Rule(
    "sub", "-", operator.sub,
    (lambda x, y, out: 1.0, lambda x, y, out: -1.0),
    "x - y;  d/dx = 1,  d/dy = -1",
    code=Code("x - y", ("1.0", "-1.0"), "x - y", ("1", "-1")),
)
MUL = Rule(
    "mul", "*", operator.mul,
    (lambda x, y, out: y, lambda x, y, out: x),
    "x * y;  d/dx = y,  d/dy = x",
    code=Code("x * y", ("y", "x"), "x · y"),
)
DIV = Rule(
    "div", "/", operator.truediv,
    (lambda x, y, out: 1.0 / y, lambda x, y, out: -out / y),
    "x / y;  d/dx = 1/y,  d/dy = -x/y^2",
    "a nonzero divisor",
    Code("x / y", ("1.0 / y", "-out / y"), "x / y", ("1 / y", "-x / y²")),
)
POW = Rule(
    "pow", "**", math.pow,
    (_pow_d_dx, _pow_d_dy),
    "x ** y;  d/dx = y x^(y-1),  d/dy = x^y log x",
    "a real, finite power (x > 0, or x < 0 with an integer y, or x = 0 with y >= 0)",
    Code("math.pow(x, y)", ("0.0 if y == 0 and x == 0 else y * x ** (y - 1)", "_pow_d_dy(x, y, out)"),
         "x^y", ("y · x^(y - 1)", "x^y · ln x")),
)
LEAKY_RELU = Rule(
    "leaky_relu", "leaky_relu", _leaky_relu,
    (lambda x, y, out: 1.0 if x > 0 else y, lambda x, y, out: 0.0 if x > 0 else x),
    "x if x > 0 else slope * x;  d/dx = 1 if x > 0 else slope,  d/dslope = 0 if x > 0 else x",
    code=Code("x if x > 0.0 else y * x", ("1.0 if x > 0 else y", "0.0 if x > 0 else x"),
              "x if x > 0 else y · x", ("1 if x > 0 else y", "0 if x > 0 else x")),
)
DOT = Rule(
    "dot", "·", _dot,
    (lambda x, y, out: y, lambda x, y, out: x),
    "x · y = sum_i x_i y_i, over two vectors;  d/dx_i = y_i,  d/dy_i = x_i",
    code=Code("x * y", ("y", "x"), "x · y"),
)
"""The one rule over vectors: a neuron's weighted sum w · x as a single node, whose local
derivatives are the inputs (for the weights) and the weights (for the inputs)."""

NEG = Rule("neg", "-", operator.neg, (lambda x, out: -1.0,), "-x;  d/dx = -1",
           code=Code("-x", ("-1.0",), "-x", ("-1",)))
ABS = Rule(
    "abs", "abs", abs,
    (lambda x, out: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0),),
    "|x|;  d/dx = sign(x), 0 at x = 0",
    code=Code("abs(x)", ("1.0 if x > 0 else (-1.0 if x < 0 else 0.0)",), "|x|", ("sign(x)",)),
)
EXP = Rule(
    "exp", "exp", math.exp, (lambda x, out: out,), "e^x;  d/dx = e^x",
    "an input of at most 709.78 (e^x overflows a float beyond it)",
    Code("math.exp(x)", ("out",), "e^x", ("e^x",)),
)
LOG = Rule("log", "log", math.log, (lambda x, out: 1.0 / x,), "ln x;  d/dx = 1/x", "a positive input",
           Code("math.log(x)", ("1.0 / x",), "ln x", ("1 / x",)))
SQRT = Rule(
    "sqrt", "sqrt", math.sqrt, (lambda x, out: 0.5 / out,),
    "sqrt(x);  d/dx = 1 / (2 sqrt(x)), infinite at 0",
    "a non-negative input",
    Code("math.sqrt(x)", ("0.5 / out",), "√x", ("1 / (2 √x)",)),
)
TANH = Rule(
    "tanh", "tanh", math.tanh, (lambda x, out: 4.0 * sigmoid(2.0 * x) * sigmoid(-2.0 * x),),
    "tanh(x);  d/dx = 1 - tanh(x)^2, computed as 4 σ(2x) σ(-2x): equal, and still exact to the"
    " last digits at large |x|, where tanh(x) rounds to ±1 and 1 - tanh(x)^2 to 0",
    code=Code("math.tanh(x)", ("4.0 * _sigmoid(2.0 * x) * _sigmoid(-2.0 * x)",), "tanh(x)",
              ("1 - tanh(x)²",)),
)
SIGMOID = Rule(
    "sigmoid", "σ", _sigmoid, (lambda x, out: out * sigmoid(-x),),
    "σ(x) = 1 / (1 + e^-x);  d/dx = σ(x) (1 - σ(x)), computed as σ(x) σ(-x): equal, and exact"
    " at large x, where σ(x) rounds to 1",
    code=Code("_sigmoid(x)", ("out * _sigmoid(-x)",), "σ(x)", ("σ(x) · (1 - σ(x))",)),
)
RELU = Rule(
    "relu", "relu", _relu, (lambda x, out: 1.0 if x > 0 else 0.0,),
    "max(x, 0);  d/dx = 1 if x > 0 else 0",
    code=Code("x if x > 0.0 else 0.0", ("1.0 if x > 0 else 0.0",), "max(x, 0)", ("1 if x > 0 else 0",)),
)
SOFTPLUS = Rule(
    "softplus", "softplus", _softplus, (lambda x, out: sigmoid(x),),
    "log(1 + e^x);  d/dx = σ(x)",
    code=Code("_softplus(x)", ("_sigmoid(x)",), "ln(1 + e^x)", ("σ(x)",)),
)
SIN = Rule("sin", "sin", math.sin, (lambda x, out: cos(x),), "sin x;  d/dx = cos x",
           code=Code("math.sin(x)", ("math.cos(x)",), "sin x", ("cos x",)))
COS = Rule("cos", "cos", math.cos, (lambda x, out: -sin(x),), "cos x;  d/dx = -sin x",
           code=Code("math.cos(x)", ("-math.sin(x)",), "cos x", ("-sin x",)))

RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (ADD, SUB, MUL, DIV, POW, LEAKY_RELU, DOT, NEG, ABS, EXP, LOG, SQRT, TANH, SIGMOID,
                 RELU, SOFTPLUS, SIN, COS)
}
"""Every rule by name: the one place to look up an operation's math."""

CODE_NAMES: dict[str, Any] = {
    "math": math, "_sigmoid": _sigmoid, "_softplus": _softplus, "_pow_d_dy": _pow_d_dy,
}
"""The names that the rules' code text uses besides x, y and out."""
