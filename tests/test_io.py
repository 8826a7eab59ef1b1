"""``nn.io``: save and load models as JSON, exactly, atomically, and with clear errors for
files that are not what ``save`` writes."""

from __future__ import annotations

import json
import math
import os
import random
import stat
import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

import nn
from autodiff.files import atomic_write
from nn.io import FORMAT, VERSION, ModelFileError, load, save


def _trained_like(model: nn.Module, seed: int = 0) -> nn.Module:
    """Parameters moved off their initial values (nonzero biases too)."""
    rng = random.Random(seed)
    for p in model.parameters():
        p.data += rng.uniform(-0.5, 0.5)
    return model


def _outputs(model: Any, inputs: list[list[float]]) -> list[float]:
    results = []
    for x in inputs:
        out = model(x)
        results += [o.data for o in out] if isinstance(out, list) else [out.data]
    return results


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_mlp_round_trip_is_exact(tmp_path: Path, activation: str) -> None:
    model = _trained_like(nn.MLP(3, [5, 4, 2], activation=activation, seed=1))
    path = tmp_path / "model.json"
    save(model, path)
    loaded = load(path)
    assert type(loaded) is nn.MLP and repr(loaded) == repr(model)
    assert isinstance(loaded, nn.MLP) and loaded.activation == activation
    assert loaded.state_dict() == model.state_dict()
    inputs = [[0.1, -2.0, 3.5], [1.0, 1.0, -1.0]]
    assert _outputs(loaded, inputs) == _outputs(model, inputs)  # bit for bit


@pytest.mark.parametrize("output", ["tanh", "sigmoid", "linear"])
def test_output_activation_round_trips(tmp_path: Path, output: str) -> None:
    model = _trained_like(nn.MLP(3, [4, 4, 1], activation="tanh", output_activation=output, seed=0))
    save(model, tmp_path / "m.json")
    loaded = load(tmp_path / "m.json")
    assert isinstance(loaded, nn.MLP) and loaded.output_activation == output
    assert _outputs(loaded, [[0.5, -1.0, 2.0]]) == _outputs(model, [[0.5, -1.0, 2.0]])
    assert load(tmp_path / "m.json", into=nn.MLP(3, [4, 4, 1], "tanh", output_activation=output)) is not None
    other = "relu" if output != "relu" else "tanh"
    with pytest.raises(ModelFileError, match="does not match"):
        load(tmp_path / "m.json", into=nn.MLP(3, [4, 4, 1], "tanh", output_activation=other))


VERSION_1_FILE = """{
 "format": "chaingrad.model",
 "version": 1,
 "architecture": {"type": "MLP", "nin": 2, "nouts": [2, 1], "activation": "tanh"},
 "parameters": {
  "L0.N0.w0": 0.5, "L0.N0.w1": -0.25, "L0.N0.b": 0.125,
  "L0.N1.w0": 1.5, "L0.N1.w1": 2.0, "L0.N1.b": -1.0,
  "L1.N0.w0": 0.75, "L1.N0.w1": -0.5, "L1.N0.b": 0.0625
 }
}
"""


def test_files_written_before_output_activation_still_load(tmp_path: Path) -> None:
    """A version-1 file from before ``output_activation``: its last layer was linear."""
    path = tmp_path / "old.json"
    path.write_text(VERSION_1_FILE, encoding="utf-8")
    model = load(path)
    assert isinstance(model, nn.MLP) and model.output_activation == "linear" and model.activation == "tanh"
    h = [math.tanh(0.5 * 0.3 - 0.25 * 0.7 + 0.125), math.tanh(1.5 * 0.3 + 2.0 * 0.7 - 1.0)]
    assert model([0.3, 0.7]).data == pytest.approx(0.75 * h[0] - 0.5 * h[1] + 0.0625, rel=1e-15)
    assert load(path, into=nn.MLP(2, [2, 1], "tanh")).state_dict()["L0.N0.b"] == 0.125


