"""Code written for micrograd runs on chaingrad by changing its imports.

The training loop of micrograd's lecture ("The spelled-out intro to neural networks and
backpropagation: building micrograd") and the loss of micrograd's demo notebook are kept below
as text, exactly as they were written (two-space indents and all), and executed against
``nn``: only the import and the line that makes the network differ. When the micrograd package
(pip micrograd==0.1.0, the ``bench`` extra) is importable, the same code runs on both engines
from the same weights and gives the same numbers.

And a user's script in the lecture's style type-checks under ``mypy --strict``: ``p.grad`` is a
float.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import nn
from autodiff import Value

ROOT = Path(__file__).resolve().parent.parent

LECTURE_DATA = """
xs = [
  [2.0, 3.0, -1.0],
  [3.0, -1.0, 0.5],
  [0.5, 1.0, 1.0],
  [1.0, 1.0, -1.0],
]
ys = [1.0, -1.0, -1.0, 1.0] # desired targets
"""

LECTURE_LOOP = """
for k in range(20):

  # forward pass
  ypred = [n(x) for x in xs]
  loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))

  # backward pass
  for p in n.parameters():
    p.grad = 0.0
  loss.backward()

  # update
  for p in n.parameters():
    p.data += -0.1 * p.grad

  print(k, loss.data)
"""

DEMO_LOSS = """
# loss function
def loss(batch_size=None):

    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]

    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss

    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)
"""

DEMO_LOOP = """
# optimization
for k in range(steps):

    # forward
    total_loss, acc = loss()

    # backward
    model.zero_grad()
    total_loss.backward()

    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad

    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
"""


def run(code: str, namespace: dict[str, Any]) -> list[str]:
    """Execute ``code`` in ``namespace``; the lines it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, namespace)
    return out.getvalue().splitlines()


def test_the_lectures_training_loop_runs_verbatim() -> None:
    """The lecture's all-tanh network, the MLP line being the one change. The lecture re-runs
    its 20-step cell until the loss is small; so does this test, three times. (Our weights
    start smaller than the lecture's U(-1, 1), so the loss takes longer to fall.)"""
    namespace: dict[str, Any] = {}
    setup = 'from nn import MLP\nn = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)\n'
    run(setup + LECTURE_DATA, namespace)
    printed = [line for _ in range(3) for line in run(LECTURE_LOOP, namespace)]
    losses = [float(line.split()[1]) for line in printed]
    assert len(losses) == 60 and losses[0] > 1.0  # it had something to learn
    assert all(b < a for a, b in itertools.pairwise(losses))  # gradient descent on a smooth loss
    assert losses[-1] < 0.01
    ypred = namespace["ypred"]
    assert all(type(yout) is Value for yout in ypred)  # one output: the Value itself
    assert [round(yout.data) for yout in ypred] == namespace["ys"]


def test_micrograds_demo_loss_runs_on_our_nn() -> None:
    """micrograd's demo: Values made with ``map(Value, row)`` from numpy rows, numpy labels, the
    hinge loss as ``(1 + -yi*scorei).relu()``, an L2 penalty ``sum(p*p for p in ...)``."""
    np = pytest.importorskip("numpy")
    X, y = nn.make_moons(100, noise=0.1, seed=0)
    namespace = {"np": np, "Value": Value, "X": np.array(X), "y": np.array(y) * 2 - 1, "steps": 15,
                 "model": nn.MLP(2, [16, 16, 1], seed=0)}
    run(DEMO_LOSS, namespace)
    before, accuracy_before = namespace["loss"]()
    printed = run(DEMO_LOOP, namespace)
    after, accuracy_after = namespace["loss"]()
    assert len(printed) == 15 and printed[0].startswith(f"step 0 loss {before.data}, accuracy")
    assert after.data < 0.5 * before.data
    assert accuracy_after > max(0.8, accuracy_before)


@pytest.fixture(name="micrograd")
def micrograd_package() -> Any:
    return pytest.importorskip("micrograd.nn")


def _same_weights(ours: nn.MLP, theirs: Any) -> None:
    """micrograd's parameters come in our order: layer by layer, neuron by neuron, w then b."""
    assert len(ours.parameters()) == len(theirs.parameters())
    for p, q in zip(ours.parameters(), theirs.parameters()):
        q.data = p.data


