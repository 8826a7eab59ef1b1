"""``nn`` under hostile input (issue 14): no silent wrong number, no unbounded memory, errors that
leave state as it was and name the function, and everything a user keeps pickles.

Each section is one point of the issue; the last is a hypothesis fuzz that feeds odd values
(numpy scalars of every dtype, bools, huge ints, NaN, infinities, strings, None, containers) to
nn's public functions. Memory is measured with tracemalloc, never with wall time.
"""

from __future__ import annotations

import copy
import gc
import io
import json
import math
import multiprocessing
import numbers
import pickle
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _workers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn
from autodiff import DomainError, Value
from nn import SGD, Adam, AdamW, RMSprop
from nn.io import FORMAT, ModelFileError, load, save

XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [0, 1, 1, 0]


# --- optimizers: one huge gradient must not poison the state -----------------------------------

ADAPTIVE: dict[str, Callable[[list[Value]], nn.Optimizer]] = {
    "Adam": lambda ps: Adam(ps, lr=0.01),
    "AdamW": lambda ps: AdamW(ps, lr=0.01),
    "Adam-decay": lambda ps: Adam(ps, lr=0.01, weight_decay=0.1),
    "RMSprop": lambda ps: RMSprop(ps, lr=0.01),
    "RMSprop-centered-momentum": lambda ps: RMSprop(ps, lr=0.01, centered=True, momentum=0.9),
}


@pytest.mark.parametrize("kind", list(ADAPTIVE))
def test_a_gradient_whose_square_overflows_is_refused_and_changes_nothing(kind: str) -> None:
    """g = 1e200 is finite, but g^2 is not: Adam's v (RMSprop's s) would become inf, and the
    parameter would never move again. The step is refused; everything stays as it was, and the
    optimizer's own state still loads."""
    p, q = Value(1.0, label="w"), Value(2.0)
    opt = ADAPTIVE[kind]([q, p])
    q.grad, p.grad = 0.5, -0.25
    opt.step()  # the buffers hold something
    before = (p.data, q.data, copy.deepcopy(opt.state_dict()))
    q.grad, p.grad = 1.0, 1e200
    with pytest.raises(DomainError, match=r"step\(\) would make (its buffer '\w+' inf for )?parameter 'w'"):
        opt.step()
    assert (p.data, q.data, opt.state_dict()) == before
    opt.load_state_dict(opt.state_dict())
    p.grad = 1.0
    opt.step()  # and training goes on
    assert p.data != before[0] and opt.steps == 2


@pytest.mark.parametrize("bad", [math.nan, math.inf, 10**400])
def test_a_gradient_that_is_not_finite_is_refused(bad: Any) -> None:
    p = Value(1.0, label="w")
    opt = Adam([p])
    p.grad = bad  # set by hand: the engine never makes one
    with pytest.raises(DomainError, match=r"Adam.step\(\): the gradient of parameter 'w' must be finite"):
        opt.step()
    assert p.data == 1.0 and opt.steps == 0 and opt.state["exp_avg"] == [0.0]


OPTIMIZERS: dict[str, Callable[[list[Value]], nn.Optimizer]] = {
    **ADAPTIVE,
    "SGD": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "SGD-plain": lambda ps: SGD(ps, lr=1e300),
}


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(sorted(OPTIMIZERS)),
    gradients=st.lists(
        st.tuples(*[st.one_of(st.floats(-1e3, 1e3), st.sampled_from([1e200, -1e300, 1e-300, 0.0]))] * 2),
        min_size=1, max_size=6,
    ),
)
def test_an_optimizer_always_accepts_its_own_state(kind: str, gradients: list[tuple[float, float]]) -> None:
    """Whatever steps succeeded or were refused, ``load_state_dict(state_dict())`` (through JSON
    too) accepts the state, and the parameters and buffers are finite."""
    params = [Value(0.5), Value(-1.5)]
    opt = OPTIMIZERS[kind](params)
    for grads in gradients:
        for p, g in zip(params, grads):
            p.grad = g
        before = ([p.data for p in params], opt.state_dict())
        try:
            opt.step()
        except DomainError:
            assert ([p.data for p in params], opt.state_dict()) == before
        state = opt.state_dict()
        opt.load_state_dict(json.loads(json.dumps(state, allow_nan=False)))
        assert opt.state_dict() == state
        assert all(math.isfinite(p.data) for p in params)


