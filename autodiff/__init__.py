"""chaingrad's engine: scalar ``Value``s that record a graph, and reverse-mode differentiation."""

from .grad_mode import is_grad_enabled, no_grad
from .rules import RULES, Rule
from .value import DomainError, Value, topological_order

__all__ = [
    "RULES",
    "DomainError",
    "Rule",
    "Value",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
