"""The picture ``draw_graph`` returns: a ``graphviz.Digraph`` that renders with the dot program
``find_renderer`` finds, writes files whole, and shows inline in Jupyter scaled to the width of
the page, with a description in words. Its class is built on first use, so that importing
autodiff does not need the graphviz package."""

from __future__ import annotations

import codecs
import functools
import html
import math
import numbers
import os
import re
from pathlib import Path
from typing import Any

from ..files import atomic_write
from ..value import shown
from .files import _check_path
from .renderers import Renderer, RendererNotFoundError, _check_format, find_renderer

_MOST_DPI = 1200
"""The finest PNG ``render`` draws: more is surely a mistake (and a picture of gigabytes)."""


def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "drawing graphs needs the graphviz package: pip install 'chaingrad[viz]' "
            "(or pip install graphviz graphviz-pure)"
        ) from None
    return graphviz


def _format_of(path: Path, format: object) -> str:
    if format is not None:
        return _check_format(format, "render")
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:
        raise ValueError(
            f"render() cannot tell which format to write from the path {path}: give it a suffix "
            f"(.svg, .png, .pdf) or pass format="
        )
    return suffix


def _check_dpi(dpi: object) -> float | None:
    if dpi is None:
        return None
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise TypeError(f"render() dpi must be a number of dots per inch, got {type(dpi).__name__}: "
                        f"{shown(dpi)}")
    try:
        value = float(dpi)
    except OverflowError:
        value = math.inf
    if not 1 <= value <= _MOST_DPI:
        raise ValueError(f"render() dpi must be between 1 and {_MOST_DPI}, got {shown(dpi)}")
    return value


_SVG_TAG = re.compile(r"<svg\b[^>]*>")


def _fitted_svg(svg: str, alt: str) -> str:
    """``svg`` made to fit the width it is shown in (never wider than its container, never
    larger than drawn) and to say what it shows: ``role="img"``, an ``aria-label`` and a
    ``<title>``, all ``alt``."""
    tag = _SVG_TAG.search(svg)
    if tag is None:
        return svg
    text = html.escape(alt, quote=True)
    opening = tag.group()[:-1].rstrip("/")
    opening += f' role="img" aria-label="{text}" style="max-width:100%;height:auto">'
    return f"{svg[: tag.start()]}{opening}<title>{text}</title>{svg[tag.end() :]}"


def _in_page(svg: str) -> str:
    """An SVG document as an element of an HTML page: from its ``<svg`` tag on (no XML prolog)."""
    tag = _SVG_TAG.search(svg)
    return svg if tag is None else svg[tag.start():]


@functools.cache
def _picture_class() -> type[Any]:
    """``graphviz.Digraph`` made to render with ``find_renderer()`` (built on first use, so that
    importing autodiff does not need the graphviz package)."""
    digraph: Any = _import_graphviz().Digraph

    class GraphPicture(digraph):  # type: ignore[misc]
        """A ``graphviz.Digraph`` of a computation. ``render(path)`` writes SVG, PNG or PDF (by
        the suffix) with the dot program ``autodiff.viz.find_renderer`` finds, Graphviz's own
        or graphviz-pure; ``pipe(format)`` returns the bytes; Jupyter shows it inline, scaled to
        fit, described in words by ``alt`` (for screen readers)."""

        alt = "A computation graph."

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
            kind = _check_format(format or self.format or "svg", "pipe")
            if encoding is not None:
                if not isinstance(encoding, str):
                    raise TypeError(f"pipe() encoding must be None or the name of a text encoding, "
                                    f"got {type(encoding).__name__}: {shown(encoding)}")
                try:
                    codecs.lookup(encoding)
                except LookupError:
                    raise ValueError(f"pipe() encoding must name a text encoding such as "
                                     f"'utf-8', got {shown(encoding)}") from None
            if renderer is not None and not isinstance(renderer, Renderer):
                raise TypeError(f"pipe() renderer must be an autodiff.viz.Renderer, got "
                                f"{shown(renderer)}")
            data = (renderer or find_renderer(kind)).render(self.source, kind, dpi=_check_dpi(dpi))
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
            png, pdf, ...) and return the path. The file is written whole or not at all; a new
            file gets the permissions the umask gives, a replaced one keeps its own. PNGs are
            drawn at ``dpi`` dots per inch (96 unless given). Unlike graphviz's own ``render``,
            it writes no DOT file beside the picture (``save()`` does)."""
            target = _check_path(path, "render")
            kind = _format_of(target, format)
            resolution = _check_dpi(dpi)
            data = self.pipe(kind, renderer=renderer, dpi=96 if resolution is None else resolution)
            assert isinstance(data, bytes)
            atomic_write(target, lambda file: file.write(data), binary=True)
            return target

        def view(self, *args: Any, **kwargs: Any) -> Any:
            """Not supported: ``render("graph.svg")`` and open the file, or show it in Jupyter."""
            raise NotImplementedError(
                "view() is not supported: render('graph.svg') and open the file, or show the "
                "graph in Jupyter by leaving it last in a cell"
            )

        def _repr_svg_(self) -> str:
            """The picture as SVG that fits the width it is shown in and says what it shows."""
            svg = self.pipe("svg", encoding="utf-8")
            assert isinstance(svg, str)
            return _fitted_svg(svg, self.alt)

        def _repr_html_(self) -> str:
            """The fitted SVG as an element of the page: an SVG image (``<img>``, as nbconvert's
            HTML export and some viewers show ``image/svg+xml``) keeps the width it was drawn
            at, while an ``<svg>`` in the page shrinks to its container."""
            return _in_page(self._repr_svg_())

        def _repr_mimebundle_(
            self, include: Any = None, exclude: Any = None, **kwargs: Any
        ) -> dict[str, Any]:
            """What Jupyter shows: the SVG of ``_repr_svg_`` in the page (HTML) and as an image,
            and ``alt`` as text; or, without a renderer, text that says how to get one."""
            try:
                svg = self._repr_svg_()
                bundle: dict[str, Any] = {
                    "text/html": _in_page(svg),
                    "image/svg+xml": svg,
                    "text/plain": self.alt,
                }
            except RendererNotFoundError as error:
                return {"text/plain": str(error)}
            return {mime: data for mime, data in bundle.items()
                    if (include is None or mime in include) and mime not in (exclude or ())}

    return GraphPicture
