"""``nn``: neurons, layers and MLPs built on the engine: shapes, parameters, activations, seeds,
argument checking, gradients of a loss against finite differences, and a small training run."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from helpers import central_difference

import nn
from autodiff import RULES, Value, no_grad, topological_order

# --- shapes and parameters -------------------------------------------------------------------


def _listed(out: Value | list[Value]) -> list[Value]:
    assert isinstance(out, list)
    return out


@pytest.mark.parametrize(("nin", "nouts"), [(1, [1]), (2, [1, 1]), (3, [4, 4, 1]), (5, [2]), (2, [3, 1, 2])])
def test_mlp_shapes_and_parameter_counts(nin: int, nouts: list[int]) -> None:
    model = nn.MLP(nin, nouts, seed=0)
    out = model([0.5] * nin)
    if nouts[-1] == 1:
        assert type(out) is Value  # micrograd's convention: one output comes bare
    else:
        assert isinstance(out, list) and len(out) == nouts[-1]
        assert all(type(o) is Value for o in out)
    sizes = [nin, *nouts]
    expected = sum((sizes[k] + 1) * sizes[k + 1] for k in range(len(nouts)))
    params = model.parameters()
    assert len(params) == expected
    assert len({id(p) for p in params}) == expected  # no parameter listed twice
    assert all(p.is_leaf for p in params)


def test_one_neuron_hidden_layer() -> None:
    model = nn.MLP(2, [1, 1], activation="tanh", seed=3)
    out = model([0.3, -0.7])
    out.backward()
    assert len(model.parameters()) == 3 + 2
    assert all(math.isfinite(p.grad) for p in model.parameters())
    assert any(p.grad != 0.0 for p in model.layers[0].parameters())


def test_a_layer_of_one_neuron_returns_its_value() -> None:
    layer = nn.Layer(3, 1, "relu", random.Random(0))
    out = layer([1.0, 2.0, 3.0])
    assert type(out) is Value and out.data == layer.neurons[0]([1.0, 2.0, 3.0]).data
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
    assert isinstance(together, list)
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
    assert isinstance(hidden1, list) and isinstance(hidden2, list) and isinstance(final, list)
    assert all(h.op is RULES[activation] for h in hidden1 + hidden2)
    assert all(o.op is RULES["dot"] for o in final)  # w . x + b as one node, no activation
    assert [o.data for o in _listed(model(x))] == [o.data for o in final]


@pytest.mark.parametrize("output", ["tanh", "sigmoid", "relu", "leaky_relu", "linear"])
def test_output_activation_applies_to_the_last_layer_only(output: str) -> None:
    model = nn.MLP(2, [3, 2], activation="tanh", seed=0, output_activation=output)
    assert model.output_activation == output and model.activation == "tanh"
    assert [n.activation for n in model.layers[0].neurons] == ["tanh"] * 3
    assert [n.activation for n in model.layers[1].neurons] == [output] * 2
    x = [0.4, -0.9]
    hidden = model.layers[0](x)
    sums = [neuron.b.data + sum(w.data * h.data for w, h in zip(neuron.w, hidden))
            for neuron in model.layers[1].neurons]
    by_hand = {"tanh": math.tanh, "sigmoid": lambda z: 1 / (1 + math.exp(-z)), "relu": lambda z: max(z, 0.0),
               "leaky_relu": lambda z: z if z > 0 else 0.01 * z, "linear": lambda z: z}[output]
    want = [by_hand(z) for z in sums]
    assert [o.data for o in _listed(model(x))] == pytest.approx(want, rel=1e-15, abs=1e-300)
    assert "linear" in repr(nn.MLP(2, [3, 1], seed=0)).split("Layer(3, 1")[1]


def test_micrograds_nonlin_keyword() -> None:
    """micrograd's ``Neuron(nin, nonlin=True)`` is relu, ``nonlin=False`` linear; ``Layer``
    passes it on, as micrograd's ``Layer(nin, nout, **kwargs)`` does."""
    assert nn.Neuron(3, nonlin=True).activation == "relu"
    assert nn.Neuron(3, nonlin=False).activation == "linear"
    assert {n.activation for n in nn.Layer(3, 2, nonlin=False).neurons} == {"linear"}
    with pytest.raises(ValueError, match=r"activation='tanh' and nonlin=True: give one"):
        nn.Neuron(3, "tanh", nonlin=True)
    with pytest.raises(TypeError, match="nonlin must be True or False"):
        nn.Layer(3, 2, nonlin=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pass nonlin=False"):
        nn.Neuron(3, False)  # type: ignore[arg-type]  # micrograd's positional meaning


def test_module_zero_grad() -> None:
    model = nn.MLP(2, [3, 1], seed=0)
    out = model([1.0, -1.0])
    out.backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert nn.Module().parameters() == []


def test_inputs_may_be_values_and_receive_gradients() -> None:
    model = nn.MLP(2, [4, 1], activation="tanh", seed=1)
    x = [Value(0.2), Value(-0.3)]
    out = model(x)
    out.backward()
    assert all(xi.grad != 0.0 for xi in x)


# --- seeds -------------------------------------------------------------------------------


def test_same_seed_same_weights() -> None:
    a = nn.MLP(3, [5, 4, 2], seed=42)
    b = nn.MLP(3, [5, 4, 2], seed=42)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [o.data for o in _listed(a([1.0, 2.0, 3.0]))] == [o.data for o in _listed(b([1.0, 2.0, 3.0]))]
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
    assert [p.data for p in nn.Neuron(4, seed=9).parameters()] == [p.data for p in a.parameters()]
    assert [p.data for p in nn.Layer(4, 3, seed=1).parameters()] == [
        p.data for p in nn.Layer(4, 3, rng=random.Random(1)).parameters()
    ]
    with pytest.raises(ValueError, match="both rng and seed"):
        nn.Neuron(4, rng=random.Random(9), seed=9)


# --- initialisation ----------------------------------------------------------------------------


def _moments(weights: list[float]) -> tuple[float, float]:
    n = len(weights)
    mean = math.fsum(weights) / n
    return mean, math.fsum((w - mean) ** 2 for w in weights) / (n - 1)


@pytest.mark.parametrize(
    ("init", "variance"),
    [
        ("uniform", lambda fan_in, fan_out: 1 / (3 * fan_in)),
        ("kaiming", lambda fan_in, fan_out: 2 / fan_in),
        ("xavier", lambda fan_in, fan_out: 2 / (fan_in + fan_out)),
    ],
)
def test_initialisation_variances(init: str, variance: Any) -> None:
    """The sample variance of 40,000+ weights within 3% of the scheme's variance (the standard
    error of a sample variance is about sqrt(2 / n) = 0.7% of it for Gaussian weights, less for
    uniform ones), a mean near 0, and biases at 0. Every layer of an MLP uses its own fans."""
    model = nn.MLP(200, [250, 60], init=init, seed=0)
    for layer, (fan_in, fan_out) in zip(model.layers, [(200, 250), (250, 60)]):
        weights = [w.data for neuron in layer.neurons for w in neuron.w]
        mean, var = _moments(weights)
        want = variance(fan_in, fan_out)
        assert abs(var / want - 1) < 0.03, (init, fan_in, fan_out, var, want)
        assert abs(mean) < 4 * math.sqrt(want / len(weights))
        assert all(neuron.b.data == 0.0 for neuron in layer.neurons)
    weights = [w.data for neuron in model.layers[0].neurons for w in neuron.w]
    spread = sum(abs(w) <= math.sqrt(variance(200, 250)) for w in weights) / len(weights)
    if init == "kaiming":  # Gaussian: 68.3% within one standard deviation
        assert abs(spread - 0.6827) < 0.01
    else:  # uniform on [-a, a], a = sqrt(3 variance): 1/sqrt(3) = 57.7% within one standard deviation
        assert abs(spread - 1 / math.sqrt(3)) < 0.01
        assert max(map(abs, weights)) <= math.sqrt(3 * variance(200, 250))


def test_initialisation_is_reproducible_and_uniform_is_the_default() -> None:
    for init in nn.INITS:
        first, second = (nn.MLP(3, [4, 2], init=init, seed=5) for _ in range(2))
        assert first.state_dict() == second.state_dict()
    assert nn.MLP(3, [4, 2], seed=5).state_dict() == nn.MLP(3, [4, 2], init="uniform", seed=5).state_dict()
    assert nn.MLP(3, [4, 2], seed=5).state_dict() != nn.MLP(3, [4, 2], init="kaiming", seed=5).state_dict()
    # a lone neuron's fan-out is 1, a layer's neurons have the layer's width
    neuron = nn.Neuron(2, init="xavier", seed=0)
    assert max(abs(w.data) for w in neuron.w) <= math.sqrt(6 / 3)


@pytest.mark.parametrize("bad", ["he", "Kaiming", "", None, ["xavier"], 3])
def test_unknown_init_lists_the_choices(bad: Any) -> None:
    for build in (lambda: nn.MLP(2, [1], init=bad), lambda: nn.Layer(2, 1, init=bad),
                  lambda: nn.Neuron(2, init=bad)):
        with pytest.raises(ValueError, match=r"unknown init .*; choose one of uniform, kaiming, xavier"):
            build()


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
    ("mlp-unknown-output-activation", lambda: nn.MLP(2, [1], output_activation="tan"), "output_activation"),
    ("mlp-list-activation", lambda: nn.MLP(2, [1], activation=["relu"]), r"\['relu'\]"),
    ("mlp-dict-output-activation", lambda: nn.MLP(2, [1], output_activation={}), r"output_activation \{\}"),
    ("layer-too-many-parameters", lambda: nn.Layer(10**6, 10**6), "1,000,001,000,000 parameters"),
    ("neuron-too-many-parameters", lambda: nn.Neuron(10**7), "10,000,001 parameters"),
]


