"""``nn.Module``'s PyTorch-style API: ``named_parameters``, ``children``, ``train``/``eval``,
``state_dict``/``load_state_dict``."""

from __future__ import annotations

import math
import random

import pytest

import nn
from autodiff import Value, topological_order
from nn.module import IncompatibleKeys


def _nudged(model: nn.Module, seed: int) -> nn.Module:
    rng = random.Random(seed)
    for p in model.parameters():
        p.data += rng.uniform(-0.5, 0.5)
    return model


# --- names -------------------------------------------------------------------------------------


def test_named_parameters_follow_parameters_and_the_graph_labels() -> None:
    model = nn.MLP(3, [4, 5, 2], seed=0)
    named = list(model.named_parameters())
    assert [p for _, p in named] == model.parameters()  # same objects, same order
    names = [name for name, _ in named]
    assert len(set(names)) == len(names) == (3 + 1) * 4 + (4 + 1) * 5 + (5 + 1) * 2
    assert names[:5] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.w2", "L0.N0.b", "L0.N1.w0"]
    assert names[-1] == "L2.N1.b"
    # a parameter's name is the label it carries in graph pictures
    assert all(p.label == name for name, p in named)
    assert dict(named)["L1.N3.w2"] is model.layers[1].neurons[3].w[2]


def test_labels_of_a_forward_pass_still_name_the_layer_and_neuron() -> None:
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    out = model([0.5, -0.5])
    labels = {v.label for v in topological_order(out)}
    assert {"L0.N2.z", "L0.N2.a", "L1.N0.a", "L0.N1.w1", "L1.N0.b"} <= labels


def test_neuron_and_layer_names() -> None:
    neuron = nn.Neuron(3, rng=random.Random(0))
    assert [name for name, _ in neuron.named_parameters()] == ["w0", "w1", "w2", "b"]
    layer = nn.Layer(2, 2, rng=random.Random(0))
    assert [name for name, _ in layer.named_parameters()] == [
        "N0.w0", "N0.w1", "N0.b", "N1.w0", "N1.w1", "N1.b",
    ]
    assert layer.children() == layer.neurons and neuron.children() == []


class Affine(nn.Module):
    """A module written the shortest way: only ``parameters()``."""

    def __init__(self) -> None:
        self.a, self.b = Value(2.0), Value(-1.0)

    def parameters(self) -> list[Value]:
        return [self.a, self.b]


def test_a_module_that_only_lists_parameters_gets_positional_names() -> None:
    module = Affine()
    assert list(module.named_parameters()) == [("0", module.a), ("1", module.b)]
    assert module.state_dict() == {"0": 2.0, "1": -1.0}
    module.load_state_dict({"0": 3.0, "1": 4.0})
    assert (module.a.data, module.b.data) == (3.0, 4.0)
    assert list(nn.Module().named_parameters()) == [] and nn.Module().state_dict() == {}


# --- train / eval ------------------------------------------------------------------------------


def test_train_and_eval_set_the_flag_everywhere() -> None:
    model = nn.MLP(2, [3, 2, 1], seed=0)
    everything = [model, *model.layers, *(n for layer in model.layers for n in layer.neurons)]
    assert all(m.training is True for m in everything)
    assert model.eval() is model
    assert all(m.training is False for m in everything)
    assert nn.Module.training is True  # set on the instances, not on the class
    assert nn.MLP(2, [1], seed=0).training is True
    assert model.train() is model
    assert all(m.training is True for m in everything)
    model.train(False)
    assert all(m.training is False for m in everything)
    model.layers[1].train()  # one submodule back in training mode
    assert model.layers[1].training and model.layers[1].neurons[0].training and not model.training


def test_eval_mode_computes_the_same_outputs() -> None:
    model = _nudged(nn.MLP(2, [4, 1], activation="sigmoid", seed=0), 1)
    before = model([0.3, 0.7]).data
    model.eval()
    assert model([0.3, 0.7]).data == before


def test_train_mode_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="'yes'"):
        nn.MLP(2, [1], seed=0).train("yes")  # type: ignore[arg-type]


