"""The picture ``draw_graph`` returns: a ``graphviz.Digraph`` that renders with the dot program
``find_renderer`` finds, writes files whole, and shows inline in Jupyter. Its class is built on
first use, so that importing autodiff does not need the graphviz package."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from .files import _check_path, _write_atomic
from .renderers import Renderer, RendererNotFoundError, find_renderer


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "drawing graphs needs the graphviz package: pip install 'chaingrad[viz]' "
            "(or pip install graphviz graphviz-pure)"
        ) from None
    return graphviz


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        if not isinstance(format, str) or not format.isalnum():
            raise ValueError(f"format must be a name such as 'svg', 'png' or 'pdf', got {format!r}")
        return format.lower()
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:
        raise ValueError(
            f"cannot tell which format to write {path} in: give it a suffix (.svg, .png, .pdf) "
            f"or pass format="
        )
    return suffix


@functools.cache
def _picture_class() -> type[Any]:
    """``graphviz.Digraph`` made to render with ``find_renderer()`` (built on first use, so that
    importing autodiff does not need the graphviz package)."""
    digraph: Any = _import_graphviz().Digraph

    class GraphPicture(digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph`` of a computation. ``render(path)`` writes SVG, PNG or PDF (by
        the suffix) with the dot program ``autodiff.viz.find_renderer`` finds, Graphviz's own
        or graphviz-pure; ``pipe(format)`` returns the bytes; Jupyter shows it inline."""

        def pipe(
            self,
            format: str | None = None,
            *,
            encoding: str | None = None,
            renderer: Renderer | None = None,
            dpi: float | None = None,
            **options: Any,
        ) -> bytes | str:
            """The picture as bytes (as text when ``encoding`` is given), ``format`` "svg" by
            default. Graphviz's own pipe options (``engine``, ``quiet``) are not supported."""
            unsupported = {k: v for k, v in options.items() if v not in (None, False)}
            if unsupported:
                raise TypeError(f"pipe() does not take {', '.join(unsupported)} here")
            format = format or self.format or "svg"
            if renderer is not None and not isinstance(renderer, Renderer):
                raise TypeError(f"renderer must be an autodiff.viz.Renderer, got {renderer!r:.80}")
            data = (renderer or find_renderer(format)).render(self.source, format, dpi=dpi)
            return data.decode(encoding) if encoding else data

        def render(
            self,
            path: str | os.PathLike[str],
            format: str | None = None,
            *,
            renderer: Renderer | None = None,
            dpi: float | None = None,
        ) -> Path:
            """Write the picture to ``path`` in ``format`` (by default the path's suffix: svg,
            png, pdf, ...) and return the path. The file is written whole or not at all. PNGs
            are drawn at ``dpi`` dots per inch (96 unless given). Unlike graphviz's own
            ``render``, it writes no DOT file beside the picture (``save()`` does)."""
            target = _check_path(path, "render")
            kind = _format_of(target, format)
            data = self.pipe(kind, renderer=renderer, dpi=96 if dpi is None else dpi)
            assert isinstance(data, bytes)
            _write_atomic(target, data)
            return target

        def view(self, *args: Any, **kwargs: Any) -> Any:
            """Not supported: ``render("graph.svg")`` and open the file, or show it in Jupyter."""
            raise NotImplementedError(
                "view() is not supported: render('graph.svg') and open the file, or show the "
                "graph in Jupyter by leaving it last in a cell"
            )

        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None, **kwargs: Any
        ) -> dict[str, Any]:
            """What Jupyter shows: the SVG, or text that says how to get a renderer."""
            try:
                bundle: dict[str, Any] = super()._repr_mimebundle_(include, exclude, **kwargs)
            except RendererNotFoundError as error:
                return {"text/plain": str(error)}
            return bundle

    return GraphPicture
