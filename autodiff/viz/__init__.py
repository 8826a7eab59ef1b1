"""Pictures of computation graphs, and a step-through of the backward pass.

``draw_graph(root)`` returns a ``graphviz.Digraph``: one record per ``Value`` (its label, data and
grad), a small operation node between a value and its inputs, and folded-in constants as grey
boxes. Inputs and parameters (leaves), constants, intermediates and the output each have their
own style. It displays inline in Jupyter and ``.render("graph.svg")`` writes SVG, PNG or PDF.

``backward_steps(root)`` yields one ``BackwardStep`` per node, in the order ``backward()`` visits
them: the node, its upstream gradient, and for each input the local derivative and the product
``upstream * local`` that is added to that input's gradient (the vector-Jacobian product, one
scalar at a time). Steps are worked out as they are asked for, in memory that grows with the
graph only. ``save_backward_html(root, path)`` writes one self-contained page with a slider to
step through them.

Pictures name each input by its label, or by a letter (a, b, ...) that the caption defines,
and write each local derivative with the rule's own formula (``Rule.code``) in those names. In
Jupyter a picture fits the width of the notebook and carries a description in words
(``.alt``) for screen readers.

Rendering needs a ``dot`` program. ``find_renderers()`` looks, in order, for the program named by
the environment variable ``CHAINGRAD_DOT``, Graphviz's own ``dot`` on the PATH, and
``graphviz-pure`` (a self-contained port of dot from PyPI, installed by ``pip install
'chaingrad[viz]'``) on the PATH or beside the running Python. Building a graph needs only the
``graphviz`` package; its DOT text is ``graph.source``, whether or not a renderer is found.

This package only reads the graph: it never changes the data, grad or label of a node, and the
engine knows nothing of it.

The map, a pipeline: graph -> scene -> frames -> outputs. Each module uses only those above it,
and no stage imports a later one (``tests/test_viz.py`` checks it):

- ``arguments``: the checks of every argument, naming the function; numbers as text (never -0).
- ``files``: the check of an output path, and ``atomic_write`` (whole or not at all; modes kept).
- ``style``: the font, colours and sizes of the pictures.
- ``renderers``: dot programs: ``Renderer``, ``find_renderers``, ``find_renderer``, ``ENV_VAR``.
- ``grouping``: clusters: ``group_by_label`` and each node's cluster path.
- ``formulas``: nodes as expressions; inputs' names; the rules' formulas filled with them.
- ``scene``: what a picture shows, from one walk of the graph; ``GraphTooLargeError``.
- ``frames``: the backward pass, one lazy frame per step, and ``Contribution``.
- ``captions``: frames and pictures in words: a step's caption, every picture's alt text.
- ``picture``: the ``graphviz.Digraph`` subclass that renders and shows (fitted) in Jupyter.
- ``drawing``: ``draw_graph``, and the DOT of every picture and frame.
- ``steps``: ``backward_steps`` and ``BackwardStep`` (a frame that describes and draws itself).
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
