"""Neural networks built on ``autodiff.Value``: modules, losses, optimizers, ``fit``, toy
datasets, saved models, plots, and ``to_torch`` for learners who outgrow scalars."""

from .data import (
    batches,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_curve,
    make_spirals,
    make_xor,
    train_test_split,
)
from .export import to_torch
from .io import ModelFileError, load, save
from .losses import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    mse,
    softmax,
)
from .module import ACTIVATIONS, INITS, MLP, IncompatibleKeys, Layer, Module, Neuron
from .optim import SGD, Adam, AdamW, LinearDecay, Optimizer, RMSprop, StepDecay, linear_decay, step_decay
from .plot import plot_decision_boundary, plot_history
from .preprocessing import Standardized, one_hot, standardize
from .real_data import load_breast_cancer, load_digits, load_iris
from .train import (
    Callback,
    EarlyStopping,
    FitEvent,
    History,
    binary_accuracy,
    categorical_accuracy,
    fit,
)

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LOSSES",
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "Callback",
    "EarlyStopping",
    "FitEvent",
    "History",
    "IncompatibleKeys",
    "Layer",
    "LinearDecay",
    "ModelFileError",
    "Module",
    "Neuron",
    "Optimizer",
    "RMSprop",
    "Standardized",
    "StepDecay",
    "batches",
    "binary_accuracy",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "categorical_accuracy",
    "cross_entropy",
    "fit",
    "hinge",
    "l2",
    "linear_decay",
    "load",
    "load_breast_cancer",
    "load_digits",
    "load_iris",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression_curve",
    "make_spirals",
    "make_xor",
    "mse",
    "one_hot",
    "plot_decision_boundary",
    "plot_history",
    "save",
    "softmax",
    "standardize",
    "step_decay",
    "to_torch",
    "train_test_split",
]
