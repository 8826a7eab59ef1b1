"""Neurons, layers and multi-layer perceptrons built from ``autodiff.Value``.

A neuron computes ``activation(w . x + b)``; a layer is neurons side by side reading the same
inputs; an MLP is layers in a chain, ``a^l = activation(W^l a^(l-1) + b^l)``, its hidden layers
using ``activation`` and its last layer ``output_activation`` (linear by default).

As in micrograd, a layer or an MLP whose last layer has one neuron returns that one Value, and
several outputs come as a list: ``ypred = [n(x) for x in xs]`` is a list of Values for a
one-output network. micrograd's ``nonlin=`` keyword works too (``Neuron(3, nonlin=False)`` is
linear), so code written for the micrograd package runs by changing its imports.

Every parameter has a name, the label it carries in graph pictures: ``L0.N3.w1`` is weight 1 of
neuron 3 of layer 0, ``L0.N3.b`` its bias. ``named_parameters()`` and ``state_dict()`` use these
names, as PyTorch's do.

What a model holds is data: Values, numbers and the names of its activations, which are looked
up when the model is called. So every model pickles, deep-copies and crosses process boundaries.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import NamedTuple, ParamSpec, TypeVar

from autodiff import DomainError, Value, dot, matvec
from autodiff.value import shown

Input = Value | float


# --- activations -------------------------------------------------------------------------------


def linear(z: Value) -> Value:
    """z;  d/dz = 1: no activation (a regression output, or logits)."""
    return z


def relu(z: Value) -> Value:
    """max(z, 0);  d/dz = 1 if z > 0 else 0."""
    return z.relu()


def tanh(z: Value) -> Value:
    """tanh(z);  d/dz = 1 - tanh(z)^2."""
    return z.tanh()


def sigmoid(z: Value) -> Value:
    """1 / (1 + e^-z);  d/dz = sigmoid(z) (1 - sigmoid(z))."""
    return z.sigmoid()


def leaky_relu(z: Value) -> Value:
    """z if z > 0 else 0.01 z;  d/dz = 1 if z > 0 else 0.01."""
    return z.leaky_relu(0.01)


ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "linear": linear,
    "relu": relu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "leaky_relu": leaky_relu,
}
"""The activations a neuron can use, by name. A neuron keeps the name and looks the function up
here when it fires."""


# --- initialisation ----------------------------------------------------------------------------


def _uniform(fan_in: int, fan_out: int, rng: random.Random) -> float:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance 1 / (3 fan_in) (``torch.nn.Linear``'s)."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound)


def _kaiming(fan_in: int, fan_out: int, rng: random.Random) -> float:
    """N(0, 2 / fan_in) (He et al. 2015): relu zeroes half of a layer's sums, and doubling the
    variance keeps the activations' scale from layer to layer."""
    return rng.gauss(0.0, math.sqrt(2.0 / fan_in))


def _xavier(fan_in: int, fan_out: int, rng: random.Random) -> float:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), variance 2 / (fan_in + fan_out) (Glorot &
    Bengio 2010): the scale of the signal kept forwards and of the gradient backwards, for tanh."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound)


INITS: dict[str, Callable[[int, int, random.Random], float]] = {
    "uniform": _uniform,
    "kaiming": _kaiming,
    "xavier": _xavier,
}
"""How a neuron's weights are drawn, by name: ``draw(fan_in, fan_out, rng)`` gives one weight.
``fan_in`` is the neuron's number of inputs, ``fan_out`` the number of neurons in its layer.
Biases start at 0 whatever the scheme."""


# --- argument checks ---------------------------------------------------------------------------


def _finite(x: numbers.Real, what: str) -> float:
    """``float(x)`` of a real number (int, bool, float, numpy scalar), or a DomainError naming
    ``what`` when it is not finite: NaN, an infinity, an int too large for a float."""
    try:
        number = float(x)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise DomainError(f"{what} must be finite, got {shown(x)}")
    return number


