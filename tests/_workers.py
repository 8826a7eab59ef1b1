"""Functions that worker processes run: multiprocessing's spawn start method sends a function by
its module and name, so the workers of the tests live in a module a fresh process can import."""

from __future__ import annotations

from typing import Any

import nn


def predict(job: tuple[nn.MLP, list[float]]) -> float:
    """A one-output model's prediction for one input, as a float."""
    model, x = job
    out = model(x)
    assert not isinstance(out, list)
    return out.data


def train(job: tuple[nn.MLP, nn.Optimizer, list[list[float]], list[int]]) -> tuple[Any, ...]:
    """Three epochs of ``fit``; the model, the optimizer and the History come back."""
    model, optimizer, X, y = job
    history = nn.fit(model, (X, y), "binary_cross_entropy_with_logits", optimizer, epochs=3, progress=False)
    return model, optimizer, history
