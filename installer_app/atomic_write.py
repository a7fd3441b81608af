"""Replacing a file in one step, so that a crash or an error never leaves half of it.

Settings, the history export, the simulator's flash and registry and the emulator's state all
write this way: into a new temporary file beside the target, flushed and synced, then renamed
over it. Until the rename, readers see the old file (or none); on any error the temporary file
is removed and the old file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

OWNER_ONLY = 0o600  # for files that hold anything another user must not read
SHARED = 0o666  # the process's umask applies, as for any file it creates


@contextlib.contextmanager
def replace_atomically(
    path: Path, *, mode: int = OWNER_ONLY, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[TextIO]:
    """A text file to write that replaces ``path`` when the block ends without an exception.

    The folder must exist. ``mode`` is given to the new file as ``os.open`` does (the umask
    applies).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
