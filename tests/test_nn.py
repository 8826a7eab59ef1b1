"""``nn``: neurons, layers and MLPs built on the engine: shapes, parameters, activations, seeds,
argument checking, gradients of a loss against finite differences, and a small training run."""

from __future__ import annotations

import math
import random

import pytest
from helpers import central_difference

import nn
from autodiff import RULES, Value, no_grad, topological_order

# --- shapes and parameters -------------------------------------------------------------------


@pytest.mark.parametrize(("nin", "nouts"), [(1, [1]), (2, [1, 1]), (3, [4, 4, 1]), (5, [2]), (2, [3, 1, 2])])
def test_mlp_shapes_and_parameter_counts(nin: int, nouts: list[int]) -> None:
    model = nn.MLP(nin, nouts, seed=0)
    out = model([0.5] * nin)
    assert isinstance(out, list)
    assert len(out) == nouts[-1]
    assert all(type(o) is Value for o in out)
    sizes = [nin, *nouts]
    expected = sum((sizes[k] + 1) * sizes[k + 1] for k in range(len(nouts)))
    params = model.parameters()
    assert len(params) == expected
    assert len({id(p) for p in params}) == expected  # no parameter listed twice
    assert all(p.is_leaf for p in params)


def test_one_neuron_hidden_layer() -> None:
    model = nn.MLP(2, [1, 1], activation="tanh", seed=3)
    (out,) = model([0.3, -0.7])
    out.backward()
    assert len(model.parameters()) == 3 + 2
    assert all(math.isfinite(p.grad) for p in model.parameters())
    assert any(p.grad != 0.0 for p in model.layers[0].parameters())


def test_layer_always_returns_a_list() -> None:
    layer = nn.Layer(3, 1, "relu", random.Random(0))
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 1
    assert len(nn.Layer(3, 4, "tanh", random.Random(0))([1.0, 2.0, 3.0])) == 4
    assert len(layer.parameters()) == 4


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_layer_equals_its_neurons_called_one_by_one(activation: str) -> None:
    """A layer computes all its weighted sums in one ``matvec``: the same numbers, labels and
    gradients as calling each neuron on its own."""
    layer = nn.Layer(3, 4, activation, random.Random(1))
    layer._name("L0.")
    x = [Value(1.5), Value(0.7), 2.0]
    together = layer(x)
    one_by_one = [neuron(x) for neuron in layer.neurons]
    assert [a.data for a in together] == [a.data for a in one_by_one]
    assert [a.label for a in together] == [a.label for a in one_by_one] == [
        f"L0.N{j}.a" for j in range(4)
    ]
    sum(together).backward()
    grads = [p.grad for p in (*layer.parameters(), x[0], x[1])]
    layer.zero_grad()
    x[0].grad = x[1].grad = 0.0
    sum(one_by_one).backward()
    assert [p.grad for p in (*layer.parameters(), x[0], x[1])] == grads
    assert any(g != 0.0 for g in grads)


def test_neuron_parameters_and_initialisation() -> None:
    neuron = nn.Neuron(9, "linear", random.Random(1))
    params = neuron.parameters()
    assert len(params) == 10
    assert params[-1] is neuron.b and neuron.b.data == 0.0
    bound = 1.0 / math.sqrt(9)
    assert all(-bound <= w.data <= bound for w in neuron.w)
    assert len({w.data for w in neuron.w}) == 9


def test_neuron_computes_activation_of_affine_map() -> None:
    x = [0.5, -1.5, 2.0]
    for name in nn.ACTIVATIONS:
        neuron = nn.Neuron(3, name, random.Random(4))
        neuron.b.data = -0.25
        pre = neuron.b.data
        for w, xi in zip(neuron.w, x):
            pre = pre + w.data * xi
        want = {
            "linear": pre,
            "relu": max(pre, 0.0),
            "tanh": math.tanh(pre),
            "sigmoid": 1.0 / (1.0 + math.exp(-pre)),
            "leaky_relu": pre if pre > 0 else 0.01 * pre,
        }[name]
        assert neuron(x).data == pytest.approx(want, rel=1e-15, abs=1e-300), name


