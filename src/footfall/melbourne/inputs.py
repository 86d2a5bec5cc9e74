"""Reading a user's input file safely: regular files only, never blocking, hashed as it is copied.

Opening a FIFO for reading waits for a writer forever (and a run holds the lake lock meanwhile), a
device never ends, and a file still being written can change between two reads. So inputs are opened
without blocking and checked to be regular files first, and landing copies and hashes in one pass,
refusing a file whose size or times moved while it was read.
"""

from __future__ import annotations

import hashlib
import os
import stat
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


def copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to a new ``target`` in one read, returning the SHA-256 and size of exactly the bytes
    written; a source that changes meanwhile is refused (and ``target`` removed) rather than stored torn."""
    digest = hashlib.sha256()
    size = 0
    buffer = memoryview(bytearray(CHUNK))
    try:
        with open_regular(source) as src, target.open("xb") as dst:
            before = _version(os.fstat(src.fileno()))
            while n := src.readinto(buffer):
                digest.update(buffer[:n])
                dst.write(buffer[:n])
                size += n
            after = os.fstat(src.fileno())
        if _version(after) != before or size != after.st_size:
            raise InputError("changed while it was being copied into the lake; nothing was landed: give it again "
                             "once it is complete", path=source)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size