def test_single_layer_mlp_keeps_its_activation(tmp_path: Path) -> None:
    model = nn.MLP(2, [1], activation="tanh", seed=0)
    save(model, tmp_path / "m.json")
    loaded = load(tmp_path / "m.json")
    assert isinstance(loaded, nn.MLP) and loaded.activation == "tanh"


@pytest.mark.parametrize(
    "model",
    [nn.Neuron(4, "sigmoid", random.Random(0)), nn.Layer(3, 2, "leaky_relu", random.Random(1))],
    ids=["neuron", "layer"],
)
def test_neuron_and_layer_round_trip(tmp_path: Path, model: nn.Module) -> None:
    _trained_like(model)
    save(model, str(tmp_path / "m.json"))  # a str path works too
    loaded = load(str(tmp_path / "m.json"))
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    nin = len(model.w) if isinstance(model, nn.Neuron) else len(model.neurons[0].w)  # type: ignore[attr-defined]
    inputs = [[0.5, -0.25, 2.0, 1.0][:nin]]
    assert _outputs(loaded, inputs) == _outputs(model, inputs)


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_every_float_survives_bit_for_bit(tmp_path: Path) -> None:
    """JSON numbers written as ``repr`` writes floats read back as the very same floats."""
    rng = random.Random(0)
    special = [0.1, 1 / 3, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
               -1.7976931348623157e308, 1e-300, 123456789.12345679, 2.0**-1074 * 12345, 1e16 + 2.0]
    model = nn.MLP(4, [8, 6], seed=0)
    params = model.parameters()
    values = special + [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(200)]
    values = [v for v in values if math.isfinite(v)][: len(params)]
    assert len(values) == len(params) == 94
    for p, v in zip(params, values):
        p.data = v
    save(model, tmp_path / "m.json")
    loaded = load(tmp_path / "m.json")
    assert [_bits(p.data) for p in loaded.parameters()] == [_bits(v) for v in values]