# --- state_dict --------------------------------------------------------------------------------


def test_state_dict_is_a_copy_of_the_values_by_name() -> None:
    model = nn.MLP(2, [3, 1], seed=4)
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert all(type(v) is float for v in state.values())
    assert list(state.values()) == [p.data for p in model.parameters()]
    state["L0.N0.w0"] = 123.0
    assert model.layers[0].neurons[0].w[0].data != 123.0


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
def test_state_dict_round_trip_is_exact(activation: str) -> None:
    source = _nudged(nn.MLP(3, [6, 4, 2], activation=activation, seed=1), 2)
    target = nn.MLP(3, [6, 4, 2], activation=activation, seed=99)
    x = [0.25, -1.5, 2.0]
    assert [o.data for o in target(x)] != [o.data for o in source(x)]
    result = target.load_state_dict(source.state_dict())
    assert result == IncompatibleKeys([], [])
    assert [p.data for p in target.parameters()] == [p.data for p in source.parameters()]
    assert [o.data for o in target(x)] == [o.data for o in source(x)]  # bit for bit
    assert all(p is not q for p, q in zip(target.parameters(), source.parameters()))


def test_load_state_dict_converts_ints_and_numpy_floats() -> None:
    np = pytest.importorskip("numpy")
    neuron = nn.Neuron(2, rng=random.Random(0))
    neuron.load_state_dict({"w0": 1, "w1": np.float64(0.5), "b": np.float32(0.25)})
    loaded = [(type(p.data), p.data) for p in neuron.parameters()]
    assert loaded == [(float, 1.0), (float, 0.5), (float, 0.25)]


def _state(model: nn.Module) -> list[float]:
    return [p.data for p in model.parameters()]


def test_missing_and_unexpected_names_are_listed() -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = _state(model)
    state = model.state_dict()
    del state["L1.N0.w1"]
    state["L1.N0.w9"] = 0.5
    with pytest.raises(ValueError, match=r"missing 'L1\.N0\.w1'; unexpected 'L1\.N0\.w9'") as info:
        model.load_state_dict({name: v + 1.0 for name, v in state.items()})
    assert "MLP" in str(info.value)
    assert _state(model) == before  # nothing was loaded


def test_many_missing_names_are_summarised() -> None:
    model = nn.MLP(2, [8, 1], seed=0)
    with pytest.raises(ValueError, match=r"missing 'L0\.N0\.w0', .*\.\.\. \(33 in all\)"):
        model.load_state_dict({})


def test_non_strict_load_reports_what_it_skipped() -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    result = model.load_state_dict({"L1.N0.b": 7.0, "extra": 1.0}, strict=False)
    assert result.unexpected_keys == ["extra"]
    assert result.missing_keys == [name for name in before if name != "L1.N0.b"]
    assert model.layers[1].neurons[0].b.data == 7.0
    assert {k: v for k, v in model.state_dict().items() if k != "L1.N0.b"} == {
        k: v for k, v in before.items() if k != "L1.N0.b"
    }


@pytest.mark.parametrize(
    ("bad", "error", "mentioned"),
    [
        ("0.5", TypeError, "str"),
        (True, TypeError, "bool"),
        (None, TypeError, "NoneType"),
        ([0.5], TypeError, "list"),
        (Value(0.5), TypeError, "Value"),
        (math.nan, ValueError, "finite"),
        (-math.inf, ValueError, "finite"),
        (10**400, ValueError, "finite"),
    ],
)
def test_values_must_be_finite_real_numbers(bad: object, error: type[Exception], mentioned: str) -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    before = _state(model)
    state: dict[str, object] = {name: 0.0 for name in model.state_dict()}
    state["L1.N0.w1"] = bad
    with pytest.raises(error, match=mentioned) as info:
        model.load_state_dict(state)  # type: ignore[arg-type]
    assert "L1.N0.w1" in str(info.value)
    assert _state(model) == before  # checked before anything is set


def test_state_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"mapping.*list"):
        nn.Neuron(1).load_state_dict([("w0", 1.0), ("b", 0.0)])  # type: ignore[arg-type]
