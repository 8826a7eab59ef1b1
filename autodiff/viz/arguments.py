"""Checking the arguments the drawing functions share, and numbers as text.

``_formatter`` turns a ``number_format`` (a format spec such as ``".4g"``, or a function) into
one function from a float to text; ``_check_root``, ``_check_rankdir`` and ``_check_max_nodes``
refuse a bad ``root``, ``rankdir`` or ``max_nodes`` with a message that says what to pass, and
``_check_picture_options`` checks the three options every picture takes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..value import Value

RANKDIRS = ("LR", "TB", "RL", "BT")
"""Directions a graph can flow: left to right, top to bottom, and their reverses."""

NumberFormat = str | Callable[[float], str]
"""How numbers are shown: a format spec such as ``".4g"`` or ``".3f"``, or a function."""


def _check_root(root: object, caller: str) -> Value:
    if isinstance(root, Value):
        return root
    hint = ""
    if isinstance(root, (list, tuple)) and root and isinstance(root[0], Value):
        hint = " (a layer or MLP returns a list: pass one of its outputs, such as out[0])"
    raise TypeError(f"{caller}() needs a Value as root, got {type(root).__name__}: {root!r:.80}{hint}")


def _formatter(number_format: NumberFormat) -> Callable[[float], str]:
    if callable(number_format):
        custom = number_format

        def call(x: float) -> str:
            text = custom(x)
            if not isinstance(text, str):
                raise TypeError(
                    f"number_format must return a str, got {type(text).__name__} for {x!r}"
                )
            return text

        return call
    if not isinstance(number_format, str):
        raise TypeError(
            f"number_format must be a format spec such as '.4g' or a function, "
            f"got {type(number_format).__name__}"
        )
    try:
        format(1.5, number_format)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"number_format {number_format!r} is not a format spec for floats ({error}); "
            f"try '.4g' or '.3f'"
        ) from None
    return lambda x: format(x, number_format)


def _check_rankdir(rankdir: object) -> str:
    if isinstance(rankdir, str) and rankdir.upper() in RANKDIRS:
        return rankdir.upper()
    raise ValueError(
        f"unknown rankdir {rankdir!r}: use 'LR' (left to right) or 'TB' (top to bottom), "
        f"or 'RL' or 'BT'"
    )


def _check_max_nodes(max_nodes: object) -> int:
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"max_nodes must be a whole number, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    return max_nodes


def _check_picture_options(
    rankdir: object, number_format: NumberFormat, max_nodes: object
) -> tuple[str, Callable[[float], str], int]:
    """The options every picture takes, checked in this order: its direction, its number
    format (as a function) and its node limit."""
    return _check_rankdir(rankdir), _formatter(number_format), _check_max_nodes(max_nodes)
