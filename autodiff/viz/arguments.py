"""Checking the arguments of every entry point, and numbers as text.

Each check takes the name of the function it guards (``caller``) and refuses a bad value with a
message that names the function, the argument and the value, and says what to pass:
``_check_root``, ``_check_rankdir``, ``_check_max_nodes``, ``_check_flag``, ``_check_title``,
and ``_check_picture_options`` for the three options every picture takes. ``_formatter`` turns a
``number_format`` (a format spec such as ``".4g"``, or a function) into one function from a
float to text, which never writes a negative zero. Values appear in messages as the engine's
errors write them (``shown``: short, and an int too long to print as its number of digits).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable

from ..value import Value, shown

RANKDIRS = ("LR", "TB", "RL", "BT")
"""Directions a graph can flow: left to right, top to bottom, and their reverses."""

NumberFormat = str | Callable[[float], str]
"""How numbers are shown: a format spec such as ``".4g"`` or ``".3f"``, or a function."""

_LONGEST_FIELD = 40
"""The widest field and the most digits a format spec may ask for (more is surely a mistake,
and ``format(1.5, "1000000000")`` would build a string of a billion spaces)."""

_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d+))?[a-zA-Z%]?")
"""The parts of a format spec (Python's format-spec mini-language) that can make text long."""


def _check_root(root: object, caller: str) -> Value:
    if isinstance(root, Value):
        return root
    hint = ""
    if isinstance(root, (list, tuple)) and root and isinstance(root[0], Value):
        hint = " (a layer or MLP returns a list: pass one of its outputs, such as out[0])"
    raise TypeError(f"{caller}() needs a Value as root, got {type(root).__name__}: {shown(root)}{hint}")


def _format(x: float, spec: str) -> str:
    """``format(x, spec)``, but a number that prints as a zero prints as 0.0 does: never "-0",
    "-0.000" or "-0e+00" (for -0.0 itself, or a tiny negative number rounded to zero)."""
    text = format(x, spec)
    if not math.isfinite(x):  # "-inf" has no digit either, but it is no zero
        return text
    mantissa = text.split("e")[0].split("E")[0]
    if "-" in text and not any(digit in mantissa for digit in "123456789"):
        return format(0.0, spec)
    return text


def _formatter(number_format: object, caller: str) -> Callable[[float], str]:
    """``number_format`` as one function from a float to text, checked for ``caller``. A format
    spec never writes "-0": a zero, or a number that rounds to zero, prints without a sign; a
    function of your own is given 0.0 for -0.0."""
    if callable(number_format):
        custom = number_format

        def call(x: float) -> str:
            text = custom(x + 0.0)  # -0.0 + 0.0 is 0.0; every other float stays as it is
            if not isinstance(text, str):
                raise TypeError(
                    f"{caller}() number_format must return a str, got {type(text).__name__} for {x!r}"
                )
            return text

        return call
    if not isinstance(number_format, str):
        raise TypeError(
            f"{caller}() number_format must be a format spec such as '.4g' or a function, "
            f"got {type(number_format).__name__}: {shown(number_format)}"
        )
    parts = _SPEC.fullmatch(number_format)
    too_long = parts is not None and any(
        len(n) > 3 or int(n) > _LONGEST_FIELD for n in (parts["width"], parts["precision"]) if n
    )
    if too_long:
        raise ValueError(
            f"{caller}() number_format {shown(number_format)} asks for a field or precision "
            f"over {_LONGEST_FIELD} characters; try '.4g' or '.3f'"
        )
    try:
        format(1.5, number_format)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{caller}() number_format {shown(number_format)} is not a format spec for floats "
            f"({error}); try '.4g' or '.3f'"
        ) from None
    spec = number_format
    return lambda x: _format(x, spec)


def _check_rankdir(rankdir: object, caller: str) -> str:
    if isinstance(rankdir, str) and rankdir.upper() in RANKDIRS:
        return rankdir.upper()
    error = ValueError if isinstance(rankdir, str) else TypeError
    raise error(
        f"{caller}() got an unknown rankdir {shown(rankdir)}: use 'LR' (left to right) or 'TB' "
        f"(top to bottom), or 'RL' or 'BT'"
    )


def _check_max_nodes(max_nodes: object, caller: str) -> int:
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral):
        raise TypeError(
            f"{caller}() max_nodes must be a whole number, got {type(max_nodes).__name__}: "
            f"{shown(max_nodes)}"
        )
    if max_nodes < 1:
        raise ValueError(f"{caller}() max_nodes must be at least 1, got {shown(max_nodes)}")
    return int(max_nodes)


def _check_flag(value: object, name: str, caller: str) -> bool:
    """``value`` as a bool: True or False (a numpy bool too), nothing else."""
    if isinstance(value, bool):
        return value
    kind = type(value)
    if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        return bool(value)
    raise TypeError(f"{caller}() {name} must be True or False, got {kind.__name__}: {shown(value)}")


def _check_title(title: object, caller: str) -> str | None:
    if title is None or isinstance(title, str):
        return title
    raise TypeError(f"{caller}() title must be a str or None, got {type(title).__name__}: {shown(title)}")


def _check_picture_options(
    rankdir: object, number_format: object, max_nodes: object, caller: str
) -> tuple[str, Callable[[float], str], int]:
    """The options every picture takes, checked in this order: its direction, its number
    format (as a function) and its node limit."""
    return (_check_rankdir(rankdir, caller), _formatter(number_format, caller),
            _check_max_nodes(max_nodes, caller))
