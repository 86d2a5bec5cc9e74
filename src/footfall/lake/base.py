"""What the runner and a job ask of any lake, local or on an object store: name the files a source reads,
give a run a private staging that publishes all outputs at once or nothing, and lend readers a consistent
local view of the published tables they need."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from footfall.lake.local import LocalLake


class Staging(Protocol):
    """One run's outputs, invisible to readers until :meth:`publish`."""

    @property
    def run_id(self) -> str: ...

    def path(self, zone: str, relpath: str) -> str | Path:
        """Where the engine writes an output: a path or an object URI."""

    def mark_directory(self, zone: str, relpath: str, merge: bool = False) -> None:
        """A partitioned output is complete; with ``merge`` it replaces only the partitions it holds."""

    def publish(self) -> list[str]:
        """Publish every written output at once; return their lake paths."""

    def discard(self) -> None:
        """Drop what was written and not published."""


class Lake(Protocol):
    """A lake a pipeline runs on."""

    def roots(self) -> list[str]:
        """What an engine running on this lake may read and write: folders or object-store prefixes."""

    @property
    def spill(self) -> Path:
        """A local folder where an engine may put temporary data."""

    def sources(self, pattern: str, fmt: str, local: bool = False) -> list[str]:
        """The paths or URIs of the files a source's lake path names, sorted; with ``local``, local paths (an
        object lake's cached copies)."""

    def stage(self, run_id: str | None = None, local: bool = False) -> Staging:
        """A run's private staging; with ``local`` the engine writes local files (an object lake uploads them
        when it publishes), else wherever the lake is."""

    def snapshot(self, prefixes: Sequence[str] = ()) -> contextlib.AbstractContextManager[LocalLake]:
        """A local lake holding the published files under ``prefixes`` (every file without), all of one
        publish, for readers that open files themselves."""
