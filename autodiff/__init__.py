"""chaingrad's engine: scalar ``Value``s that record a graph, and automatic differentiation.

Reverse mode (``Value.backward``, ``gradients``), forward mode (``tangents``, ``jvp``), any order
(``backward(create_graph=True)``, ``grad(grad(f))``), and derivatives as functions
(``grad``, ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``), checked by ``gradcheck``; and a
recorded graph compiled into a straight-line Python program (``compile``).
"""

from .compile import GraphTooLargeToCompileError, Program, compile
from .forward import tangents
from .functional import (
    GradcheckError,
    grad,
    gradcheck,
    gradgradcheck,
    hessian,
    hvp,
    jacobian,
    jacobian_cost,
    jvp,
    value_and_grad,
    vjp,
)
from .grad_mode import is_grad_enabled, no_grad
from .rules import RULES, Rule
from .value import DomainError, Value, apply, constant, dot, gradients, matvec, topological_order
from .viz import backward_steps, draw_graph, save_backward_html

__all__ = [
    "RULES",
    "DomainError",
    "GradcheckError",
    "GraphTooLargeToCompileError",
    "Program",
    "Rule",
    "Value",
    "apply",
    "backward_steps",
    "compile",
    "constant",
    "dot",
    "draw_graph",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "gradients",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "jacobian_cost",
    "jvp",
    "matvec",
    "no_grad",
    "save_backward_html",
    "tangents",
    "topological_order",
    "value_and_grad",
    "vjp",
]
