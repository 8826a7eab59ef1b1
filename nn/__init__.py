"""Neural networks built on ``autodiff.Value``."""

from .module import ACTIVATIONS, MLP, Layer, Module, Neuron

__all__ = ["ACTIVATIONS", "MLP", "Layer", "Module", "Neuron"]
