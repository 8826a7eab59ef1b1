"""Neurons, layers and multi-layer perceptrons built from ``autodiff.Value``.

A neuron computes ``activation(w . x + b)``; a layer is neurons side by side reading the same
inputs; an MLP is layers in a chain, ``a^l = activation(W^l a^(l-1) + b^l)``, its last layer linear.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from autodiff import Value, dot

Input = Value | float

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "linear": lambda v: v,
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,
}
"""The activations a neuron can use, by name."""


class Module:
    """Anything with parameters: ``parameters()`` lists them, ``zero_grad()`` clears their grads."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


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
        z = dot((*self.w, self.b), (*x, 1.0))
        z.label = self._z
        a = self._activate(z)
        a.label = self._a
        return a

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

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
        return [neuron(x) for neuron in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

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

    def __repr__(self) -> str:
        return f"MLP({', '.join(map(repr, self.layers))})"
