"""Save a network to a JSON file you can read, and load it back exactly.

    save(model, "moons.json")
    model = load("moons.json")

The file names its format and version, the architecture, and every parameter by the name
``state_dict()`` gives it::

    {
     "format": "chaingrad.model",
     "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], "activation": "relu",
                      "output_activation": "linear"},
     "parameters": {
      "L0.N0.w0": 0.4870860536043755,
      "L0.N0.w1": 0.3648026151120298,
      ...
      "L2.N0.b": 0.0
     }
    }

(Files written before ``output_activation`` existed lack it; they are read as linear, which
they were.) Numbers are written as Python's ``repr`` writes them, the shortest text that reads back as the
same float, so a loaded model computes bit for bit what the saved one did. Saving is atomic:
the file is written beside its destination under a temporary name, flushed to disk, then
renamed over it, so a crash or an error never leaves half a file, and an old file stays intact
until the new one is complete.
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, Any, TypeVar, overload

from autodiff.files import atomic_write
from autodiff.value import shown

from .module import ACTIVATIONS, MLP, Layer, Module, Neuron, _check_size

FORMAT = "chaingrad.model"
"""The ``format`` field of every file ``save`` writes."""

VERSION = 1
"""The version of the format that ``save`` writes and ``load`` reads."""

PathLike = str | os.PathLike[str]
ModuleT = TypeVar("ModuleT", bound=Module)


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not JSON, another format or version, an architecture
    that does not fit, missing or extra parameters, a number that is not finite. ``path`` is
    the file, and the message names it and what was wrong."""

    def __init__(self, path: PathLike, problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


# --- save --------------------------------------------------------------------------------------


def architecture(model: Module) -> dict[str, Any]:
    """What ``load`` needs to rebuild ``model`` (an ``MLP``, ``Layer`` or ``Neuron``) before
    filling in its parameters: ``{"type": "MLP", "nin": 2, "nouts": [16, 1], "activation": "relu",
    "output_activation": "linear"}``."""
    kind = type(model)
    if kind is Neuron:
        assert isinstance(model, Neuron)
        return {"type": "Neuron", "nin": len(model.w), "activation": model.activation}
    if kind is Layer:
        assert isinstance(model, Layer)
        return {
            "type": "Layer",
            "nin": len(model.neurons[0].w),
            "nout": len(model.neurons),
            "activation": _layer_activation(model),
        }
    if kind is MLP:
        assert isinstance(model, MLP)
        activations = [_layer_activation(layer) for layer in model.layers]
        expected = [model.activation] * (len(model.layers) - 1) + [model.output_activation]
        if activations != expected:
            raise ValueError(
                f"save() cannot describe this MLP: its layers use {activations}, not hidden "
                f"{model.activation!r} layers and a {model.output_activation!r} last layer"
            )
        return {
            "type": "MLP",
            "nin": len(model.layers[0].neurons[0].w),
            "nouts": [len(layer.neurons) for layer in model.layers],
            "activation": model.activation,
            "output_activation": model.output_activation,
        }
    raise TypeError(
        f"save() handles nn.MLP, nn.Layer and nn.Neuron, got {kind.__name__}; "
        "for other modules save model.state_dict() yourself"
    )


def _layer_activation(layer: Layer) -> str:
    names = {neuron.activation for neuron in layer.neurons}
    if len(names) != 1:
        raise ValueError(f"save() cannot describe a layer whose neurons mix activations: {sorted(names)}")
    return names.pop()


def save(model: Module, path: PathLike) -> None:
    """Write ``model`` (an ``MLP``, ``Layer`` or ``Neuron``) to ``path`` as JSON, atomically.

    Raises TypeError for another kind of module and ValueError for a parameter that is not
    finite (nothing is written then)."""
    _check_path("save", path)
    spec = architecture(model)
    state = model.state_dict()
    for name, number in state.items():
        if not math.isfinite(number):
            raise ValueError(f"save() needs finite parameters, got {name} = {number!r}")
    header = {"format": FORMAT, "version": VERSION, "architecture": spec}

    def write(file: IO[Any]) -> None:
        # json.dumps writes a float as repr() does: the shortest text that reads back exactly
        file.write("{\n")
        for key, item in header.items():
            file.write(f" {json.dumps(key)}: {json.dumps(item, allow_nan=False)},\n")
        file.write(' "parameters": {\n')
        for i, (name, number) in enumerate(state.items()):
            comma = "," if i < len(state) - 1 else ""
            file.write(f"  {json.dumps(name)}: {json.dumps(number, allow_nan=False)}{comma}\n")
        file.write(" }\n}\n")

    atomic_write(path, write)


# --- load --------------------------------------------------------------------------------------


@overload
def load(path: PathLike) -> Module: ...
@overload
def load(path: PathLike, into: ModuleT) -> ModuleT: ...
def load(path: PathLike, into: Module | None = None) -> Module:
    """The model saved in ``path``: a new ``MLP`` (or ``Layer``, ``Neuron``), or ``into``, whose
    parameters are overwritten in place when its architecture is the file's.

    Raises ``ModelFileError`` (a ValueError) naming the file and the problem when the file is
    not one ``save`` wrote or could have written; ``into`` is untouched then. A missing file
    raises FileNotFoundError, as ``open`` does.

    Nothing is built before the file is known to fit: an architecture that implies more than
    ``nn.module.MAX_PARAMETERS`` parameters, or more than the file lists (give or take a few, so
    that a small mismatch is reported name by name), is refused first, so that a small file
    cannot make ``load`` build a huge model."""
    _check_path("load", path)
    if into is not None and not isinstance(into, Module):
        raise TypeError(f"load() into must be None or a model (an nn.Module), got {type(into).__name__}")
    with open(path, "rb") as file:
        raw = file.read()
    alien = "not a chaingrad model file"
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UnicodeDecodeError as error:
        raise ModelFileError(path, f"{alien}: not UTF-8 text ({error.reason})") from None
    except _DuplicateKeyError as error:
        raise ModelFileError(path, f"the name {error.args[0]!r} appears twice in one object") from None
    except _NonFiniteError as error:
        raise ModelFileError(path, f"non-finite number {error.args[0]}: parameters must be finite") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise ModelFileError(path, f"{alien}: invalid JSON at {where}: {error.msg}") from None
    except (ValueError, RecursionError) as error:  # an integer of thousands of digits, deep nesting
        raise ModelFileError(path, f"{alien}: {type(error).__name__}: {error}") from None
    if not isinstance(document, dict):
        raise ModelFileError(path, f"{alien}: expected a JSON object, got {_kind(document)}")
    if "format" not in document:
        raise ModelFileError(path, f"{alien}: no 'format' field (expected {FORMAT!r})")
    if document["format"] != FORMAT:
        raise ModelFileError(path, f"{alien}: format is {document['format']!r}, not {FORMAT!r}")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(path, f"the 'version' field must be a whole number, got {version!r}")
    if version != VERSION:
        raise ModelFileError(
            path, f"unsupported version {version} of {FORMAT!r}: this chaingrad reads version {VERSION}"
        )
    for field in ("architecture", "parameters"):
        if field not in document:
            raise ModelFileError(path, f"missing field {field!r}")
        if not isinstance(document[field], dict):
            kind = _kind(document[field])
            raise ModelFileError(path, f"the {field!r} field must be a JSON object, got {kind}")
    spec = _check_architecture(path, document["architecture"])
    try:
        implied = _check_size(f"the architecture {_show(spec)}", _sizes(spec))
    except ValueError as error:
        raise ModelFileError(path, str(error)) from None
    listed = len(document["parameters"])
    if implied > listed + _SLACK:
        raise ModelFileError(
            path, f"the architecture {_show(spec)} has {implied} parameters but 'parameters' lists "
            f"{listed}: they do not match"
        )
    if into is not None:
        try:
            theirs = architecture(into)
        except (TypeError, ValueError) as error:
            raise ModelFileError(path, f"cannot load into {into!r}: {error}") from None
        if theirs != spec:
            raise ModelFileError(
                path, f"architecture {_show(spec)} does not match the model to load into, {_show(theirs)}"
            )
        model = into
    else:
        model = _build(spec)
    try:
        model.load_state_dict(document["parameters"], strict=True)
    except (TypeError, ValueError) as error:
        raise ModelFileError(path, f"bad 'parameters': {error}") from None
    return model


class _DuplicateKeyError(Exception):
    pass


class _NonFiniteError(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = item
    return result


def _no_constants(name: str) -> Any:
    raise _NonFiniteError(name)  # NaN, Infinity, -Infinity: JSON has no such numbers


def _kind(x: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(x), f"a number ({x!r})"
    )


def _show(spec: dict[str, Any]) -> str:
    """An architecture as an error shows it, every field shortened (a file may hold an int of
    thousands of digits, or a list of millions)."""
    return "(" + ", ".join(f"{key}={shown(item)}" for key, item in spec.items()) + ")"


_FIELDS = {
    "Neuron": ("nin", "activation"),
    "Layer": ("nin", "nout", "activation"),
    "MLP": ("nin", "nouts", "activation", "output_activation"),
}

_SLACK = 100
"""How many more parameters than a file lists its architecture may imply and still be built,
so that the names missing from the file can be listed."""

_DEFAULTS = {"output_activation": "linear"}
"""Fields that files written before them lack, and the value those files meant."""


def _check_architecture(path: PathLike, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with its fields checked, in the order ``architecture()`` writes them."""
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise ModelFileError(
            path, f"architecture 'type' must be one of {', '.join(map(repr, _FIELDS))}, got {shown(kind)}"
        )
    fields = _FIELDS[kind]
    spec = {**{f: v for f, v in _DEFAULTS.items() if f in fields}, **spec}
    missing = [field for field in fields if field not in spec]
    extra = [field for field in spec if field != "type" and field not in fields]
    if missing or extra:
        problems = [f"missing {missing}"] * bool(missing) + [f"unexpected {extra}"] * bool(extra)
        raise ModelFileError(path, f"architecture of a {kind}: {', '.join(problems)}")
    counts = [("nin", spec["nin"])]
    if kind == "Layer":
        counts.append(("nout", spec["nout"]))
    if kind == "MLP":
        if not isinstance(spec["nouts"], list) or not spec["nouts"]:
            text = shown(spec["nouts"])
            raise ModelFileError(path, f"architecture nouts must be a non-empty list, got {text}")
        counts += [("nouts", size) for size in spec["nouts"]]
    for name, size in counts:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            text = shown(spec[name])
            raise ModelFileError(path, f"architecture {name} must be whole numbers >= 1, got {text}")
    for field in ("activation", "output_activation"):
        if field in fields and (not isinstance(spec[field], str) or spec[field] not in ACTIVATIONS):
            raise ModelFileError(
                path, f"architecture {field}: unknown activation {shown(spec[field])}; chaingrad knows "
                f"{', '.join(ACTIVATIONS)}"
            )
    return {"type": kind, **{field: spec[field] for field in fields}}


def _sizes(spec: dict[str, Any]) -> list[int]:
    """The layer sizes of a checked architecture, inputs first: ``[nin, nout, ...]``."""
    if spec["type"] == "MLP":
        return [spec["nin"], *spec["nouts"]]
    return [spec["nin"], spec["nout"] if spec["type"] == "Layer" else 1]


def _check_path(function: str, path: object) -> None:
    if not isinstance(path, (str, os.PathLike)):
        kind = type(path).__name__
        raise TypeError(f"{function}() path must be a str or an os.PathLike, got {kind}: {shown(path)}")
    if not os.fspath(path):
        raise ValueError(f"{function}() path is empty")


def _build(spec: dict[str, Any]) -> Module:
    """A fresh model of the architecture ``spec``; its parameters are about to be overwritten."""
    if spec["type"] == "Neuron":
        return Neuron(spec["nin"], spec["activation"])
    if spec["type"] == "Layer":
        return Layer(spec["nin"], spec["nout"], spec["activation"])
    output = spec["output_activation"]
    return MLP(spec["nin"], spec["nouts"], spec["activation"], seed=0, output_activation=output)