@pytest.mark.parametrize(
    ("build", "error", "mentioned"),
    [
        (lambda: nn.MLP(2, "16"), TypeError, "nouts must be a list"),
        (lambda: nn.MLP(2, {16: 1}), TypeError, "nouts must be a list"),
        (lambda: nn.MLP(2, [1], seed="zero"), TypeError, r"MLP\(\) seed must be None or an int"),
        (lambda: nn.MLP(2, [1], seed=1.5), TypeError, "seed"),
        (lambda: nn.Neuron(2, rng=0), TypeError, r"Neuron\(\) rng must be a random.Random"),
    ],
)
def test_bad_argument_types(build: Any, error: type[Exception], mentioned: str) -> None:
    with pytest.raises(error, match=mentioned):
        build()


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
    with pytest.raises(ValueError, match=f"{type(model).__name__} expects .* inputs, got {len(inputs)}"):
        model(inputs)


MODELS = [nn.Neuron(2, seed=0), nn.Layer(2, 3, seed=0), nn.MLP(2, [3, 1], seed=0)]


@pytest.mark.parametrize("model", MODELS, ids=["Neuron", "Layer", "MLP"])
def test_inputs_of_any_real_kind(model: Any) -> None:
    """Tuples, generators, bools, ints and numpy scalars are numbers like floats."""
    np = pytest.importorskip("numpy")

    def outputs(x: Any) -> list[float]:
        out = model(x)
        return [o.data for o in out] if isinstance(out, list) else [out.data]

    want = outputs([1.0, 0.0])
    for x in ((1.0, 0.0), (v for v in [1.0, 0.0]), [True, False], [1, 0], [np.float32(1), np.int64(0)],
              np.array([1.0, 0.0])):
        assert outputs(x) == want


def test_repr_describes_the_architecture() -> None:
    text = repr(nn.MLP(2, [3, 1], activation="tanh"))
    assert "MLP" in text and "tanh" in text and "linear" in text
    assert "relu" in repr(nn.Neuron(2))


# --- gradients of a loss ---------------------------------------------------------------------

DATA = [([0.5, -1.0, 2.0], 1.0), ([-1.5, 0.3, 0.1], -0.5), ([2.0, 2.0, -1.0], 0.25)]


def _loss(model: nn.MLP) -> Value:
    total: Value | float = 0.0
    for x, y in DATA:
        out = model(x)
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
            out = model(x)
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
        out = model(x)
        assert (out.data > 0) == (y > 0), (x, out.data)