def _check_count(owner: str, name: str, n: object) -> int:
    """A size: a whole number >= 1 (an int, or a numpy integer), as an int."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{owner} {name} must be a positive whole number, got {shown(n)}")
    return int(n)


def _check_name(owner: str, name: str, value: object, choices: Mapping[str, object]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner} unknown {name} {shown(value)}; choose one of {', '.join(choices)}")
    return value


def _activation(owner: str, activation: object, nonlin: object) -> str:
    """The activation's name, from ``activation`` or from micrograd's ``nonlin`` (True is relu,
    False linear)."""
    if nonlin is not None:
        if not isinstance(nonlin, bool):
            raise TypeError(f"{owner} nonlin must be True or False (micrograd's), got {shown(nonlin)}")
        if activation != "relu":
            raise ValueError(
                f"{owner} got activation={shown(activation)} and nonlin={nonlin!r}: give one of them "
                "(nonlin=True is relu, nonlin=False linear)"
            )
        return "relu" if nonlin else "linear"
    if isinstance(activation, bool):
        raise ValueError(
            f"{owner} activation must be a name, got {activation!r}: for micrograd's meaning "
            f"pass nonlin={activation!r}"
        )
    return _check_name(owner, "activation", activation, ACTIVATIONS)


def _random(owner: str, rng: object, seed: object) -> random.Random:
    """The generator the weights are drawn from: ``rng``, or a new one seeded with ``seed``."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{owner} seed must be None or an int, got {type(seed).__name__}: {shown(seed)}")
    if rng is None:
        return random.Random(None if seed is None else int(seed))
    if not isinstance(rng, random.Random):
        raise TypeError(f"{owner} rng must be a random.Random, got {type(rng).__name__}")
    if seed is not None:
        raise ValueError(f"{owner} got both rng and seed; give one of them")
    return rng


MAX_PARAMETERS = 10_000_000
"""The most parameters a model may have: ten million scalar Values take about a gigabyte, and
a forward pass through them minutes. Larger sizes are refused before anything is built."""


def _check_size(owner: str, sizes: Sequence[int]) -> int:
    """The number of parameters of layers of ``sizes[1:]`` neurons on ``sizes[0]`` inputs
    (weights and a bias per neuron), refused beyond ``MAX_PARAMETERS``."""
    count = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    if count > MAX_PARAMETERS:
        many = f"{count:,}" if count < 10**30 else "more than 10^30"
        raise ValueError(
            f"{owner} would have {many} parameters; at most {MAX_PARAMETERS:,} fit a scalar engine "
            "(about 1 GB)"
        )
    return count


def _neurons(
    owner: str, nin: object, nout: object, activation: object, nonlin: object, init: object, rng: object,
    seed: object,
) -> tuple[int, int, str, random.Random]:
    """The arguments of a Neuron (one neuron) or a Layer, checked: the sizes, the activation's
    name and the generator to draw the weights from."""
    nin = _check_count(owner, "nin (its number of inputs)", nin)
    nout = _check_count(owner, "nout (its number of neurons)", nout)
    _check_size(owner, (nin, nout))
    name = _activation(owner, activation, nonlin)
    _check_name(owner, "init", init, INITS)
    return nin, nout, name, _random(owner, rng, seed)


P = ParamSpec("P")
R = TypeVar("R")


