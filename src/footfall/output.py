"""Files written at a path the user gave (``report --out``, ``generate OUT``): all or nothing, and only ever
as a regular file in a folder that already exists.

Whatever sits at the path decides nothing: a symlink is not followed, a FIFO, a device or a directory is
not written into, and a missing folder is a typo to report rather than a tree to create. The content goes
to a hidden temporary file beside the target and is renamed over it when complete, so a failure (a full
disk, an interrupted run) leaves the previous file as it was.

Nor is it ever written inside a lake: only a run's publish writes there, so a forged answer cannot replace a
published one. The target is resolved (symbolic links, ``..``) and each of its existing folders is compared
by inode (``st_dev``, ``st_ino``: a bind mount, a second name, another letter case on a case-insensitive disk
are the same folder) with every folder of the lakes the command knows, and examined for a lake's marks:
``.published`` (a run published there) or all three zone folders (``landing``, ``transformed``, ``curated``:
every lake a run ever held has them), also above the folder's real place when it lies in a bind mount of a
lake's zone. A hard link to a lake file elsewhere is safe: the rename replaces the
name, not the lake's file.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from footfall.errors import OutputError
from footfall.spec import POINTER, PUBLISHED, ZONES

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
    """Whether ``folder`` bears a lake's marks: a publish marker, an object lake's pointer (a lake in a folder
    store), or every zone folder."""
    return ((folder / PUBLISHED).is_file() or (folder / POINTER).is_file()
            or all((folder / zone).is_dir() for zone in ZONES))


def folders_of(lake: Path) -> set[tuple[int, int]]:
    """Every folder of a lake (its root, zones, partitions, versions) by inode, so that a folder of it reached
    under another name (a bind mount of a zone) is known."""
    found = set()
    for folder, _, _ in os.walk(lake):
        try:
            info = os.stat(folder)
        except OSError:
            continue
        found.add((info.st_dev, info.st_ino))
    return found


def lake_holding(path: Path, lakes: Iterable[Path] = ()) -> Path | None:
    """The lake that ``path`` would be written inside, or None: one of ``lakes``, or a folder above the path
    (symbolic links resolved) that bears a lake's marks."""
    known: dict[tuple[int, int], Path] = {identity: lake for lake in lakes for identity in folders_of(lake)}
    resolved = Path(os.path.realpath(path.expanduser()))
    beneath = underlying(resolved)
    names: list[Path] = [resolved, *([beneath] if beneath else [])]
    for name in names:
        folders: list[Path] = [name, *name.parents]
        for folder in folders:
            try:
                info = folder.stat()
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in known:
                return known[(info.st_dev, info.st_ino)]
            if stat.S_ISDIR(info.st_mode) and is_lake_root(folder):
                return folder
    return None


def underlying(path: Path) -> Path | None:
    """``path`` named through the mount of its file system's root, when it lies in a bind mount of a folder
    (Linux, from ``/proc/self/mountinfo``): the marks of a lake whose zone is bind-mounted elsewhere are above
    the folder there, not above the mount point. None when the path is not in such a mount."""
    mounts = _mounts()
    holding = [m for m in mounts if m[2] == path or m[2] in path.parents]
    if not holding:
        return None
    device, root, point = max(reversed(holding), key=lambda m: len(m[2].parts))  # the deepest, mounted last
    if root == Path("/"):
        return None
    bases = [m for m in mounts if m[0] == device and (m[1] == root or m[1] in root.parents)]
    base = min(bases, key=lambda m: len(m[1].parts), default=None)
    if base is None or base[1] == root:
        return None
    return base[2] / root.relative_to(base[1]) / path.relative_to(point)


def _mounts() -> list[tuple[str, Path, Path]]:
    """(device, folder of its file system shown, mount point) of every mount, in mount order; none off Linux."""
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            found.append((fields[2], Path(_unescaped(fields[3])), Path(_unescaped(fields[4]))))
    return found


def _unescaped(text: str) -> str:
    """mountinfo writes a space, tab, newline or backslash in a path as ``\\ooo`` (octal)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


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