# --- nn.load: a small file cannot make a huge model ----------------------------------------------


def _write_model_file(path: Path, architecture: dict[str, Any], parameters: dict[str, Any]) -> Path:
    document = {"format": FORMAT, "version": 1, "architecture": architecture, "parameters": parameters}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("nouts", [[3000], [100_000, 100_000], [10**400]], ids=["9e6", "1e10", "1e400"])
def test_a_small_file_declaring_a_huge_model_fails_fast_and_small(tmp_path: Path, nouts: list[int]) -> None:
    """A 146-byte file declaring MLP(3000, [3000]) with no parameters took 23 s and 2.6 GB before
    its error; the parameter count the architecture implies is now checked first."""
    path = _write_model_file(tmp_path / "bomb.json", {"type": "MLP", "nin": 3000, "nouts": nouts,
                                                      "activation": "relu"}, {})
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="parameters") as info:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak
    assert "lists 0" in str(info.value) or "at most 10,000,000" in str(info.value)


@pytest.mark.parametrize("architecture", [
    {"type": "MLP", "nin": 10**4000, "nouts": [1], "activation": "relu"},
    {"type": "MLP", "nin": 2, "nouts": [1] * 1_000_000, "activation": "relu"},
], ids=["4000-digit nin", "a million layers"])
def test_errors_about_an_architecture_stay_short(tmp_path: Path, architecture: dict[str, Any]) -> None:
    """The file's numbers and lists are shortened in the message (a 4,000-digit int printed
    whole, or a million-entry list: a message of megabytes)."""
    path = tmp_path / "m.json"
    text = json.dumps({"format": FORMAT, "version": 1, "architecture": architecture, "parameters": {}})
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelFileError, match="parameters") as info:
        load(path)
    assert len(str(info.value)) < 400, str(info.value)[:500]


@pytest.mark.parametrize(
    ("field", "bad"),
    [("type", ["MLP"]), ("type", {"MLP": 1}), ("activation", ["relu"]), ("activation", {"relu": 1}),
     ("output_activation", ["tanh"]), ("nouts", {"1": 1}), ("nin", [2])],
)
def test_unhashable_architecture_fields_are_named(tmp_path: Path, field: str, bad: Any) -> None:
    """A list or a dict where a name belongs was a bare TypeError (unhashable)."""
    model = nn.MLP(2, [1], seed=0)
    architecture = {**nn.io.architecture(model), field: bad}
    path = _write_model_file(tmp_path / "m.json", architecture, model.state_dict())
    with pytest.raises(ModelFileError, match=field) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")


# --- no reference cycles: a training step is freed by reference counting ------------------------

LOSS_CASES = [
    ("mse", [0.5, -1.0, 2.0, 0.0], 1),
    ("hinge", [1, -1, -1, 1], 1),
    ("binary_cross_entropy", [0, 1, 1, 0], 1),
    ("binary_cross_entropy_with_logits", [0, 1, 1, 0], 1),
    ("cross_entropy", [0, 2, 1, 0], 3),
]


def _garbage_after(work: Callable[[], None]) -> int:
    """What ``gc.collect()`` finds after ``work()`` with the cyclic collector off: the objects
    that reference counting alone could not free."""
    gc.collect()
    gc.disable()
    try:
        work()
        return gc.collect()
    finally:
        gc.enable()


