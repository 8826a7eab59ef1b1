"""Whether operations record a graph: ``no_grad()`` turns recording off, per thread."""

from __future__ import annotations

import threading
from contextlib import ContextDecorator
from contextvars import ContextVar
from types import TracebackType

_recording: ContextVar[bool] = ContextVar("autodiff_recording", default=True)
"""On by default in every thread (each thread has its own context) and every asyncio task."""


class _SavedStates(threading.local):
    def __init__(self) -> None:
        self.stack: list[bool] = []


_saved = _SavedStates()


def is_grad_enabled() -> bool:
    """True when operations on Values record the graph that ``backward()`` needs."""
    return _recording.get()


class no_grad(ContextDecorator):  # noqa: N801 -- named like torch.no_grad, which users know
    """Evaluate without recording a graph: results are plain leaf Values with no history.

    Use it as ``with no_grad(): ...`` or as a decorator. It is safe to nest, to reuse one
    instance, and to use from several threads at once: the switch is per thread.
    """

    def __enter__(self) -> None:
        _saved.stack.append(_recording.get())
        _recording.set(False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _recording.set(_saved.stack.pop())
