"""Reading a user's input file safely: regular files only, never blocking, read once to land it.

Opening a FIFO for reading waits for a writer forever (and a run holds the lake lock meanwhile), a
device never ends, and a file still being written can change between two reads. So inputs are opened
without blocking and checked to be regular files first; landing hashes the open file once and lets the
kernel copy it from the same descriptor, refusing a file whose size or times moved in between.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from footfall.errors import InputError

CHUNK = 1 << 20
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


def not_regular(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    return next((name for test, name in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "not a regular file")


def refusal(path: str | Path, what: str) -> InputError:
    if what == "a directory":
        return InputError("is a directory, not a data file", path=path)
    return InputError(f"is {what}, not a regular file: give a file (footfall never reads pipes or devices)",
                      path=path)


def open_regular(path: Path, shown_as: str | Path | None = None) -> BinaryIO:
    """Open a regular file for reading; anything else is refused before a single read can block."""
    shown = shown_as or path
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError("no such file", path=shown) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a data file", path=shown) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=shown) from None
    what = not_regular(os.fstat(fd).st_mode)
    if what:
        os.close(fd)
        raise refusal(shown, what)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _version(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


@dataclass(frozen=True)
class Snapshot:
    """What one read of an open file saw: its SHA-256, size and version (inode, size, times)."""

    sha256: str
    size: int
    version: tuple[int, int, int, int]


def snapshot(handle: BinaryIO, known: tuple[str, int] | None = None) -> Snapshot:
    """Hash an open regular file from its start in one read, with the version it had meanwhile. ``known``
    (SHA-256, size) is a hash footfall took while writing the file itself: it stands for that read while the
    file still has that size."""
    before = os.fstat(handle.fileno())
    if known and known[1] == before.st_size:
        return Snapshot(known[0], before.st_size, _version(before))
    handle.seek(0)
    digest = hashlib.file_digest(handle, "sha256").hexdigest()  # type: ignore[arg-type]  # a file opened "rb"
    after = os.fstat(handle.fileno())
    return Snapshot(digest, after.st_size, _version(after) if _version(after) == _version(before) else (-1, -1, -1, -1))


def copy_unchanged(handle: BinaryIO, target: Path, seen: Snapshot, shown_as: str | Path) -> None:
    """Copy the open file to a new ``target`` without reading it into Python again, and only if it is still
    the version ``seen`` hashed: then the hash is that of the bytes written. ``os.copy_file_range`` lets the
    kernel share the blocks (a reflink) where the file system can, and copy them inside the kernel
    otherwise; a hard link is never used, since it would let a later edit of the user's file change the
    landed bytes."""
    try:
        with target.open("xb") as dst:
            _kernel_copy(handle.fileno(), dst.fileno(), seen.size)
        after = os.fstat(handle.fileno())
        if _version(after) != seen.version or target.stat().st_size != seen.size:
            raise InputError("changed while it was being copied into the lake; nothing was landed: give it again "
                             "once it is complete", path=shown_as)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _kernel_copy(src: int, dst: int, size: int) -> None:
    """Up to ``size`` bytes from offset 0; a plain copy where the kernel cannot copy between the two files."""
    done = 0
    try:
        while done < size and (n := os.copy_file_range(src, dst, size - done, done, done)):
            done += n
        return
    except OSError:
        if done:
            raise
    buffer = memoryview(bytearray(CHUNK))
    while done < size and (n := os.preadv(src, [buffer[:min(CHUNK, size - done)]], done)):
        view = buffer[:n]
        while view:
            written = os.pwrite(dst, view, done)
            view, done = view[written:], done + written