def test_activations_registry() -> None:
    assert set(nn.ACTIVATIONS) == {"linear", "relu", "tanh", "sigmoid", "leaky_relu"}


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_hidden_layers_use_the_activation_and_the_last_is_linear(activation: str) -> None:
    model = nn.MLP(2, [3, 3, 2], activation=activation, seed=0)
    x = [Value(0.4), Value(-0.9)]
    hidden1 = model.layers[0](x)
    hidden2 = model.layers[1](hidden1)
    final = model.layers[2](hidden2)
    assert all(h.op is RULES[activation] for h in hidden1 + hidden2)
    assert all(o.op is RULES["dot"] for o in final)  # w . x + b as one node, no activation
    assert [o.data for o in model(x)] == [o.data for o in final]


def test_module_zero_grad() -> None:
    model = nn.MLP(2, [3, 1], seed=0)
    (out,) = model([1.0, -1.0])
    out.backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert nn.Module().parameters() == []


def test_inputs_may_be_values_and_receive_gradients() -> None:
    model = nn.MLP(2, [4, 1], activation="tanh", seed=1)
    x = [Value(0.2), Value(-0.3)]
    (out,) = model(x)
    out.backward()
    assert all(xi.grad != 0.0 for xi in x)


# --- seeds -------------------------------------------------------------------------------


def test_same_seed_same_weights() -> None:
    a = nn.MLP(3, [5, 4, 2], seed=42)
    b = nn.MLP(3, [5, 4, 2], seed=42)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [o.data for o in a([1.0, 2.0, 3.0])] == [o.data for o in b([1.0, 2.0, 3.0])]
    assert all(p is not q for p, q in zip(a.parameters(), b.parameters()))


def test_different_seeds_different_weights() -> None:
    a = nn.MLP(3, [5, 1], seed=1)
    b = nn.MLP(3, [5, 1], seed=2)
    assert [p.data for p in a.parameters()] != [p.data for p in b.parameters()]


def test_seeding_does_not_touch_the_global_random_state() -> None:
    random.seed(123)
    expected = random.random()
    random.seed(123)
    nn.MLP(4, [8, 8, 1], seed=5)
    assert random.random() == expected


def test_neuron_rng_makes_weights_reproducible() -> None:
    a = nn.Neuron(4, rng=random.Random(9))
    b = nn.Neuron(4, rng=random.Random(9))
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]


# --- argument checking -------------------------------------------------------------------

BAD_CONSTRUCTIONS = [
    ("neuron-zero-inputs", lambda: nn.Neuron(0), "0"),
    ("neuron-negative-inputs", lambda: nn.Neuron(-2), "-2"),
    ("neuron-float-inputs", lambda: nn.Neuron(2.5), "2.5"),  # type: ignore[arg-type]
    ("neuron-bool-inputs", lambda: nn.Neuron(True), "True"),
    ("neuron-unknown-activation", lambda: nn.Neuron(2, "softmax"), "softmax"),
    ("layer-zero-neurons", lambda: nn.Layer(2, 0), "0"),
    ("layer-float-neurons", lambda: nn.Layer(2, 1.5), "1.5"),  # type: ignore[arg-type]
    ("layer-unknown-activation", lambda: nn.Layer(2, 2, "swish"), "swish"),
    ("mlp-no-layers", lambda: nn.MLP(2, []), "nouts"),
    ("mlp-zero-inputs", lambda: nn.MLP(0, [2]), "0"),
    ("mlp-zero-width", lambda: nn.MLP(2, [3, 0, 1]), "0"),
    ("mlp-negative-width", lambda: nn.MLP(2, [-1]), "-1"),
    ("mlp-unknown-activation", lambda: nn.MLP(2, [3, 1], activation="nope"), "nope"),
    ("mlp-unknown-activation-single-layer", lambda: nn.MLP(2, [1], activation="nope"), "nope"),
]


