"""Files written at a path the user gave (``report --out``, ``generate OUT``): all or nothing, and only ever
as a regular file in a folder that already exists.

Whatever sits at the path decides nothing: a symlink is not followed, a FIFO, a device or a directory is
not written into, and a missing folder is a typo to report rather than a tree to create. The content goes
to a hidden temporary file beside the target and is renamed over it when complete, so a failure (a full
disk, an interrupted run) leaves the previous file as it was.

Nor is it ever written inside a lake: only a run's publish writes there, so a forged answer cannot replace a
published one. The target is resolved (symbolic links, ``..``) and each of its existing folders is compared
with the lakes given by inode (``st_dev``, ``st_ino``: a bind mount, a second name, another letter case on a
case-insensitive disk are the same folder) and examined for a lake's marks: ``.published`` (a run published
there) or all three zone folders (``landing``, ``transformed``, ``curated``: every lake a run ever held has
them). A hard link to a lake file elsewhere is safe: the rename replaces the name, not the lake's file.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from footfall.errors import OutputError
from footfall.journal import PUBLISHED
from footfall.spec import ZONES

KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
         (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_target(path: Path, lakes: Iterable[Path] = ()) -> None:
    """Refuse a target inside a lake (``lakes``, or any folder marked as one), one that is not a regular file
    (or nothing yet), or one whose folder does not exist."""
    lake = lake_holding(path, lakes)
    if lake is not None:
        raise OutputError(f"is inside the lake at {lake}, where only a run writes: give a path outside it", path=path)
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


def is_lake_root(folder: Path) -> bool:
    """Whether ``folder`` bears a lake's marks: a publish marker, or every zone folder."""
    return (folder / PUBLISHED).is_file() or all((folder / zone).is_dir() for zone in ZONES)


def lake_holding(path: Path, lakes: Iterable[Path] = ()) -> Path | None:
    """The lake folder (symbolic links resolved) that ``path`` would be written inside, or None."""
    roots = set()
    for lake in lakes:
        try:
            found = lake.stat()
        except OSError:
            continue
        roots.add((found.st_dev, found.st_ino))
    resolved = Path(os.path.realpath(path.expanduser()))
    for folder in (resolved, *resolved.parents):
        try:
            found = folder.stat()
        except OSError:
            continue
        if (found.st_dev, found.st_ino) in roots or (stat.S_ISDIR(found.st_mode) and is_lake_root(folder)):
            return folder
    return None


@contextmanager
def replacing(path: Path, lakes: Iterable[Path] = ()) -> Iterator[Path]:
    """A temporary path to write the whole content to; renamed over ``path`` only when the block succeeds.
    ``lakes``: lakes the caller knows of, besides those found by their marks."""
    lakes = tuple(lakes)
    check_target(path, lakes)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        yield tmp
        check_target(path, lakes)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
