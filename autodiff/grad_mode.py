"""Whether operations record a graph: ``no_grad()`` turns recording off, per thread; and
whether a function transform (``grad``, ``jacobian``, ...) is evaluating its function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ContextDecorator, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

_recording: ContextVar[bool] = ContextVar("autodiff_recording", default=True)
"""On by default; each thread, and each asyncio task, has its own."""

_saved: ContextVar[tuple[bool, ...]] = ContextVar("autodiff_saved_recording", default=())
"""The states that open ``no_grad`` blocks will restore, innermost last, per thread and task."""


def is_grad_enabled() -> bool:
    """True when operations on Values record the graph that ``backward()`` needs."""
    return _recording.get()


class no_grad(ContextDecorator):  # noqa: N801 -- named like torch.no_grad, which users know
    """Evaluate without recording a graph: results are plain leaf Values with no history.

    Use it as ``with no_grad(): ...`` or as a decorator. It is safe to nest, to reuse one
    instance, and to use from several threads or asyncio tasks at once: the switch is per
    thread and per task.
    """

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        """``no_grad()`` is a context manager; ``@no_grad`` without parentheses decorates."""
        instance = super().__new__(cls)
        return instance if func is None else instance(func)

    def __enter__(self) -> None:
        _saved.set((*_saved.get(), _recording.get()))
        _recording.set(False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        *outer, state = _saved.get()
        _saved.set(tuple(outer))
        _recording.set(state)


_transform_depth: ContextVar[int] = ContextVar("autodiff_transform_depth", default=0)
"""How many transforms are evaluating their function right now, in this thread or task."""


def is_tracing() -> bool:
    """True while a transform (``grad``, ``jacobian``, ...) evaluates its function: every Value
    there may be differentiated, so nothing may turn one into a plain number."""
    return _transform_depth.get() > 0


@contextmanager
def tracing() -> Iterator[None]:
    """Mark the evaluation of a function whose graph is being recorded, by a transform (``grad``
    and the others) or to be compiled (``fit(compile=True)``): operations record the graph even
    under ``no_grad()`` (the result must not depend on a switch outside the function), ``float()``
    of a Value is an error (it would cut the graph), and a transform called inside keeps its
    results as Values (they may depend on the outer inputs, through a closure too, and the outer
    transform differentiates them)."""
    depth = _transform_depth.set(_transform_depth.get() + 1)
    recording = _recording.set(True)
    try:
        yield
    finally:
        _recording.reset(recording)
        _transform_depth.reset(depth)