@pytest.mark.parametrize(
    ("build", "mentioned"),
    [case[1:] for case in BAD_CONSTRUCTIONS],
    ids=[case[0] for case in BAD_CONSTRUCTIONS],
)
def test_bad_sizes_and_activations_raise_value_error(build, mentioned: str) -> None:  # type: ignore[no-untyped-def]
    """A clear message names the offending argument's value. An unknown activation is an error
    even when the MLP has no hidden layer to use it (a typo must not pass silently)."""
    with pytest.raises(ValueError, match=mentioned):
        build()


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        (nn.Neuron(3, rng=random.Random(0)), [1.0, 2.0]),
        (nn.Layer(2, 3, "relu", random.Random(0)), [1.0, 2.0, 3.0]),
        (nn.Layer(2, 3, "relu", random.Random(0)), [1.0]),
        (nn.MLP(2, [3, 1], seed=0), [1.0]),
        (nn.MLP(2, [3, 1], seed=0), []),
    ],
)
def test_wrong_input_length_raises_value_error(model, inputs: list[float]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=str(len(inputs))):
        model(inputs)


def test_repr_describes_the_architecture() -> None:
    text = repr(nn.MLP(2, [3, 1], activation="tanh"))
    assert "MLP" in text and "tanh" in text and "linear" in text
    assert "relu" in repr(nn.Neuron(2))


# --- gradients of a loss ---------------------------------------------------------------------

DATA = [([0.5, -1.0, 2.0], 1.0), ([-1.5, 0.3, 0.1], -0.5), ([2.0, 2.0, -1.0], 0.25)]


def _loss(model: nn.MLP) -> Value:
    total: Value | float = 0.0
    for x, y in DATA:
        (out,) = model(x)
        total = total + (out - y) ** 2
    assert isinstance(total, Value)
    return total * (1.0 / len(DATA))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu"])
def test_loss_gradient_matches_finite_differences(activation: str) -> None:
    model = nn.MLP(3, [4, 3, 1], activation=activation, seed=11)
    rng = random.Random(0)
    for p in model.parameters():
        p.data += rng.uniform(-0.3, 0.3)  # nonzero biases: no pre-activation sits on a kink
    loss = _loss(model)
    kinks = [n for n in topological_order(loss) if n.op in (RULES["relu"], RULES["leaky_relu"])]
    # precondition for finite differences: every kinked input is far from 0 relative to the step
    assert all(abs(n.inputs[0].data) > 1e-3 for n in kinks)  # type: ignore[union-attr]
    loss.backward()
    params = model.parameters()
    for p in [*rng.sample(params, 8), params[0], params[-1]]:
        analytic = p.grad
        original = p.data

        def f(t: float, p: Value = p) -> float:
            p.data = t
            with no_grad():
                return _loss(model).data

        estimate, noise = central_difference(f, original, 1e-5)
        p.data = original
        assert abs(analytic - estimate) <= 1e-7 * abs(estimate) + 10 * noise + 1e-12, (
            f"{activation}: analytic {analytic!r} vs finite difference {estimate!r}"
        )


# --- training ----------------------------------------------------------------------------

XOR = [([0.0, 0.0], -1.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], -1.0)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_training_reduces_the_loss_and_classifies(seed: int) -> None:
    model = nn.MLP(2, [8, 1], activation="tanh", seed=seed)

    def loss() -> Value:
        total: Value | float = 0.0
        for x, y in XOR:
            (out,) = model(x)
            total = total + (out - y) ** 2
        assert isinstance(total, Value)
        return total * 0.25

    first = loss().data
    for _ in range(400):
        current = loss()
        model.zero_grad()
        current.backward()
        for p in model.parameters():
            p.data -= 0.2 * p.grad
    last = loss().data
    assert last < 0.1 * first, (first, last)
    for x, y in XOR:
        (out,) = model(x)
        assert (out.data > 0) == (y > 0), (x, out.data)
