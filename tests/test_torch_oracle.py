"""Optional cross-check against PyTorch (float64): the same random expression graphs, the same
gradients. Skipped when torch is not installed (``pip install -e '.[torch]'``)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from helpers import ValueOps, random_program, value_gradients

from autodiff import Value

torch = pytest.importorskip("torch")


class TorchOps:
    """The primitives on float64 tensors, with the engine's conventions at kinks: torch.relu and
    torch.abs already give 0 at 0; leaky_relu with a tensor slope is written out so that the
    slope receives a gradient (and the slope is the derivative at 0, as in the engine)."""

    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)
    sqrt = staticmethod(torch.sqrt)
    tanh = staticmethod(torch.tanh)
    sin = staticmethod(torch.sin)
    cos = staticmethod(torch.cos)
    abs = staticmethod(torch.abs)
    sigmoid = staticmethod(torch.sigmoid)
    relu = staticmethod(torch.relu)

    @staticmethod
    def softplus(x: Any) -> Any:
        # torch.nn.functional.softplus switches to x above a threshold; logaddexp is exact
        return torch.logaddexp(x, torch.zeros_like(x))

    @staticmethod
    def leaky_relu(x: Any, slope: Any) -> Any:
        return torch.where(x > 0, x, slope * x)


def torch_gradients(program: Any, xs: list[float]) -> tuple[float, list[float]]:
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = program.run(TorchOps, leaves)[-1]
    out.backward()
    return float(out.detach()), [0.0 if leaf.grad is None else float(leaf.grad) for leaf in leaves]


@pytest.mark.parametrize("seed", range(60))
def test_random_graph_gradients_match_pytorch(seed: int) -> None:
    rng = random.Random(seed)
    program = random_program(rng, rng.randint(1, 4), rng.randint(1, 12))
    xs = [rng.uniform(-2.5, 2.5) for _ in range(program.n_inputs)]
    out, grads = value_gradients(program, xs)
    want_out, want_grads = torch_gradients(program, xs)
    assert math.isclose(out, want_out, rel_tol=1e-12, abs_tol=1e-300), program
    for i, (g, w) in enumerate(zip(grads, want_grads)):
        assert math.isclose(g, w, rel_tol=1e-10, abs_tol=1e-12), f"{program}: d/dx{i} {g!r} vs torch {w!r}"


@pytest.mark.parametrize(
    ("name", "x"),
    [("relu", 0.0), ("abs", 0.0), ("sigmoid", -30.0), ("softplus", -30.0)],
)
def test_kinks_and_extremes_match_pytorch(name: str, x: float) -> None:
    v = Value(x)
    getattr(ValueOps, name)(v).backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    getattr(TorchOps, name)(t).backward()
    assert v.grad == pytest.approx(float(t.grad), rel=1e-12, abs=0.0)


@pytest.mark.parametrize(
    ("name", "x", "exact"),
    [
        # e^-x / (1 + e^-x)^2 and 4 e^-2x / (1 + e^-2x)^2: no cancellation for x > 0
        ("sigmoid", 30.0, math.exp(-30.0) / (1.0 + math.exp(-30.0)) ** 2),
        ("tanh", 30.0, 4.0 * math.exp(-60.0) / (1.0 + math.exp(-60.0)) ** 2),
        ("tanh", -30.0, 4.0 * math.exp(-60.0) / (1.0 + math.exp(-60.0)) ** 2),  # tanh' is even
    ],
)
def test_where_pytorch_cancels_chaingrad_keeps_the_digits(name: str, x: float, exact: float) -> None:
    """PyTorch computes sigmoid' as s (1 - s) and tanh' as 1 - t^2: at x = 30, 1 - s keeps a few
    digits and 1 - t^2 none (t rounds to +-1, so tanh'(+-30) comes out 0). chaingrad's forms
    (sigma(x) sigma(-x), 4 sigma(2x) sigma(-2x)) keep them all: torch is not the oracle here."""
    v = Value(x)
    getattr(ValueOps, name)(v).backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    getattr(TorchOps, name)(t).backward()
    assert v.grad == pytest.approx(exact, rel=1e-13, abs=0.0)
    assert abs(float(t.grad) - exact) > 1e-4 * exact  # torch's cancellation, shown