@pytest.mark.parametrize(("loss", "targets", "outputs"), LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_a_training_step_leaves_no_reference_cycles(loss: str, targets: list[Any], outputs: int) -> None:
    """Model, loss, backward, optimizer step: everything is freed when the last reference goes
    (the losses once built a self-referencing inner function per call)."""
    loss_fn = nn.LOSSES[loss]

    def step() -> None:
        model = nn.MLP(2, [4, outputs], activation="tanh", seed=0)
        opt = Adam(model.parameters(), lr=0.01)
        for _ in range(3):
            predictions = [model(x) for x in XOR_X]
            if loss == "binary_cross_entropy":
                predictions = [p.sigmoid() for p in predictions]
            batch_loss = loss_fn(predictions, targets)
            opt.zero_grad()
            batch_loss.backward()
            opt.step()

    assert _garbage_after(step) == 0


def test_fit_leaves_no_reference_cycles() -> None:
    def train() -> None:
        model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
        nn.fit(model, (XOR_X, XOR_Y), "binary_cross_entropy_with_logits", Adam(model.parameters(), lr=0.1),
               epochs=4, batch_size=2, validation_data=(XOR_X, XOR_Y), progress=False,
               callbacks=[lambda event: None], early_stopping=2)

    assert _garbage_after(train) == 0


def test_memory_stays_flat_over_many_steps_without_the_cyclic_collector() -> None:
    """300 steps with gc off once grew by 127 MB; now the memory after 60 steps is what it was
    after 10 (tracemalloc: the bytes Python holds)."""
    model = nn.MLP(2, [8, 1], activation="tanh", seed=0)
    opt = SGD(model.parameters(), lr=0.05)

    def steps(n: int) -> None:
        for _ in range(n):
            batch_loss = nn.mse([model(x) for x in XOR_X], [0.0, 1.0, 1.0, 0.0])
            opt.zero_grad()
            batch_loss.backward()
            opt.step()

    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        steps(10)
        after_10 = tracemalloc.get_traced_memory()[0]
        steps(50)
        after_60 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        gc.enable()
    assert after_60 - after_10 < 20_000, (after_10, after_60)


# --- pickle, copy, processes ----------------------------------------------------------------------

MODELS: dict[str, Callable[[], nn.Module]] = {
    **{f"MLP-{a}": (lambda a=a: nn.MLP(3, [4, 2], activation=a, output_activation=a, seed=1))
       for a in nn.ACTIVATIONS},
    "Layer": lambda: nn.Layer(3, 2, "leaky_relu", seed=2),
    "Neuron": lambda: nn.Neuron(3, "sigmoid", seed=3),
}


def _predictions_of(out: Value | list[Value]) -> list[float]:
    return [o.data for o in out] if isinstance(out, list) else [out.data]


def _predictions(model: Any) -> list[float]:
    return [y for x in ([0.5, -1.0, 2.0], [1.5, 0.25, -0.75]) for y in _predictions_of(model(x))]


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_models_round_trip(kind: str, how: str) -> None:
    model = MODELS[kind]()
    twin = pickle.loads(pickle.dumps(model)) if how == "pickle" else copy.deepcopy(model)
    assert type(twin) is type(model) and repr(twin) == repr(model)
    assert twin.state_dict() == model.state_dict() and _predictions(twin) == _predictions(model)
    assert [p.label for p in twin.parameters()] == [p.label for p in model.parameters()]
    assert not set(map(id, twin.parameters())) & set(map(id, model.parameters()))  # its own parameters
    twin.parameters()[0].data += 1.0
    assert twin.state_dict() != model.state_dict()


@pytest.mark.parametrize(
    "schedule", [None, nn.step_decay(0.1, 0.5, every=2), nn.linear_decay(0.1, 0.01, steps=5)],
    ids=["none", "step", "linear"],
)
@pytest.mark.parametrize("kind", [*sorted(ADAPTIVE), "SGD"])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_optimizers_round_trip_with_their_model(kind: str, how: str, schedule: Any) -> None:
    """A model and its optimizer copied together (a pickle or a deep copy of the pair) stay
    together: the copy's optimizer holds the copy's parameters and the same state, and three
    more steps of the copy are three more steps of the original, bit for bit."""
    model = nn.MLP(2, [3, 1], seed=0)
    opt = OPTIMIZERS[kind](model.parameters())
    opt.lr_schedule = schedule

    def train(m: nn.MLP, o: nn.Optimizer, steps: int) -> list[float]:
        for _ in range(steps):
            batch_loss = nn.mse([m(x) for x in XOR_X], [0.0, 1.0, 1.0, 0.0])
            o.zero_grad()
            batch_loss.backward()
            o.step()
        return [p.data for p in m.parameters()]

    train(model, opt, 2)
    pair = (model, opt)
    twin_model, twin_opt = pickle.loads(pickle.dumps(pair)) if how == "pickle" else copy.deepcopy(pair)
    assert twin_opt.params == twin_model.parameters() and twin_opt.state_dict() == opt.state_dict()
    assert repr(twin_opt.lr_schedule) == repr(schedule)
    assert train(twin_model, twin_opt, 3) == train(model, opt, 3)


def test_schedules_pickle_and_compute_the_same() -> None:
    for schedule in (nn.step_decay(0.1, 0.5, every=3), nn.linear_decay(1.0, 0.1, steps=4)):
        twin = pickle.loads(pickle.dumps(schedule))
        assert [twin(t) for t in range(8)] == [schedule(t) for t in range(8)]
        assert repr(twin) == repr(schedule)


def test_a_history_pickles() -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    history = nn.fit(model, (XOR_X, XOR_Y), "mse", SGD(model.parameters(), lr=0.1), 2, progress=False)
    twin = pickle.loads(pickle.dumps(history))
    assert twin.records == history.records and twin.step_loss == history.step_loss


def test_a_model_maps_through_a_spawn_pool() -> None:
    """Models and optimizers cross process boundaries: predictions in workers are those made
    here, and a model trained in a worker comes back trained exactly as it would be here."""
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    inputs = [[0.1 * i, -0.2 * i] for i in range(8)]
    here = [_workers.predict((model, x)) for x in inputs]
    optimizer = Adam(model.parameters(), lr=0.1)
    trained_here = _workers.train(copy.deepcopy((model, optimizer, XOR_X, XOR_Y)))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        there = pool.map(_workers.predict, [(model, x) for x in inputs])
        jobs = [(model, optimizer, XOR_X, XOR_Y)]
        ((trained, trained_optimizer, history),) = pool.map(_workers.train, jobs)
    assert there == here
    assert trained.state_dict() == trained_here[0].state_dict() != model.state_dict()
    assert trained_optimizer.params == trained.parameters() and trained_optimizer.steps == 3
    assert history.loss == trained_here[2].loss


# --- calling a model with the wrong thing ---------------------------------------------------------

CALLED = [nn.Neuron(2, seed=0), nn.Layer(2, 3, seed=0), nn.MLP(2, [3, 1], seed=0)]


@pytest.mark.parametrize("model", CALLED, ids=["Neuron", "Layer", "MLP"])
@pytest.mark.parametrize(
    ("x", "error", "mentioned"),
    [
        ({"a": 1.0, "b": 2.0}, TypeError, "input must be a list of 2 numbers or Values, got dict"),
        ("ab", TypeError, "got str"),
        (3.0, TypeError, "got float"),
        (Value(1.0), TypeError, "got Value"),
        (None, TypeError, "got NoneType"),
        ({1.0, 2.0}, TypeError, "got set"),
        ([1.0], ValueError, "expects 2 inputs, got 1"),
        ([1.0, 2.0, 3.0], ValueError, "expects 2 inputs, got 3"),
        ([1.0, "2"], TypeError, r"input x\[1\] must be a number or a Value, got str: '2'"),
        ([None, 1.0], TypeError, r"x\[0\] .* got NoneType"),
        ([[1.0], 2.0], TypeError, r"x\[0\] .* got list"),
        ([1.0, complex(1, 1)], TypeError, "got complex"),
        ([1.0, math.nan], DomainError, r"x\[1\] must be finite, got nan"),
        ([-math.inf, 1.0], DomainError, r"x\[0\] must be finite, got -inf"),
        ([1.0, 10**5000], DomainError, r"x\[1\] must be finite, got an int of 5001 digits"),
    ],
)
def test_bad_inputs_name_the_model_and_the_argument(
    model: Any, x: Any, error: type[Exception], mentioned: str
) -> None:
    with pytest.raises(error, match=mentioned) as info:
        model(x)
    assert str(info.value).startswith(type(model).__name__)


@pytest.mark.parametrize(
    ("build", "mentioned"),
    [
        (lambda: nn.MLP(2, 3), r"MLP\(\) nouts must be a list of layer sizes such as \[16, 1\], got int: 3"),
        (lambda: nn.MLP(2, "16"), r"MLP\(\) nouts must be a list"),
        (lambda: nn.MLP(2, [10**5000]), r"MLP\(\) would have more than 10\^30 parameters"),
        (lambda: nn.MLP(3000, [3000, 3000]), r"MLP\(\) would have 18,006,000 parameters; at most 10,000,000"),
        (lambda: nn.MLP(2, [1], activation=["relu"]), r"MLP\(\) unknown activation \['relu'\]"),
        (lambda: nn.Layer(2, 2, init={}), r"Layer\(\) unknown init \{\}; choose one of uniform"),
    ],
)
def test_bad_constructions_are_clear(build: Callable[[], Any], mentioned: str) -> None:
    """``MLP(2, 3)`` said "Value after * must be an iterable"; a huge size built until memory ran
    out. Sizes are checked, and counted, before anything is built."""
    tracemalloc.start()
    try:
        with pytest.raises((TypeError, ValueError), match=mentioned):
            build()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


# --- fit: labels checked up front; Ctrl-C keeps what finished --------------------------------------


@pytest.mark.parametrize(
    ("loss", "labels", "nouts", "mentioned"),
    [
        ("hinge", [1, -1, 1, 1, -1, 0], 1, r"fit\(\) y\[5\]: labels must be -1 or \+1, got 0; for 0/1"),
        ("binary_cross_entropy", [0, 1, 1, 2, 0, 1], 1, r"fit\(\) y\[3\] must be in \[0, 1\], got 2"),
        ("binary_cross_entropy", [0, 1, None, 0, 0, 1], 1, r"fit\(\) y\[2\] must be a number .*NoneType"),
        ("cross_entropy", [0, 1, 2, 3, 0, 1], 3, r"fit\(\) y\[3\] = 3 is not a class index for 3 logits"),
        ("cross_entropy", [0, 1, 2, 1.0, 0, 1], 3, r"fit\(\) y\[3\] must be a class index .*, got float"),
        ("mse", [0.5, 1.0, math.nan, 0.0, 1.0, 2.0], 1, r"fit\(\) y\[2\] must be finite, got nan"),
        ("mse", [0.5, 1.0, 1.0, "0", 1.0, 2.0], 1, r"fit\(\) y\[3\] must be a number or a list of numbers"),
        ("mse", [0.5, 1.0, 1.0, 10**5000, 1.0, 2.0], 1, r"fit\(\) y\[3\] must be finite, got an int of 5001"),
    ],
)
def test_labels_are_checked_before_training_by_their_index_in_y(
    loss: str, labels: list[Any], nouts: int, mentioned: str
) -> None:
    """Shuffled batches of 2 once reported a bad label by its place in its batch; now every label
    is checked before the first step and named by its index in ``y``."""
    X = [[0.1 * i, -0.2 * i] for i in range(6)]
    model = nn.MLP(2, [3, nouts], seed=0)
    if loss == "binary_cross_entropy":
        model = nn.MLP(2, [3, nouts], seed=0, output_activation="sigmoid")
    opt = SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    with pytest.raises((TypeError, ValueError), match=mentioned):
        nn.fit(model, (X, labels), loss, opt, 2, batch_size=2, seed=1)
    assert model.state_dict() == before and opt.steps == 0
    good = {"hinge": 1, "cross_entropy": 0, "mse": 0.5}.get(loss, 1)
    with pytest.raises((TypeError, ValueError), match=mentioned.replace("y", "validation_data y", 1)):
        nn.fit(model, (X, [good] * 6), loss, opt, 2, validation_data=(X, labels))
    assert opt.steps == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ctrl_c_returns_the_history_of_the_finished_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    """KeyboardInterrupt in the third epoch (raised by a callback, as Ctrl-C would be): fit
    closes the bar, says so on standard error, runs the end-of-training hooks and returns the
    History of the two epochs that finished, marked interrupted."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the text bar
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = nn.MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    ended: list[nn.FitEvent] = []

    class PressCtrlC(nn.Callback):
        def on_train_batch_end(self, event: nn.FitEvent) -> None:
            if event.epoch == 3 and event.batch == 1:
                raise KeyboardInterrupt

        def on_train_end(self, event: nn.FitEvent) -> None:
            ended.append(event)

    history = nn.fit(model, (XOR_X, XOR_Y), "mse", opt, epochs=5, batch_size=2, callbacks=[PressCtrlC()])
    assert history.interrupted and not history.stopped
    assert len(history) == 2 and len(history.step_loss) == opt.steps == 5
    assert repr(history).endswith("; interrupted)")
    bar, message = terminal.getvalue().rsplit("\n", 2)[:2]
    assert "2/5" in bar  # the bar stopped at the epochs that finished, and ended its line
    assert message == ("fit() interrupted (KeyboardInterrupt) after 5 steps: returning the History of the 2 "
                       "epochs that finished (history.interrupted is True)")
    assert [e.kind for e in ended] == ["end"] and ended[0].history is history


# --- the fuzz ---------------------------------------------------------------------------------------


def _numpy_scalars() -> list[Any]:
    """A scalar of every numpy dtype, at 0, 1, -1 (or the largest value) and NaN / inf."""
    try:
        import numpy as np
    except ImportError:
        return []
    scalars: list[Any] = []
    for dtype in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        scalars += [dtype(0), dtype(1)]
        if dtype is not np.bool_:
            scalars.append(np.iinfo(dtype).max if np.iinfo(dtype).min == 0 else dtype(-1))
    for dtype in (np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128):
        scalars += [dtype(0.5), dtype(-2), dtype(np.nan), dtype(np.inf)]
    scalars.append(np.longdouble("1e4000"))  # finite in a long double, infinite as a float
    return scalars


ODD_SCALARS = [
    None, True, False, 0, 1, -1, 2, 10**5000, -(10**5000), 0.5, -0.0, 1e308, 5e-324,
    math.nan, math.inf, -math.inf, "1.0", "", b"1", complex(1, 0), Value(0.5), object(),
    *_numpy_scalars(),
]
odd_scalar = st.sampled_from(ODD_SCALARS)
odd = st.one_of(
    odd_scalar,
    st.lists(odd_scalar, max_size=3),
    st.tuples(odd_scalar, odd_scalar),
    st.sampled_from([[], {}, set(), {"a": 1.0}, [[1.0]], [[]]]),
)
"""Odd values: scalars of every kind, and small containers of them."""

ALLOWED = (TypeError, ValueError)  # DomainError and ModelFileError are ValueErrors
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _refused_clearly(error: Exception, *names: str) -> None:
    """The error is a TypeError or ValueError whose message names one of ``names``."""
    assert isinstance(error, ALLOWED), f"{type(error).__name__}: {error}"
    message = str(error)
    assert any(name in message for name in names), message


def _try(call: Callable[[], Any], *names: str) -> Any:
    """``call()``, or None after checking that it failed clearly; any other exception escapes
    (and fails the test)."""
    try:
        return call()
    except ALLOWED as error:
        _refused_clearly(error, *names)
        return None


def _plain(x: Any) -> float | None:
    """``x`` as the finite float a loss or a model should see (Values, bools, ints, floats and
    numpy reals are numbers), or None when it is not one."""
    if isinstance(x, Value):
        return x.data
    if not isinstance(x, numbers.Real):
        return None
    try:
        number = float(x)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


@FUZZ
@given(prediction=odd, target=odd)
def test_fuzz_losses(prediction: Any, target: Any) -> None:
    losses = [("mse", nn.mse), ("hinge", nn.hinge), ("binary_cross_entropy", nn.binary_cross_entropy),
              ("binary_cross_entropy", nn.binary_cross_entropy_with_logits),
              ("cross_entropy", nn.cross_entropy)]
    for name, loss in losses:
        result = _try(lambda loss=loss: loss(prediction, target), f"{name}()")
        if result is None:
            continue
        assert isinstance(result, Value) and math.isfinite(result.data)
        p, t = _plain(prediction), _plain(target)
        if name == "mse" and p is not None and t is not None:
            assert result.data == (p - t) ** 2
    for name, function in [("softmax", nn.softmax), ("l2", nn.l2)]:
        result = _try(lambda function=function: function(prediction), f"{name}()")
        if result is not None:
            values = result if isinstance(result, list) else [result]
            assert all(isinstance(v, (Value, list)) for v in values)
    for name, metric in [("binary_accuracy", nn.binary_accuracy),
                         ("categorical_accuracy", nn.categorical_accuracy)]:
        result = _try(lambda metric=metric: metric(prediction, target), f"{name}()")
        assert result is None or 0.0 <= result <= 1.0


@FUZZ
@given(x=odd, a=odd_scalar, b=odd_scalar)
def test_fuzz_calling_models(x: Any, a: Any, b: Any) -> None:
    for model in CALLED:
        name = type(model).__name__
        _try(lambda model=model: model(x), name)
        out = _try(lambda model=model: model([a, b]), name)
        pa, pb = _plain(a), _plain(b)
        if out is None:
            assert pa is None or pb is None, (a, b)  # two good numbers are always accepted
            continue
        assert pa is not None and pb is not None
        want = model([pa, pb])
        assert _predictions_of(out) == _predictions_of(want)


@FUZZ
@given(value=odd, position=st.integers(0, 4))
def test_fuzz_building_models(value: Any, position: int) -> None:
    arguments: list[Any] = [2, [3, 1], "relu", 0, "linear"]
    arguments[position] = value
    nin, nouts, activation, seed, output = arguments
    _try(lambda: nn.MLP(nin, nouts, activation, seed, output_activation=output), "MLP()")
    init = output if position == 4 else "uniform"
    _try(lambda: nn.Layer(nin, 2, activation, seed=seed, init=init), "Layer()")
    _try(lambda: nn.Neuron(nin, activation, seed=seed), "Neuron()")


OPTIMIZER_SETTINGS: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.1, "momentum": 0.5, "nesterov": False, "weight_decay": 0.0},
    "Adam": {"lr": 0.1, "betas": (0.9, 0.99), "eps": 1e-8, "weight_decay": 0.0},
    "AdamW": {"lr": 0.1, "betas": (0.9, 0.99), "eps": 1e-8, "weight_decay": 0.0},
    "RMSprop": {"lr": 0.1, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                "centered": False},
}


@FUZZ
@given(value=odd, which=st.sampled_from(
    ["parameters", "lr", "momentum", "nesterov", "weight_decay", "betas", "beta2", "eps", "alpha", "centered",
     "lr_schedule"]
))
def test_fuzz_optimizer_arguments(value: Any, which: str) -> None:
    """Each optimizer built with one odd argument: refused clearly, or built, and then its
    step either works (leaving finite parameters) or is refused clearly."""
    for kind, settings_ in OPTIMIZER_SETTINGS.items():
        kwargs = dict(settings_)
        if which == "beta2" and "betas" in kwargs:
            kwargs["betas"] = (0.9, value)
        elif which in kwargs or which == "lr_schedule":
            kwargs[which] = value
        parameters = value if which == "parameters" else [Value(1.0), Value(-2.0)]
        optimizer = _try(lambda kind=kind, kwargs=kwargs, parameters=parameters:
                         getattr(nn, kind)(parameters, **kwargs), kind)
        if optimizer is None:
            continue
        for p in optimizer.params:
            p.grad = 0.5
        _try(optimizer.step, kind)
        assert all(math.isfinite(p.data) for p in optimizer.params)
    _try(lambda: nn.step_decay(value, 0.5, 2), "step_decay")
    _try(lambda: nn.step_decay(0.1, value, 2), "step_decay")
    _try(lambda: nn.step_decay(0.1, 0.5, value), "step_decay")
    _try(lambda: nn.linear_decay(0.1, value, 3), "linear_decay")
    _try(lambda: nn.linear_decay(0.1, 0.0, value), "linear_decay")
    _try(lambda: Adam([Value(1.0)]).load_state_dict(value), "load_state_dict")
    _try(lambda: nn.EarlyStopping("loss", patience=value), "EarlyStopping")
    _try(lambda: nn.EarlyStopping(value), "EarlyStopping")


class _StopAfterOneStep(nn.Callback):
    """Ends any fit after its first step, so that a huge number of epochs stays cheap."""

    def on_train_batch_end(self, event: nn.FitEvent) -> None:
        event.stop_training = True


FIT_ARGUMENTS = ["data", "loss", "optimizer", "epochs", "batch_size", "shuffle", "seed", "metrics",
                 "progress", "validation_data", "callbacks", "early_stopping", "X", "y"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=odd, which=st.sampled_from(FIT_ARGUMENTS))
def test_fuzz_fit_arguments(value: Any, which: str) -> None:
    model = nn.MLP(2, [2, 1], seed=0)
    arguments: dict[str, Any] = {
        "data": (XOR_X, XOR_Y), "loss": "binary_cross_entropy_with_logits",
        "optimizer": SGD(model.parameters(), lr=0.1), "epochs": 3, "progress": False,
    }
    if which == "X":
        arguments["data"] = ([value, *XOR_X[1:]], XOR_Y)
    elif which == "y":
        arguments["data"] = (XOR_X, [value, *XOR_Y[1:]])
    else:
        arguments[which] = value
    if which != "callbacks":
        arguments["callbacks"] = [_StopAfterOneStep()]
    history = _try(lambda: nn.fit(model, **arguments), "fit()", "MLP", "EarlyStopping")
    if history is not None:
        assert isinstance(history, nn.History)
        assert all(math.isfinite(v) for values in history.records.values() for v in values)
        assert all(math.isfinite(v) for v in history.step_loss)


@FUZZ
@given(value=odd)
def test_fuzz_save_and_load(tmp_path_factory: pytest.TempPathFactory, value: Any) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    model = nn.MLP(2, [2, 1], seed=0)
    if not isinstance(value, str):  # a str is a path: it would be written where the tests run
        _try(lambda: save(model, value), "save()")
        _try(lambda: load(value), "load()")
    save(model, folder / "m.json")
    _try(lambda: load(folder / "m.json", into=value), "load()", "does not match")
    _try(lambda: save(value, folder / "v.json"), "save()")
    architecture = nn.io.architecture(model)
    for field in ("nin", "nouts", "activation", "output_activation", "type"):
        try:
            path = _write_model_file(folder / "a.json", {**architecture, field: value}, model.state_dict())
        except (TypeError, ValueError):  # json cannot write it: there is no such file
            continue
        loaded = _try(lambda path=path: load(path), str(path))
        assert loaded is None or loaded.state_dict() == model.state_dict()
    for name in ("L0.N0.w0", "L1.N0.b"):
        try:
            path = _write_model_file(folder / "p.json", architecture, {**model.state_dict(), name: value})
        except (TypeError, ValueError):
            continue
        loaded = _try(lambda path=path: load(path), str(path))
        if loaded is not None:
            number = _plain(value)
            assert number is not None and loaded.state_dict()[name] == number
