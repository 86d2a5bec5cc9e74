"""Errors a user can cause, each carrying one line that names the file (and line) at fault.

The CLI prints ``str(error)`` and exits with ``error.exit_code``; anything that is not a
``FootfallError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path


def name_bytes(name: str) -> bytes:
    """A file name's bytes as the file system holds them (Python keeps bytes that are not UTF-8 as lone
    surrogates)."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


def escaped(name: str) -> str:
    """A file name as valid UTF-8 text, its bytes that are not UTF-8 shown as ``\\xff``: printable, and
    storable in JSON that any reader accepts.

    >>> escaped("counts-\\udcff.csv")
    'counts-\\\\xff.csv'
    """
    return name_bytes(name).decode("utf-8", "backslashreplace")


class FootfallError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class SpecError(FootfallError):
    """``pipeline.yml`` is missing, malformed or inconsistent."""


class SqlError(FootfallError):
    """A step's SQL does not parse, or refers to what does not exist."""


class InputError(FootfallError):
    """A data file that cannot be read as any known format."""


class LakeError(FootfallError):
    """The lake cannot be read or written, or a path would leave it."""


class OutputError(FootfallError):
    """A file cannot be written where the user asked: not a regular file there, or no such folder."""


class CheckFailed(FootfallError):
    """A blocking data check found offending rows; nothing was published."""

    exit_code = 3


class EngineError(FootfallError):
    """The engine rejected a step at run time (a type error, a missing column, ...)."""


class ResourceError(FootfallError):
    """The machine ran out of something (memory, disk) while reading an input: the input is not at fault,
    so it stays where it is for the next run."""


class Interrupted(FootfallError):
    """Ctrl-C (SIGINT) stopped the work; what was landed stays, nothing half-done is published."""

    exit_code = 130


# What an OS error means for someone writing a lake, and what to do about it.
_ADVICE = {
    errno.ENOSPC: "no space left on the disk: free some space, or use a lake on another disk",
    errno.EDQUOT: "the disk quota is used up: free some space, or use a lake on another disk",
    errno.EFBIG: "file too large for this process's file size limit (ulimit -f): raise the limit",
    errno.EROFS: "the file system is read-only: use a lake on a writable disk",
    errno.EACCES: "permission denied: make it writable for this user, or use another lake",
    errno.EPERM: "not permitted: make it writable for this user, or use another lake",
    errno.EIO: "the disk reported an input/output error: check the disk",
}
_OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def file_in_the_way(path: str | Path) -> Path | None:
    """The first existing part of ``path`` (itself included) that is not a folder, where a folder must be."""
    current = Path(path)
    for part in reversed((current, *current.parents)):
        if part.exists() and not part.is_dir():
            return part
    return None


def os_reason(error: OSError) -> str:
    """An OS error in plain words, saying what to do; the file it names, if any, is the caller's to show.

    >>> os_reason(OSError(errno.ENOSPC, "No space left on device"))
    'no space left on the disk: free some space, or use a lake on another disk'
    """
    if error.errno in (errno.ENOTDIR, errno.EEXIST) and error.filename:
        blocker = file_in_the_way(error.filename)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
    return _ADVICE.get(error.errno or 0) or error.strerror or str(error) or type(error).__name__


def os_failure(error: OSError, doing: str, path: str | Path) -> FootfallError:
    """One line for an OS error while footfall ``doing`` something to ``path``: running out of space is the
    machine's (:class:`ResourceError`), anything else the lake's."""
    kind = ResourceError if error.errno in _OUT_OF_SPACE else LakeError
    return kind(f"{doing}: {os_reason(error)}", path=path)