def test_the_file_is_readable_json(tmp_path: Path) -> None:
    model = _trained_like(nn.MLP(2, [3, 1], activation="tanh", seed=0))
    save(model, tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["format"] == FORMAT == "chaingrad.model" and document["version"] == VERSION == 1
    assert document["architecture"] == {
        "type": "MLP", "nin": 2, "nouts": [3, 1], "activation": "tanh", "output_activation": "linear"
    }
    assert list(document["parameters"].items()) == list(model.state_dict().items())
    w = model.layers[1].neurons[0].w[2].data
    assert f'"L1.N0.w2": {w!r}' in text  # one parameter per line, as repr writes it
    assert len(text.splitlines()) == 4 + 1 + 13 + 2


def test_load_into_an_existing_model(tmp_path: Path) -> None:
    source = _trained_like(nn.MLP(2, [4, 1], seed=0))
    save(source, tmp_path / "m.json")
    target = nn.MLP(2, [4, 1], seed=5)
    params = target.parameters()
    assert load(tmp_path / "m.json", into=target) is target
    assert target.parameters() == params  # the same Value objects, new values
    assert target.state_dict() == source.state_dict()


def test_load_into_a_different_architecture_names_both(tmp_path: Path) -> None:
    save(nn.MLP(2, [4, 1], seed=0), tmp_path / "m.json")
    for other in (nn.MLP(2, [5, 1], seed=0), nn.MLP(2, [4, 1], activation="tanh", seed=0), nn.Neuron(2)):
        before = other.state_dict()
        with pytest.raises(ModelFileError, match=r"m\.json.*nouts=\[4, 1\].*does not match") as info:
            load(tmp_path / "m.json", into=other)
        assert "relu" in str(info.value)
        assert other.state_dict() == before


# --- atomic writes -----------------------------------------------------------------------------


def _old_file(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "model.json"
    save(_trained_like(nn.MLP(2, [3, 1], seed=0)), path)
    return path, path.read_bytes()


def test_a_save_that_fails_midway_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, old = _old_file(tmp_path)
    real_dumps = json.dumps
    calls = []
    seen_partial: list[str] = []

    def failing_dumps(obj: Any, **kwargs: Any) -> str:
        calls.append(obj)
        if len(calls) == 2000:  # ~1000 parameter lines, tens of kB, are written by now
            (temporary,) = [p for p in tmp_path.iterdir() if p != path]
            seen_partial.append(temporary.read_text(encoding="utf-8"))
            raise OSError("disk full (simulated)")
        return real_dumps(obj, **kwargs)

    monkeypatch.setattr(json, "dumps", failing_dumps)
    with pytest.raises(OSError, match="disk full"):
        save(nn.MLP(2, [40, 40, 1], seed=1), path)  # 1801 parameters
    monkeypatch.undo()
    # the failure really came in the middle: part of the new file had reached the disk
    assert seen_partial and seen_partial[0].startswith('{\n "format"') and '"L0.N0.w0"' in seen_partial[0]
    assert path.read_bytes() == old  # byte-identical
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    assert isinstance(load(path), nn.MLP)


def test_a_failed_first_save_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("fsync failed (simulated)")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        save(nn.MLP(2, [1], seed=0), tmp_path / "new.json")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_cleans_up_after_any_exception(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old contents")

    def interrupted(file: IO[Any]) -> None:
        file.write(b"new cont")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted, binary=True)
    assert path.read_bytes() == b"old contents"
    assert list(tmp_path.iterdir()) == [path]


def test_atomic_write_flushes_to_disk_before_renaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, Any]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_size))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append(("replace", Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_write(tmp_path / "out.txt", lambda f: f.write("hello"))
    assert events[:2] == [("fsync", 5), ("replace", "out.txt")]  # the data is on disk, then renamed
    assert (tmp_path / "out.txt").read_text() == "hello"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path, _ = _old_file(tmp_path)
    path.chmod(0o640)
    save(nn.MLP(2, [1], seed=0), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_crash_midway_never_leaves_half_a_file(tmp_path: Path) -> None:
    """A process killed in the middle of writing (``os._exit``: no cleanup, no ``finally``)
    leaves the old file complete; only a hidden temporary file remains."""
    path, old = _old_file(tmp_path)
    script = textwrap.dedent(
        f"""
        import json, os
        import nn
        from nn.io import save
        real = json.dumps
        calls = []
        def dumps(obj, **kwargs):
            calls.append(1)
            if len(calls) == 2000:
                os._exit(3)
            return real(obj, **kwargs)
        json.dumps = dumps
        save(nn.MLP(2, [40, 40, 1], seed=0), {str(path)!r})
        """
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert result.returncode == 3, result.stderr.decode()
    assert path.read_bytes() == old
    leftovers = [p for p in tmp_path.iterdir() if p != path]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".model.json.")
    assert leftovers[0].name.endswith(".tmp") and '"L0.N0.w0"' in leftovers[0].read_text(encoding="utf-8")


# --- what save refuses -------------------------------------------------------------------------


def test_save_refuses_non_finite_parameters_and_writes_nothing(tmp_path: Path) -> None:
    path, old = _old_file(tmp_path)
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[1].b.data = math.nan  # data is a plain attribute: nothing stops this
    with pytest.raises(ValueError, match=r"L0\.N1\.b = nan"):
        save(model, path)
    assert path.read_bytes() == old and list(tmp_path.iterdir()) == [path]


def test_save_refuses_other_modules(tmp_path: Path) -> None:
    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match=r"Custom.*state_dict"):
        save(Custom(), tmp_path / "c.json")
    assert list(tmp_path.iterdir()) == []


# --- what load refuses -------------------------------------------------------------------------


def _document() -> dict[str, Any]:
    model = _trained_like(nn.MLP(2, [2, 1], seed=0))
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": {"type": "MLP", "nin": 2, "nouts": [2, 1], "activation": "relu",
                         "output_activation": "linear"},
        "parameters": model.state_dict(),
    }


def _edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[], str]:
    def text() -> str:
        document = _document()
        change(document)
        return json.dumps(document)

    return text