def _reports_as(owner: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: a DomainError the engine raises inside the function (an overflow deep in a
    weighted sum, say) comes out saying which function of ours it was in, ``owner``, first."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def reporting(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except DomainError as error:
                if str(error).startswith(owner):
                    raise
                raise DomainError(f"{owner}: {error}") from error

        return reporting

    return decorate


def _inputs(owner: str, x: object, nin: int) -> tuple[Input, ...]:
    """The inputs ``x`` of one call, checked: ``nin`` Values or finite real numbers (bools and
    numpy scalars become floats)."""
    if isinstance(x, (str, bytes, Value, Mapping, Set)) or not isinstance(x, Iterable):
        raise TypeError(
            f"{owner} input must be a list of {nin} numbers or Values, got {type(x).__name__}"
        )
    xs = tuple(x)
    if len(xs) != nin:
        raise ValueError(f"{owner} expects {nin} inputs, got {len(xs)}")
    if all(type(v) is Value or (type(v) is float and math.isfinite(v)) for v in xs):
        return xs
    checked: list[Input] = []
    for i, v in enumerate(xs):
        if type(v) is Value:
            checked.append(v)
            continue
        if not isinstance(v, numbers.Real):
            raise TypeError(
                f"{owner} input x[{i}] must be a number or a Value, got {type(v).__name__}: {shown(v)}"
            )
        checked.append(_finite(v, f"{owner} input x[{i}]"))
    return tuple(checked)


# --- modules -----------------------------------------------------------------------------------

ModuleT = TypeVar("ModuleT", bound="Module")


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` skipped: the model's parameters the state did
    not hold, and the state's names the model does not have."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Anything with parameters, named as PyTorch names them.

    ``parameters()`` lists them and ``named_parameters()`` pairs each with its name, in the same
    order; ``zero_grad()`` clears their grads; ``state_dict()`` / ``load_state_dict()`` copy
    their values out and back in; ``train()`` / ``eval()`` set ``training`` on the module and
    every submodule (``children()``). No layer here behaves differently in training yet; the
    flag is there for those that will (dropout, batch norm), as in PyTorch.

    A subclass overrides ``parameters()``; it may override ``named_parameters()`` and
    ``children()`` too, else its parameters are named by position: ``"0"``, ``"1"``, ...
    """

    training: bool = True
    """True after ``train()`` (and from the start), False after ``eval()``."""

    def parameters(self) -> list[Value]:
        return []

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """``(name, parameter)`` pairs, in the order of ``parameters()``."""
        for i, p in enumerate(self.parameters()):
            yield str(i), p

    def children(self) -> list[Module]:
        """The modules this one is made of (a Layer's neurons, an MLP's layers)."""
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def train(self: ModuleT, mode: bool = True) -> ModuleT:
        """Set ``training = mode`` here and in every submodule; returns the module itself."""
        if not isinstance(mode, bool):
            raise TypeError(f"train() mode must be True or False, got {shown(mode)}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self: ModuleT) -> ModuleT:
        """``train(False)``: evaluation mode. It does not stop graph recording: use
        ``autodiff.no_grad()`` for that."""
        return self.train(False)

    def state_dict(self) -> dict[str, float]:
        """Every parameter's value by name: ``{"L0.N0.w0": 0.31..., ...}``, a copy."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters' values from ``state`` (name -> number), as ``state_dict()`` gives.

        With ``strict`` (the default) the names must match exactly: a missing or an unexpected
        name is a ValueError listing them. Each value must be a finite real number (TypeError,
        ValueError otherwise). Everything is checked before anything is set, so a failed load
        leaves the module as it was. Returns the names it skipped (none when ``strict``).
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict() needs a mapping of name -> number, got {type(state).__name__}"
            )
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [name if isinstance(name, str) else shown(name) for name in state if name not in params]
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"missing {_listing(missing)}")
            if unexpected:
                problems.append(f"unexpected {_listing(unexpected)}")
            raise ValueError(f"load_state_dict() for {type(self).__name__}: {'; '.join(problems)}")
        values: list[tuple[Value, float]] = []
        for name, p in params.items():
            if name not in state:
                continue
            number = state[name]
            if isinstance(number, bool) or not isinstance(number, numbers.Real):
                kind = type(number).__name__
                raise TypeError(
                    f"load_state_dict(): {shown(name)} must be a real number, got {kind}: {shown(number)}"
                )
            values.append((p, _finite(number, f"load_state_dict(): {shown(name)}")))
        for p, number in values:
            p.data = number
        return IncompatibleKeys(missing, unexpected)


def _listing(names: list[str], limit: int = 8) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b', ... (12 in all)``: a list an error message can show."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


class Neuron(Module):
    """``activation(w . x + b)``, the weighted sum recorded as one node (``autodiff.dot``).

    ``nin`` weights drawn by ``init`` (see ``INITS``: "uniform", the default, draws from
    ``[-1/sqrt(nin), 1/sqrt(nin)]`` as ``torch.nn.Linear``; "kaiming" and "xavier") and
    ``b = 0``. ``rng`` (a ``random.Random``) or ``seed`` makes them reproducible.
    micrograd's ``nonlin=True`` / ``False`` may stand for ``activation="relu"`` / ``"linear"``.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        rng: random.Random | None = None,
        *,
        nonlin: bool | None = None,
        init: str = "uniform",
        seed: int | None = None,
    ) -> None:
        nin, _, name, rng = _neurons("Neuron()", nin, 1, activation, nonlin, init, rng, seed)
        self._build(nin, name, init, 1, rng)

    def _build(self, nin: int, activation: str, init: str, fan_out: int, rng: random.Random) -> None:
        """Draw the weights (arguments already checked) and name the parameters."""
        draw = INITS[init]
        self.w = [Value(draw(nin, fan_out, rng)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation
        """The activation's name, a key of ``ACTIVATIONS``."""
        self._name("")

    def _name(self, prefix: str) -> None:
        """Label the parameters ``{prefix}w0``, ``w1``, ..., ``{prefix}b`` (as Python indexes
        them), and the weighted sum and the output of each call ``{prefix}z`` and ``{prefix}a``.
        Layers and MLPs prefix ``N3.`` and ``L0.``: ``autodiff.viz`` draws clusters by these."""
        for i, w in enumerate(self.w):
            w.label = f"{prefix}w{i}"
        self.b.label = f"{prefix}b"
        self._z, self._a = f"{prefix}z", f"{prefix}a"

    @_reports_as("Neuron")
    def __call__(self, x: Iterable[Input]) -> Value:
        xs = _inputs("Neuron", x, len(self.w))
        # the bias is the weight of a constant input 1: one n-ary node for the whole sum
        return self._fire(dot((*self.w, self.b), (*xs, 1.0)))

    def _fire(self, z: Value) -> Value:
        """The activation of the weighted sum ``z``, both labelled."""
        z.label = self._z
        a = ACTIVATIONS[self.activation](z)
        a.label = self._a
        return a

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """``("w0", w0)``, ``("w1", w1)``, ..., ``("b", b)``."""
        for i, w in enumerate(self.w):
            yield f"w{i}", w
        yield "b", self.b

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs. Returns the list of their outputs, or
    the one Value when ``nout`` is 1 (as micrograd's Layer). The other arguments are the
    neurons' (see ``Neuron``); Xavier's ``fan_out`` is ``nout``."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        rng: random.Random | None = None,
        *,
        nonlin: bool | None = None,
        init: str = "uniform",
        seed: int | None = None,
    ) -> None:
        nin, nout, name, rng = _neurons("Layer()", nin, nout, activation, nonlin, init, rng, seed)
        self._build(nin, nout, name, init, rng)

    def _build(self, nin: int, nout: int, activation: str, init: str, rng: random.Random) -> None:
        """Make the neurons (arguments already checked) and name them."""
        self.neurons: list[Neuron] = []
        for _ in range(nout):
            neuron = Neuron.__new__(Neuron)
            neuron._build(nin, activation, init, nout, rng)
            self.neurons.append(neuron)
        self._name("")

    def _name(self, prefix: str) -> None:
        """Label every neuron's values ``{prefix}N{j}.`` (see ``Neuron._name``)."""
        for j, neuron in enumerate(self.neurons):
            neuron._name(f"{prefix}N{j}.")

    @_reports_as("Layer")
    def __call__(self, x: Iterable[Input]) -> Value | list[Value]:
        out = self._outputs(_inputs("Layer", x, len(self.neurons[0].w)))
        return out[0] if len(out) == 1 else out

    def _outputs(self, xs: Sequence[Input]) -> list[Value]:
        """Every neuron's output, as a list (``xs`` already checked)."""
        # W x + b as one dot node per neuron, all reading the inputs (and a constant 1) once
        sums = matvec([(*neuron.w, neuron.b) for neuron in self.neurons], (*xs, 1.0))
        return [neuron._fire(z) for neuron, z in zip(self.neurons, sums)]

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """Each neuron's, prefixed ``N{j}.``: ``("N0.w0", ...)``, ..., ``("N1.w0", ...)``."""
        for j, neuron in enumerate(self.neurons):
            for name, p in neuron.named_parameters():
                yield f"N{j}.{name}", p

    def children(self) -> list[Module]:
        return list(self.neurons)

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation!r})"


class MLP(Module):
    """Layers of sizes ``nouts`` on ``nin`` inputs: the hidden layers use ``activation``, the
    last layer ``output_activation`` (linear by default: scores, logits, regression outputs).

    ``MLP(3, [4, 4, 1])`` is micrograd's network (relu, then a linear output); the all-tanh
    network of micrograd's lecture is ``MLP(3, [4, 4, 1], activation="tanh",
    output_activation="tanh")``. ``init`` names how the weights are drawn (see ``INITS``) and
    ``seed`` makes them reproducible. A call returns one Value when the last layer has one
    neuron, else the list of the outputs.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        seed: int | None = None,
        *,
        output_activation: str = "linear",
        init: str = "uniform",
    ) -> None:
        nin = _check_count("MLP()", "nin (its number of inputs)", nin)
        if isinstance(nouts, (str, bytes, Mapping, Set)) or not isinstance(nouts, Iterable):
            raise TypeError(
                f"MLP() nouts must be a list of layer sizes such as [16, 1], got "
                f"{type(nouts).__name__}: {shown(nouts)}"
            )
        # every layer has 2 parameters or more: a longer nouts (or a runaway iterator) is refused
        sizes = list(itertools.islice(nouts, MAX_PARAMETERS // 2 + 1))
        if len(sizes) > MAX_PARAMETERS // 2:
            raise ValueError(f"MLP() nouts is too long: over {MAX_PARAMETERS:,} parameters")
        for i, size in enumerate(sizes):
            if type(size) is not int or size < 1:
                sizes[i] = _check_count("MLP()", f"nouts[{i}] (a layer's number of neurons)", size)
        if not sizes:
            raise ValueError("MLP() needs at least one layer size in nouts, got an empty list")
        _check_size("MLP()", (nin, *sizes))
        self.activation = _check_name("MLP()", "activation", activation, ACTIVATIONS)
        """The hidden layers' activation."""
        self.output_activation = _check_name("MLP()", "output_activation", output_activation, ACTIVATIONS)
        """The last layer's activation."""
        _check_name("MLP()", "init", init, INITS)
        rng = _random("MLP()", None, seed)
        fans = [nin, *sizes]
        self.layers: list[Layer] = []
        for i, nout in enumerate(sizes):
            layer = Layer.__new__(Layer)
            last = i == len(sizes) - 1
            layer._build(fans[i], nout, output_activation if last else activation, init, rng)
            layer._name(f"L{i}.")
            self.layers.append(layer)

    @_reports_as("MLP")
    def __call__(self, x: Iterable[Input]) -> Value | list[Value]:
        out = self.layers[0]._outputs(_inputs("MLP", x, len(self.layers[0].neurons[0].w)))
        for layer in self.layers[1:]:
            out = layer._outputs(out)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """Each layer's, prefixed ``L{i}.``: ``("L0.N0.w0", ...)``, ..., ``("L2.N0.b", ...)``."""
        for i, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                yield f"L{i}.{name}", p

    def children(self) -> list[Module]:
        return list(self.layers)

    def __repr__(self) -> str:
        return f"MLP({', '.join(map(repr, self.layers))})"
