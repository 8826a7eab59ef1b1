"""Writing pictures and pages to files: the path checked before any work is done, and the file
written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _check_path(path: object, caller: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}() needs a file path, got {type(path).__name__}: {path!r:.80}")
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder; give a file name in it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: the folder {target.parent} does not exist")
    return target


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it and ``os.replace``, so
    that ``target`` is never seen half written and a failure leaves it as it was."""
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise type(error)(error.errno, f"cannot write {target}: {error.strerror}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