def _set(document: dict[str, Any], keys: tuple[str, ...], item: Any) -> None:
    for key in keys[:-1]:
        document = document[key]
    document[keys[-1]] = item


def _drop(document: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys[:-1]:
        document = document[key]
    del document[keys[-1]]


W = "L1.N0.w1"
BAD_FILES: list[tuple[str, Callable[[], str | bytes], str]] = [
    ("empty", lambda: "", "invalid JSON at line 1 column 1"),
    ("truncated", lambda: _edit(lambda d: None)()[:-40], "invalid JSON"),
    ("not-utf8", lambda: b"\xff\xfe{}", "not UTF-8"),
    ("a-list", lambda: "[1, 2]", "expected a JSON object, got a list"),
    ("no-format", _edit(lambda d: _drop(d, ("format",))), "no 'format' field"),
    ("wrong-format", _edit(lambda d: _set(d, ("format",), "keras")), "format is 'keras'"),
    ("version-2", _edit(lambda d: _set(d, ("version",), 2)), "unsupported version 2.*reads version 1"),
    ("version-string", _edit(lambda d: _set(d, ("version",), "1")), "'version'.*'1'"),
    ("no-version", _edit(lambda d: _drop(d, ("version",))), "'version'.*None"),
    ("no-architecture", _edit(lambda d: _drop(d, ("architecture",))), "missing field 'architecture'"),
    ("no-parameters", _edit(lambda d: _drop(d, ("parameters",))), "missing field 'parameters'"),
    ("parameters-list", _edit(lambda d: _set(d, ("parameters",), [1.0])), "'parameters'.*got a list"),
    ("unknown-type", _edit(lambda d: _set(d, ("architecture", "type"), "CNN")), "'type'.*'CNN'"),
    ("no-nin", _edit(lambda d: _drop(d, ("architecture", "nin"))), r"missing \['nin'\]"),
    ("extra-field", _edit(lambda d: _set(d, ("architecture", "dropout"), 0.5)), r"unexpected \['dropout'\]"),
    ("zero-nin", _edit(lambda d: _set(d, ("architecture", "nin"), 0)), "nin.*>= 1.*0"),
    ("float-nin", _edit(lambda d: _set(d, ("architecture", "nin"), 2.0)), "nin.*2.0"),
    ("empty-nouts", _edit(lambda d: _set(d, ("architecture", "nouts"), [])), r"nouts.*non-empty.*\[\]"),
    ("zero-width", _edit(lambda d: _set(d, ("architecture", "nouts"), [0, 1])), r"nouts.*\[0, 1\]"),
    ("nouts-number", _edit(lambda d: _set(d, ("architecture", "nouts"), 3)), "nouts.*3"),
    ("bad-activation", _edit(lambda d: _set(d, ("architecture", "activation"), "swish")), "'swish'"),
    ("bad-output-activation", _edit(lambda d: _set(d, ("architecture", "output_activation"), "softmax")),
     "output_activation: unknown activation 'softmax'"),
    # an architecture far larger than the parameters the file lists is refused before building
    ("no-parameters-for-the-architecture", _edit(lambda d: _set(d, ("parameters",), {})),
     r"missing 'L0.N0.w0', .*\(9 in all\)"),
    ("huge-architecture", _edit(lambda d: _set(d, ("architecture", "nouts"), [100_000, 1])),
     "has 400001 parameters but 'parameters' lists 9"),
    ("too-large-architecture", _edit(lambda d: _set(d, ("architecture", "nouts"), [10**6, 10**6])),
     "1,000,004,000,000 parameters; at most 10,000,000"),
    ("giant-nin", _edit(lambda d: _set(d, ("architecture", "nin"), 10**100)), "at most 10,000,000"),
    ("missing-parameter", _edit(lambda d: _drop(d, ("parameters", W))), f"missing '{W}'"),
    ("extra-parameter", _edit(lambda d: _set(d, ("parameters", "L9.N0.b"), 0.0)), "unexpected 'L9.N0.b'"),
    # an architecture that is not the parameters', nor the one of the model to load into
    ("shape-mismatch", _edit(lambda d: _set(d, ("architecture", "nouts"), [3, 1])), "'L0.N2.w0'|match"),
    ("string-parameter", _edit(lambda d: _set(d, ("parameters", W), "0.5")), f"'{W}'.*real number.*str"),
    ("bool-parameter", _edit(lambda d: _set(d, ("parameters", W), True)), f"'{W}'.*bool"),
    ("null-parameter", _edit(lambda d: _set(d, ("parameters", W), None)), f"'{W}'.*NoneType"),
    ("overflowing-parameter", lambda: _replace_value("1e999"), f"'{W}' must be finite, got inf"),
    ("nan-parameter", lambda: _replace_value("NaN"), "non-finite number NaN"),
    ("infinite-parameter", lambda: _replace_value("-Infinity"), "non-finite number -Infinity"),
    ("duplicate-name", lambda: _duplicated(), "'L0.N0.w0'.*twice"),
    ("giant-integer", lambda: _replace_value("9" * 5000), "not a chaingrad model file"),
    ("deep-nesting", lambda: "[" * 100_000 + "]" * 100_000, "not a chaingrad model file"),
]


def _duplicated() -> str:
    return _edit(lambda d: None)().replace('"L0.N0.b"', '"L0.N0.w0"')


def _replace_value(literal: str) -> str:
    document = _document()
    text = json.dumps(document)
    old = f'"{W}": {document["parameters"][W]!r}'
    assert old in text
    return text.replace(old, f'"{W}": {literal}')


@pytest.mark.parametrize(
    ("content", "mentioned"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_bad_files_raise_model_file_error(
    tmp_path: Path, content: Callable[[], str | bytes], mentioned: str
) -> None:
    path = tmp_path / "broken.json"
    data = content()
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    into = nn.MLP(2, [2, 1], seed=3)
    before = into.state_dict()
    for target in (None, into):
        with pytest.raises(ModelFileError, match=mentioned) as info:
            load(path, into=target)
        error = info.value
        assert isinstance(error, ValueError)
        assert str(error).startswith(f"{path}: ") and error.path == str(path)
    assert into.state_dict() == before  # a failed load changes nothing


def test_the_valid_document_of_those_cases_loads(tmp_path: Path) -> None:
    """The edited cases above start from this document: it must load as it is."""
    path = tmp_path / "fine.json"
    path.write_text(_edit(lambda d: None)(), encoding="utf-8")
    assert load(path).state_dict() == _document()["parameters"]
    path.write_text(_replace_value("3"), encoding="utf-8")  # an integer is a number too
    loaded = load(path)
    assert loaded.state_dict()[W] == 3.0 and type(loaded.state_dict()[W]) is float


@pytest.mark.parametrize(
    "bad", [None, 3, b"m.json", ["m.json"], 10**5000], ids=["none", "fd", "bytes", "list", "huge"]
)
def test_paths_must_be_paths(tmp_path: Path, bad: Any) -> None:
    """An int would be taken by ``open`` as a file descriptor: refused, like other non-paths."""
    with pytest.raises(TypeError, match=r"load\(\) path must be a str or an os.PathLike"):
        load(bad)
    with pytest.raises(TypeError, match=r"save\(\) path must be a str or an os.PathLike"):
        save(nn.MLP(2, [1], seed=0), bad)
    save(nn.MLP(2, [1], seed=0), tmp_path / "m.json")
    with pytest.raises(TypeError, match=r"load\(\) into must be None or a model"):
        load(tmp_path / "m.json", into="MLP")  # type: ignore[call-overload]


def test_a_missing_file_or_directory_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nowhere.json")
    with pytest.raises(FileNotFoundError, match=r"cannot write .*missing.*No such file or directory"):
        save(nn.MLP(2, [1], seed=0), tmp_path / "missing" / "m.json")
    assert list(tmp_path.iterdir()) == []
