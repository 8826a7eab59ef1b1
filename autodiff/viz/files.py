"""Writing pictures and pages to files: the path checked before any work is done, and the file
written whole or not at all (which ``autodiff.files.atomic_write`` does)."""

from __future__ import annotations

import os
from pathlib import Path

from ..value import shown


def _check_path(path: object, caller: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}() needs a file path, got {type(path).__name__}: {shown(path)}")
    if not os.fspath(path):
        raise ValueError(f"{caller}() needs a file path, got an empty one")
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder; give a file name in it")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: the folder {target.parent} does not exist")
    return target
