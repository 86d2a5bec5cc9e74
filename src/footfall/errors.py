"""Errors a user can cause, each carrying one line that names the file (and line) at fault.

The CLI prints ``str(error)`` and exits with ``error.exit_code``; anything that is not a
``FootfallError`` is a bug and keeps its traceback.
"""

from __future__ import annotations

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
