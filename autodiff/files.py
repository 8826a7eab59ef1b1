"""Writing a file whole or not at all: ``atomic_write``, shared by the pictures
(``autodiff.viz``) and by ``nn`` (saved models, plots)."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from typing import IO, Any


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[IO[Any]], object], binary: bool = False
) -> None:
    """Call ``write(file)`` on a new file beside ``path``, flush it to disk, and rename it to
    ``path``: readers see the old file or the complete new one, never a part. If ``write``
    raises, the temporary file is removed, ``path`` is left as it was, and the error propagates.
    A new file gets the usual permissions (those the umask leaves of read and write for all); a
    replaced one keeps its own, so a private file stays private. ``binary`` opens the file for
    bytes, else for UTF-8 text.

    An error of the file system (no folder, no permission, a full disk) is raised as its own
    type (``FileNotFoundError``, ``PermissionError``, ``OSError``) with a message that names
    ``path``.
    """
    target = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(target))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(temporary, flags, 0o666)  # the umask takes away what it forbids
    except OSError as error:
        raise _naming(error, target) from None
    try:
        with open(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno is not None:
            raise _naming(error, target) from None
        raise
    _sync_directory(directory)


def _naming(error: OSError, target: str) -> OSError:
    """``error`` again, as its own type, with a message that names the file being written."""
    return type(error)(error.errno, f"cannot write {target}: {error.strerror}")


def _sync_directory(directory: str) -> None:
    """Flush the rename itself to disk (POSIX; elsewhere a directory cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
