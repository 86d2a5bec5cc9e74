"""Files written at a path the user gave (``report --out``, ``generate OUT``): all or nothing, and only ever
as a regular file in a folder that already exists.

Whatever sits at the path decides nothing: a symlink is not followed, a FIFO, a device or a directory is
not written into, and a missing folder is a typo to report rather than a tree to create. The content goes
to a hidden temporary file beside the target and is renamed over it when complete, so a failure (a full
disk, an interrupted run) leaves the previous file as it was.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from footfall.errors import OutputError

KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
         (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_target(path: Path) -> None:
    """Refuse a target that is not a regular file (or nothing yet), or whose folder does not exist."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        raise OutputError("a part of this path is a file, not a folder", path=path) from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((name for test, name in KINDS if test(mode)), "not a regular file")
        raise OutputError(f"is {kind}; footfall writes only regular files: give another path", path=path)
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"the folder {folder} does not exist: create it first", path=path)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path to write the whole content to; renamed over ``path`` only when the block succeeds."""
    check_target(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        yield tmp
        check_target(path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
