"""``nn.export.to_torch``: the same network as a ``torch.nn.Sequential``, checked against our
forward pass and our gradients. The comparisons are skipped when torch is not installed
(``pip install torch==2.13.0``); the error that names the install runs either way."""

from __future__ import annotations

import random
import sys
import types
from typing import Any

import pytest

import nn
from autodiff import Value
from nn.export import to_torch


@pytest.fixture(name="torch")
def torch_module() -> Any:
    return pytest.importorskip("torch")


def _inputs(nin: int, n: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-3.0, 3.0) for _ in range(nin)] for _ in range(n)]


def _listed(out: Any) -> list[float]:
    return [o.data for o in out] if isinstance(out, list) else [out.data]


def _perturbed(model: nn.Module, seed: int) -> None:
    """Nonzero biases, so that the biases are really compared."""
    rng = random.Random(seed)
    for p in model.parameters():
        p.data += rng.uniform(-0.5, 0.5)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
@pytest.mark.parametrize(("nin", "nouts"), [(2, [16, 16, 1]), (3, [5, 4]), (1, [1])])
def test_outputs_match_to_1e_12(activation: str, nin: int, nouts: list[int], torch: Any) -> None:
    model = nn.MLP(nin, nouts, activation=activation, seed=7)
    _perturbed(model, 1)
    net = to_torch(model)
    X = _inputs(nin, 50, 2)
    ours = [_listed(model(x)) for x in X]
    theirs = net(torch.tensor(X, dtype=torch.float64)).tolist()
    assert len(theirs) == len(ours) and len(theirs[0]) == nouts[-1]
    worst = max(abs(a - b) for row_a, row_b in zip(ours, theirs) for a, b in zip(row_a, row_b))
    assert worst <= 1e-12, worst
    # a differently initialised network is not accepted by the same check
    other = nn.MLP(nin, nouts, activation=activation, seed=8)
    assert max(abs(a - b) for x, row in zip(X, ours) for a, b in zip(_listed(other(x)), row)) > 1e-6


def test_structure_dtype_and_activations(torch: Any) -> None:
    model = nn.MLP(2, [4, 3, 2], activation="leaky_relu", seed=0)
    net = to_torch(model)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear"]
    assert net[1].negative_slope == 0.01
    assert all(p.dtype == torch.float64 and p.device.type == "cpu" for p in net.parameters())
    assert net[0].weight.shape == (4, 2) and net[4].weight.shape == (2, 3)
    # row j of the weight matrix is neuron j's w, in order; the bias is b
    assert net[2].weight[1].tolist() == [w.data for w in model.layers[1].neurons[1].w]
    assert net[2].bias.tolist() == [n.b.data for n in model.layers[1].neurons]
    assert sum(p.numel() for p in net.parameters()) == len(model.parameters())


def test_gradients_match(torch: Any) -> None:
    model = nn.MLP(3, [6, 2], activation="tanh", seed=3)
    _perturbed(model, 4)
    net = to_torch(model)
    x = [0.3, -1.2, 2.0]
    out = model(x)
    loss = out[0] * out[0] + 3.0 * out[1]
    loss.backward()
    t_out = net(torch.tensor([x], dtype=torch.float64))[0]
    (t_out[0] ** 2 + 3.0 * t_out[1]).backward()
    first = model.layers[0]
    theirs = [g for row in net[0].weight.grad.tolist() for g in row]
    assert theirs == pytest.approx([w.grad for n in first.neurons for w in n.w], rel=1e-12, abs=1e-14)
    assert net[2].bias.grad.tolist() == pytest.approx([n.b.grad for n in model.layers[1].neurons], rel=1e-12)


def test_copy_is_independent_and_leaves_torch_rng_alone(torch: Any) -> None:
    model = nn.MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    state = torch.get_rng_state()
    net = to_torch(model)
    assert torch.equal(state, torch.get_rng_state())
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    assert model.state_dict() == before
    model.parameters()[0].data = 99.0
    assert net[0].weight[0, 0].item() != 99.0


def test_neuron_and_layer(torch: Any) -> None:
    neuron = nn.Neuron(3, "sigmoid", random.Random(0))
    neuron.b.data = 0.25
    layer = nn.Layer(3, 4, "relu", random.Random(1))
    x = [0.5, -0.25, 1.5]
    t = torch.tensor([x], dtype=torch.float64)
    assert to_torch(neuron)(t).tolist()[0] == pytest.approx([neuron(x).data], rel=1e-14)
    assert to_torch(layer)(t).tolist()[0] == pytest.approx([v.data for v in layer(x)], rel=1e-14, abs=1e-300)
    assert [type(m).__name__ for m in to_torch(layer)] == ["Linear", "ReLU"]


def test_other_modules_are_refused() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            self.a = Value(1.0)

        def parameters(self) -> list[Value]:
            return [self.a]

    with pytest.raises(TypeError, match="Pair"):
        to_torch(Pair())


def test_missing_torch_names_the_pinned_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs with or without torch installed."""
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
        to_torch(nn.MLP(2, [1], seed=0))


TORCH_NAMES = {
    "tanh": ["Tanh"], "sigmoid": ["Sigmoid"], "relu": ["ReLU"], "leaky_relu": ["LeakyReLU"], "linear": []
}
"""The torch module after a layer of each activation (none after a linear one)."""


@pytest.mark.parametrize("output", ["tanh", "sigmoid", "relu", "leaky_relu", "linear"])
def test_the_last_layer_follows_output_activation(output: str, torch: Any) -> None:
    model = nn.MLP(3, [4, 4, 1], activation="tanh", output_activation=output, seed=0)
    _perturbed(model, 2)
    net = to_torch(model)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear", *TORCH_NAMES[output]]
    X = _inputs(3, 20, 5)
    theirs = net(torch.tensor(X, dtype=torch.float64)).tolist()
    assert [row[0] for row in theirs] == pytest.approx([model(x).data for x in X], rel=1e-12, abs=1e-15)


class _FakeTorch:
    """Just enough of torch's API for ``to_torch`` to build its Sequential: the modules it is
    made of, by name, with the data they were given."""

    float64 = "float64"

    def __init__(self) -> None:
        class Module:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.args = args

        class Linear(Module):
            weight: Any = None
            bias: Any = None

        def activation(name: str) -> type:
            return type(name, (Module,), {})

        self.nn = types.SimpleNamespace(
            Linear=Linear, ReLU=activation("ReLU"), Tanh=activation("Tanh"), Sigmoid=activation("Sigmoid"),
            LeakyReLU=activation("LeakyReLU"), Parameter=lambda data: data,
            Sequential=lambda *modules: list(modules),
        )

    @staticmethod
    def tensor(data: Any, dtype: Any) -> Any:
        return data


@pytest.mark.parametrize("output", ["tanh", "sigmoid", "linear"])
def test_the_structure_follows_output_activation_without_torch(
    output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs with or without torch installed: the layers and activations ``to_torch`` asks for."""
    monkeypatch.setitem(sys.modules, "torch", _FakeTorch())
    model = nn.MLP(2, [3, 1], activation="relu", output_activation=output, seed=0)
    modules = to_torch(model)
    kinds = [type(m).__name__ for m in modules]
    assert kinds == ["Linear", "ReLU", "Linear", *TORCH_NAMES[output]]
    assert modules[2].weight == [[w.data for w in model.layers[1].neurons[0].w]]
