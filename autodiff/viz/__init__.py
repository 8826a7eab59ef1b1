"""Pictures of computation graphs, and a step-through of the backward pass.

``draw_graph(root)`` returns a ``graphviz.Digraph``: one record per ``Value`` (its label, data and
grad), a small operation node between a value and its inputs, and folded-in constants as grey
boxes. Inputs and parameters (leaves), constants, intermediates and the output each have their
own style. It displays inline in Jupyter and ``.render("graph.svg")`` writes SVG, PNG or PDF.

``backward_steps(root)`` yields one ``BackwardStep`` per node, in the order ``backward()`` visits
them: the node, its upstream gradient, and for each input the local derivative and the product
``upstream * local`` that is added to that input's gradient (the vector-Jacobian product, one
scalar at a time). ``save_backward_html(root, path)`` writes one self-contained page with a
slider to step through them.

Rendering needs a ``dot`` program. ``find_renderers()`` looks, in order, for the program named by
the environment variable ``CHAINGRAD_DOT``, Graphviz's own ``dot`` on the PATH, and
``graphviz-pure`` (a self-contained port of dot from PyPI, installed by ``pip install
'chaingrad[viz]'``) on the PATH or beside the running Python. Building a graph needs only the
``graphviz`` package; its DOT text is ``graph.source``, whether or not a renderer is found.

This package only reads the graph: it never changes the data, grad or label of a node, and the
engine knows nothing of it.

The map, each module using only those above it (``steps`` and ``drawing`` know each other's
types):

- ``arguments``: the checks of ``root``, ``rankdir``, ``max_nodes``; ``number_format`` as a function.
- ``files``: the check of an output path, and writing a file whole or not at all.
- ``style``: the font, colours and sizes of the pictures.
- ``grouping``: clusters: ``group_by_label`` and each node's cluster path.
- ``formulas``: nodes as expressions, their inputs' names and partial derivatives as text.
- ``scene``: what one picture shows; ``GraphTooLargeError`` past ``max_nodes``.
- ``renderers``: dot programs: ``Renderer``, ``find_renderers``, ``find_renderer``, ``ENV_VAR``.
- ``picture``: the ``graphviz.Digraph`` subclass that renders with them and shows in Jupyter.
- ``drawing``: ``draw_graph``, and the DOT of every picture and backward frame.
- ``steps``: ``backward_steps``, ``BackwardStep``, ``Contribution``.
- ``html_page``: ``save_backward_html``, the step-through page.
"""

from .drawing import draw_graph
from .frames import Contribution
from .grouping import group_by_label
from .html_page import save_backward_html
from .renderers import (
    ENV_VAR,
    Renderer,
    RendererNotFoundError,
    RenderError,
    find_renderer,
    find_renderers,
)
from .scene import GraphTooLargeError
from .steps import BackwardStep, backward_steps

__all__ = [
    "ENV_VAR",
    "BackwardStep",
    "Contribution",
    "GraphTooLargeError",
    "RenderError",
    "Renderer",
    "RendererNotFoundError",
    "backward_steps",
    "draw_graph",
    "find_renderer",
    "find_renderers",
    "group_by_label",
    "save_backward_html",
]
