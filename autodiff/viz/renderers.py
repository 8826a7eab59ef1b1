"""Programs that turn DOT into pictures: finding them and running them.

``find_renderers()`` looks, in order, for the program named by the environment variable
``CHAINGRAD_DOT``, Graphviz's own ``dot`` on the PATH, and ``graphviz-pure`` (a self-contained
port of dot from PyPI, installed by ``pip install 'chaingrad[viz]'``) on the PATH or beside the
running Python. ``find_renderer(format)`` picks the best that writes a format, or says how to
install one; ``Renderer.render`` draws DOT text as bytes.
"""

from __future__ import annotations

import functools
import numbers
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..value import shown

ENV_VAR = "CHAINGRAD_DOT"
"""The environment variable that names a dot program to use before any other."""


class RendererNotFoundError(RuntimeError):
    """No program that renders DOT (to the format asked for) was found."""


class RenderError(RuntimeError):
    """The dot program ran and failed."""


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_format(format: object, caller: str) -> str:
    """``format`` as the lower-case name of an output format (``svg``, ``png``, ``pdf``)."""
    if not isinstance(format, str):
        raise TypeError(f"{caller}() format must be a name such as 'svg', 'png' or 'pdf', got "
                        f"{type(format).__name__}: {shown(format)}")
    if not format.isalnum() or not format.isascii():
        raise ValueError(f"{caller}() format must be a name such as 'svg', 'png' or 'pdf', got "
                         f"{shown(format)}")
    return format.lower()


@dataclass(frozen=True)
class Renderer:
    """A program that turns DOT into pictures: how it was found (``"dot"``, ``"graphviz-pure"``
    or ``"$CHAINGRAD_DOT"``) and its path."""

    name: str
    path: str

    @property
    def formats(self) -> frozenset[str]:
        """The output formats it writes (``svg``, ``png``, ``pdf``, ...), as it lists them."""
        return _formats(self.path)

    def render(self, source: str, format: str = "svg", *, dpi: float | None = None) -> bytes:
        """``source`` (DOT text) drawn as ``format``; ``dpi`` scales bitmaps (PNG, JPEG)."""
        if not isinstance(source, str):
            raise TypeError(f"Renderer.render() source must be DOT text (a str), got "
                            f"{type(source).__name__}")
        format = _check_format(format, "Renderer.render")
        if dpi is not None and (isinstance(dpi, bool) or not isinstance(dpi, numbers.Real)
                                or not 0 < dpi < 1e6):
            raise ValueError(f"Renderer.render() dpi must be a positive number, got {shown(dpi)}")
        if not self.formats:
            raise RendererNotFoundError(
                f"{self.name} ({self.path}) does not answer like a dot program: asked for its "
                f"formats (-T?), it listed none"
            )
        if format not in self.formats:
            raise RendererNotFoundError(
                f"{self.name} ({self.path}) cannot write {format!r}; it writes "
                f"{', '.join(sorted(self.formats))}"
            )
        command = [self.path, f"-T{format}"]
        if dpi is not None and format in ("png", "jpg", "jpeg", "gif", "bmp"):
            command.append(f"-Gdpi={float(dpi):g}")
        try:
            done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True,
                                  timeout=300, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"{self.name} ({self.path}) took over 300 s to draw {format}") from None
        except OSError as error:
            raise RenderError(f"{self.name} ({self.path}) could not be run: {error}") from None
        if done.returncode != 0 or not done.stdout:
            problem = done.stderr.decode("utf-8", "replace").strip() or "no output"
            raise RenderError(
                f"{self.name} ({self.path}) failed to draw {format} (exit code "
                f"{done.returncode}): {_short(problem, 600)}"
            )
        return done.stdout


@functools.lru_cache(maxsize=16)
def _formats(path: str) -> frozenset[str]:
    """The formats a dot program lists when asked for an unknown one (``-T?``); none for a
    program that does not answer like dot."""
    try:
        done = subprocess.run([path, "-T?"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    found = re.search(r"Use one of:(.*)", done.stderr.decode("utf-8", "replace"))
    return frozenset(found.group(1).split()) if found else frozenset()


def _script_dirs() -> list[Path]:
    """Where pip puts commands for the running Python: a Jupyter kernel's PATH may lack it."""
    dirs = [Path(sys.executable).parent]
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        dirs.append(Path(scripts))
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _executable(path: str) -> str | None:
    found = shutil.which(path)
    if found:
        return found
    candidate = Path(path)
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def find_renderers() -> list[Renderer]:
    """Every program found that renders DOT, best first: the one named by ``$CHAINGRAD_DOT``,
    Graphviz's ``dot`` on the PATH, then ``graphviz-pure`` (PyPI) on the PATH or in the running
    Python's scripts folder. Raises RendererNotFoundError when ``$CHAINGRAD_DOT`` is set and
    names no program."""
    found: list[Renderer] = []
    named = os.environ.get(ENV_VAR, "").strip()
    if named:
        path = _executable(named)
        if path is None:
            raise RendererNotFoundError(
                f"{ENV_VAR}={named!r} names no program that can be run; set it to the path of a "
                f"dot program (Graphviz's dot or graphviz-pure), or unset it"
            )
        found.append(Renderer(f"${ENV_VAR}", path))
    dot = shutil.which("dot")
    if dot:
        found.append(Renderer("dot", dot))
    pure = shutil.which("graphviz-pure")
    if pure is None:
        for folder in _script_dirs():
            for name in ("graphviz-pure", "graphviz-pure.exe"):
                candidate = folder / name
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    pure = str(candidate)
                    break
            if pure:
                break
    if pure:
        found.append(Renderer("graphviz-pure", pure))
    unique: list[Renderer] = []
    for renderer in found:
        if all(os.path.realpath(r.path) != os.path.realpath(renderer.path) for r in unique):
            unique.append(renderer)
    return unique


_INSTALL_HELP = (
    "Install one: pip install 'chaingrad[viz]' (brings graphviz-pure, a self-contained dot), "
    "or Graphviz itself (apt-get install graphviz, brew install graphviz, conda install "
    f"graphviz); or set {ENV_VAR} to the path of a dot program. The DOT text of a graph is "
    "still there without one: graph.source."
)


def find_renderer(format: str = "svg") -> Renderer:
    """The best renderer found that writes ``format``; RendererNotFoundError, saying how to
    install one, when there is none."""
    format = _check_format(format, "find_renderer")
    renderers = find_renderers()
    if not renderers:
        raise RendererNotFoundError(f"no program found to render graphs (dot). {_INSTALL_HELP}")
    for renderer in renderers:
        if renderer.name == f"${ENV_VAR}" and not renderer.formats:
            raise RendererNotFoundError(
                f"{ENV_VAR}={renderer.path!r} does not answer like a dot program: asked for its "
                f"formats (-T?), it listed none"
            )
        if format in renderer.formats:
            return renderer
    have = "; ".join(f"{r.name} writes {', '.join(sorted(r.formats & _COMMON))}" for r in renderers)
    hint = ("Graphviz's own dot writes pdf: apt-get install graphviz (or brew or conda install "
            "graphviz), or write svg or png" if format == "pdf" else "write svg or png")
    raise RendererNotFoundError(f"no renderer found writes {format!r} ({have}). {hint}.")


_COMMON = frozenset({"svg", "png", "pdf", "jpeg", "jpg", "gif", "ps", "eps", "json", "dot"})
