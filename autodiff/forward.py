"""Forward mode: push tangents from the inputs to the outputs, one sweep per direction.

A tangent is d node / d t along a direction ``v`` in input space (the inputs move as x + t v).
Each node's tangent is the sum over its inputs of partial_i * tangent(input_i): the same
partials that reverse mode multiplies from the other side. One sweep gives J v, a
Jacobian-vector product; reverse mode gives u^T J in one sweep instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .value import DomainError, Value, _accumulate, _constant, _local_derivatives, topological_order


def tangents(
    outputs: Sequence[Any], inputs: Sequence[Value], direction: Sequence[Any], create_graph: bool = False
) -> tuple[list[Any], int]:
    """The tangent of each output along ``direction`` (J v), and the multiply-adds it took: one
    per (node, Value input) edge on a path from the inputs to the outputs.

    ``outputs`` may hold numbers (tangent 0). With ``create_graph`` the tangents are Values
    that can be differentiated again.
    """
    if len(direction) != len(inputs):
        raise ValueError(f"tangents() direction has {len(direction)} entries for {len(inputs)} inputs")
    tangent: dict[Value, Any] = {}
    for x, v in zip(inputs, direction):
        if not isinstance(x, Value):
            raise TypeError(f"tangents() inputs must be Values, got {type(x).__name__}")
        v = v if isinstance(v, Value) else _direction(v)
        tangent[x] = _accumulate(tangent[x], v) if x in tangent else v
    multiply_adds = 0
    nodes = [out for out in outputs if isinstance(out, Value)]
    for node in topological_order(*nodes):
        op = node._op
        if op is None or node in tangent or not any(type(v) is Value and v in tangent for v in node.inputs):
            continue  # a leaf, an input, or a node that no input reaches: tangent 0, nothing to do
        total: Any = 0.0
        # only the partials along paths from the inputs: the others would multiply a zero tangent,
        # and computing them could raise (d(x^n)/dn at x < 0, with only x moving)
        for inp, local in zip(node.inputs, _local_derivatives(node, create_graph, tangent)):
            if local is None:
                continue
            total = _accumulate(total, local * tangent[inp])  # type: ignore[index]
            multiply_adds += 1
        if not create_graph and not math.isfinite(total):
            raise DomainError(f"forward mode overflowed: the tangent of a {op.name}() node is {total!r}")
        tangent[node] = total
    return [tangent.get(out, 0.0) if isinstance(out, Value) else 0.0 for out in outputs], multiply_adds


def _direction(v: Any) -> float:
    """One entry of a direction that is not a Value: a finite number a float can hold."""
    number = _constant(v, "tangents")
    if number is None:
        raise TypeError(f"tangents() direction must hold numbers or Values, got {type(v).__name__}")
    return float(number)
