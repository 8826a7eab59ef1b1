"""Neurons, layers and multi-layer perceptrons built from ``autodiff.Value``.

A neuron computes ``activation(w . x + b)``; a layer is neurons side by side reading the same
inputs; an MLP is layers in a chain, ``a^l = activation(W^l a^(l-1) + b^l)``, its last layer linear.

Every parameter has a name, the label it carries in graph pictures: ``L0.N3.w1`` is weight 1 of
neuron 3 of layer 0, ``L0.N3.b`` its bias. ``named_parameters()`` and ``state_dict()`` use these
names, as PyTorch's do.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple, TypeVar

from autodiff import Value, dot, matvec

Input = Value | float

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "linear": lambda v: v,
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,
}
"""The activations a neuron can use, by name."""


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
            raise TypeError(f"train() mode must be True or False, got {mode!r}")
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
        unexpected = [str(name) for name in state if name not in params]
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
                raise TypeError(f"load_state_dict(): {name!r} must be a real number, got {kind}: {number!r}")
            try:
                number = float(number)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise ValueError(f"load_state_dict(): {name!r} must be finite, got {number!r}")
            values.append((p, number))
        for p, number in values:
            p.data = number
        return IncompatibleKeys(missing, unexpected)


def _listing(names: list[str], limit: int = 8) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b', ... (12 in all)``: a list an error message can show."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


class Neuron(Module):
    """``activation(w . x + b)``, the weighted sum recorded as one node (``autodiff.dot``).

    ``nin`` weights drawn uniformly from ``[-1/sqrt(nin), 1/sqrt(nin)]`` (fan-in scaled, as
    ``torch.nn.Linear``) and ``b = 0``."""

    def __init__(self, nin: int, activation: str = "relu", rng: random.Random | None = None) -> None:
        if isinstance(nin, bool) or not isinstance(nin, int) or nin < 1:
            raise ValueError(f"Neuron needs a positive whole number of inputs, got {nin!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        rng = rng or random.Random()
        bound = 1.0 / math.sqrt(nin)
        self.w = [Value(rng.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation
        self._activate = ACTIVATIONS[activation]
        self._name("")

    def _name(self, prefix: str) -> None:
        """Label the parameters ``{prefix}w0``, ``w1``, ..., ``{prefix}b`` (as Python indexes
        them), and the weighted sum and the output of each call ``{prefix}z`` and ``{prefix}a``.
        Layers and MLPs prefix ``N3.`` and ``L0.``: ``autodiff.viz`` draws clusters by these."""
        for i, w in enumerate(self.w):
            w.label = f"{prefix}w{i}"
        self.b.label = f"{prefix}b"
        self._z, self._a = f"{prefix}z", f"{prefix}a"

    def __call__(self, x: Sequence[Input]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron expects {len(self.w)} inputs, got {len(x)}")
        # the bias is the weight of a constant input 1: one n-ary node for the whole sum
        return self._fire(dot((*self.w, self.b), (*x, 1.0)))

    def _fire(self, z: Value) -> Value:
        """The activation of the weighted sum ``z``, both labelled."""
        z.label = self._z
        a = self._activate(z)
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
    """``nout`` neurons reading the same ``nin`` inputs; always returns a list, even of one."""

    def __init__(
        self, nin: int, nout: int, activation: str = "relu", rng: random.Random | None = None
    ) -> None:
        if isinstance(nout, bool) or not isinstance(nout, int) or nout < 1:
            raise ValueError(f"Layer needs a positive whole number of neurons, got {nout!r}")
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]
        self._name("")

    def _name(self, prefix: str) -> None:
        """Label every neuron's values ``{prefix}N{j}.`` (see ``Neuron._name``)."""
        for j, neuron in enumerate(self.neurons):
            neuron._name(f"{prefix}N{j}.")

    def __call__(self, x: Sequence[Input]) -> list[Value]:
        nin = len(self.neurons[0].w)
        if len(x) != nin:
            raise ValueError(f"Layer expects {nin} inputs, got {len(x)}")
        # W x + b as one dot node per neuron, all reading the inputs (and a constant 1) once
        sums = matvec([(*neuron.w, neuron.b) for neuron in self.neurons], (*x, 1.0))
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
    """Layers of sizes ``nouts`` on ``nin`` inputs: hidden layers use ``activation``, the last
    layer is linear. ``seed`` makes the initial weights reproducible."""

    def __init__(
        self, nin: int, nouts: Sequence[int], activation: str = "relu", seed: int | None = None
    ) -> None:
        if not nouts:
            raise ValueError("MLP needs at least one layer size in nouts")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        self.activation = activation
        """The hidden layers' activation (the last layer is linear)."""
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else "linear", rng)
            for i in range(len(nouts))
        ]
        for i, layer in enumerate(self.layers):
            layer._name(f"L{i}.")

    def __call__(self, x: Sequence[Input]) -> list[Value]:
        out: Sequence[Input] = x
        for layer in self.layers:
            out = layer(out)
        return list(out)  # type: ignore[arg-type]

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
