"""The same network in PyTorch: ``to_torch(model)`` for when you outgrow scalars.

PyTorch is optional (``pip install torch==2.13.0``, or ``pip install 'chaingrad[torch]'``) and is
imported only when ``to_torch`` is called, so ``import nn`` never needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

from .module import MLP, Layer, Module, Neuron

TORCH_REQUIREMENT = "torch==2.13.0"
"""The PyTorch that ``to_torch`` is tested with; the ``torch`` extra pins the same."""


def _torch() -> Any:
    """The ``torch`` module, imported now (by name, so type checkers need no torch stubs)."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise ImportError(
            f"to_torch() needs PyTorch, which is optional: pip install {TORCH_REQUIREMENT} "
            "(or pip install 'chaingrad[torch]')"
        ) from None


def _layers(model: Module) -> list[list[Neuron]]:
    """The model's layers, each as its list of neurons."""
    if isinstance(model, MLP):
        return [layer.neurons for layer in model.layers]
    if isinstance(model, Layer):
        return [model.neurons]
    if isinstance(model, Neuron):
        return [[model]]
    raise TypeError(f"to_torch() converts nn.MLP, nn.Layer and nn.Neuron, got {type(model).__name__}")


def to_torch(model: Module) -> Any:
    """An equivalent ``torch.nn.Sequential`` in float64: for each layer a ``Linear`` holding its
    weights (row ``j`` is neuron ``j``'s ``w``) and biases, followed by its activation module
    (``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU(0.01)``; none for a linear layer).

    The copy is independent: training one does not change the other, and making it does not
    touch torch's global random state. On a batch of inputs of shape ``(n, nin)`` in float64
    it gives the outputs ``model`` gives, one row per input.
    """
    layers = _layers(model)
    torch = _torch()
    activations = {
        "linear": None,
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),
    }
    modules = []
    for neurons in layers:
        names = {neuron.activation for neuron in neurons}
        if len(names) != 1:
            raise ValueError(f"to_torch() needs one activation per layer, got {sorted(names)}")
        name = names.pop()
        if name not in activations:
            raise ValueError(f"to_torch() does not know the activation {name!r}")
        weights = [[w.data for w in neuron.w] for neuron in neurons]
        biases = [neuron.b.data for neuron in neurons]
        # made on the "meta" device, Linear skips its random initialisation, which would draw
        # from (and so change) torch's global random state; then it gets our parameters
        linear = torch.nn.Linear(len(weights[0]), len(weights), dtype=torch.float64, device="meta")
        linear.weight = torch.nn.Parameter(torch.tensor(weights, dtype=torch.float64))
        linear.bias = torch.nn.Parameter(torch.tensor(biases, dtype=torch.float64))
        modules.append(linear)
        activation = activations[name]
        if activation is not None:
            modules.append(activation())
    return torch.nn.Sequential(*modules)
