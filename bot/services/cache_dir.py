"""The user's cache folder: files derived from the code and data of a release that are slow to compute
(the zone search's place index, the crisis model's exemplar vectors), kept between processes.

`$BOOKBOT_CACHE_DIR`, else `$XDG_CACHE_HOME/bookbot`, else `~/.cache/bookbot`. Every file in it is named or
stamped by a fingerprint of what it is made of, written atomically (another process may be writing it too),
and computed afresh when it is missing, stale or damaged: deleting the folder is always safe.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def cache_folder() -> Path:
    configured = os.environ.get("BOOKBOT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bookbot"


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file beside it, so no reader ever sees half a file."""
    write_through(path, lambda file: file.write(data))


def write_through(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Let `write` fill a temporary file beside `path`, then rename it over `path` (another process may be
    writing the same file: the last rename wins, and no reader ever sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as file:
        try:
            write(file)
        except BaseException:
            file.close()
            os.unlink(file.name)
            raise
    try:
        os.replace(file.name, path)
    except BaseException:
        os.unlink(file.name)
        raise