def test_the_lecture_gives_micrograds_numbers(micrograd: Any) -> None:
    """micrograd's MLP (relu, then linear: our defaults) and ours, from the same weights, through
    the lecture's loop: the same loss at every step. They differ in the last bits only because
    a neuron here sums ``w . x`` and then ``b``, micrograd ``b`` first."""
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    run("from nn import MLP\nn = MLP(3, [4, 4, 1], seed=1)\n" + LECTURE_DATA, ours)
    run("from micrograd.nn import MLP\nn = MLP(3, [4, 4, 1])\n" + LECTURE_DATA, theirs)
    _same_weights(ours["n"], theirs["n"])
    a, b = run(LECTURE_LOOP, ours), run(LECTURE_LOOP, theirs)
    losses = [(float(x.split()[1]), float(y.split()[1])) for x, y in zip(a, b)]
    assert len(losses) == 20 and losses[-1][0] < losses[0][0]
    assert all(abs(x - y) <= 1e-11 * abs(y) for x, y in losses), losses
    assert [p.data for p in ours["n"].parameters()] == pytest.approx(
        [p.data for p in theirs["n"].parameters()], rel=1e-10, abs=1e-12
    )


def test_the_demo_gives_micrograds_numbers(micrograd: Any) -> None:
    """micrograd's demo loss and loop on both engines, from the same weights (20 points and 3
    steps: micrograd takes about 40 times as long per step)."""
    np = pytest.importorskip("numpy")
    engine = pytest.importorskip("micrograd.engine")
    X, y = nn.make_moons(20, noise=0.1, seed=0)
    data = {"np": np, "X": np.array(X), "y": np.array(y) * 2 - 1, "steps": 3}
    ours = {**data, "Value": Value, "model": nn.MLP(2, [16, 16, 1], seed=0)}
    theirs = {**data, "Value": engine.Value, "model": micrograd.MLP(2, [16, 16, 1])}
    _same_weights(ours["model"], theirs["model"])
    printed = []
    for namespace in (ours, theirs):
        run(DEMO_LOSS, namespace)
        printed.append(run(DEMO_LOOP, namespace))
    rows = [[(float(line.split()[3].rstrip(",")), line.split()[5]) for line in lines] for lines in printed]
    assert [accuracy for _, accuracy in rows[0]] == [accuracy for _, accuracy in rows[1]]
    assert all(abs(x - y) <= 1e-12 * abs(y) for (x, _), (y, _) in zip(*rows)), rows


def test_micrograds_module_api() -> None:
    """What micrograd's ``nn`` offers, used as it is used there."""
    neuron = nn.Neuron(3, nonlin=False)
    assert neuron.parameters() == [*neuron.w, neuron.b]
    layer = nn.Layer(3, 2, nonlin=True)
    assert len(layer.parameters()) == 8
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, list) and len(out) == 2
    model = nn.MLP(3, [4, 4, 1], seed=1)  # (unseeded, every relu may be off and the score 0)
    score = model([1.0, 2.0, 3.0])
    assert isinstance(score, Value) and score.data != 0.0
    (score * score).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


USER_SCRIPT = '''
"""A learner's training loop in the lecture's style, type-checked strictly."""

from autodiff import Value
from nn import MLP

xs: list[list[float]] = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys: list[float] = [1.0, -1.0, -1.0, 1.0]
model = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)
lr = 0.1
for k in range(3):
    loss = Value(0.0)
    for x, y in zip(xs, ys):
        out = model(x)
        assert isinstance(out, Value)  # one output
        loss = loss + (out - y) ** 2
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
        p.data += -lr * p.grad
        p.grad = 0.0
    step: float = lr * p.grad
    print(k, loss.data, step)
'''


@pytest.mark.slow
def test_a_users_script_passes_mypy_strict(tmp_path: Path) -> None:
    """``Value.grad`` is typed as a float, so ``p.data -= lr * p.grad`` type-checks. mypy runs
    on the script alone, in an empty folder (no project configuration applies), finding
    chaingrad's packages through MYPYPATH and reporting only the script's errors, as for an
    installed package."""
    pytest.importorskip("mypy")
    script = tmp_path / "train.py"

    def mypy(text: str) -> subprocess.CompletedProcess[str]:
        script.write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
                   "--cache-dir", str(tmp_path / "cache"), str(script)]
        env = {**os.environ, "MYPYPATH": str(ROOT)}
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    result = mypy(textwrap.dedent(USER_SCRIPT))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout
    # and the check has teeth: a gradient taken for a string is caught
    result = mypy(textwrap.dedent(USER_SCRIPT) + "bad: str = model.parameters()[0].grad\n")
    assert result.returncode == 1 and 'expression has type "float"' in result.stdout, result.stdout
