"""Opening a lake: the one place that tells a folder from an object store, by the location's scheme.

A plain path is a :class:`~footfall.lake.local.LocalLake`. ``scheme://...`` is an
:class:`~footfall.lake.objects.ObjectLake` on the store :data:`STORES` registers for that scheme; a new
object store is one class and one entry here.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from footfall.errors import LakeError
from footfall.lake.cache import ObjectCache
from footfall.lake.journal import Notice
from footfall.lake.layout import Table
from footfall.lake.local import LocalLake
from footfall.lake.objects import ObjectLake
from footfall.lake.s3 import S3Store
from footfall.lake.store import FolderStore, ObjectStore

StoreOpener = Callable[[str, str | None, str | None], ObjectStore]  # (location, endpoint, region)
STORES: dict[str, StoreOpener] = {
    "s3": S3Store.open,
    "file": lambda location, endpoint, region: FolderStore.open(location),
}


@dataclass
class Held:
    """A lake opened for one run or one read.

    ``lake`` is what the pipeline runs on; ``work`` the local lake where a job lands and parses files (the
    lake itself when it is local; a temporary folder beside an object lake, whose new files the lake takes
    with :meth:`ObjectLake.take` before the run)."""

    lake: LocalLake | ObjectLake
    work: LocalLake
    notices: list[Notice] = field(default_factory=list)  # what recovery did

    def __str__(self) -> str:
        return str(self.lake)

    @property
    def store(self) -> ObjectStore | None:
        """The object store the lake is on; None for a local lake."""
        return self.lake.store if isinstance(self.lake, ObjectLake) else None


def scheme(location: str) -> str | None:
    """The object store a location names, or None for a local folder.

    >>> scheme("s3://bucket/prefix"), scheme("file:///srv/lake"), scheme("lake"), scheme("C:/lake")
    ('s3', 'file', None, None)
    """
    found = re.match(r"([a-z][a-z0-9+.-]*)://", location)
    return found.group(1) if found else None


def open_store(location: str, endpoint: str | None = None, region: str | None = None) -> ObjectStore:
    kind = scheme(location)
    if kind not in STORES:
        raise LakeError(f"unsupported lake location (a folder, or {', '.join(f'{s}://' for s in STORES)})",
                        path=location)
    return STORES[kind](location, endpoint, region)


@contextlib.contextmanager
def open_lake(location: str, tables: Sequence[Table], *, write: bool, scratch: Sequence[str] = (),
              temporaries: re.Pattern[str] | None = None, endpoint: str | None = None,
              region: str | None = None, cache: Path | None = None) -> Iterator[Held]:
    """The lake at ``location``, held for a writer (``write``) or opened for a reader.

    A local writer ensures the lake, takes its lock and recovers what a killed run left, once (``scratch``:
    lake-relative folders the job keeps only temporaries in, and ``temporaries``, the paths of files it writes
    under a temporary name, are swept); the work below never locks again. An
    object lake has nothing to lock or recover: a run publishes by one compare-and-swap of its pointer, or
    not at all. ``tables`` are what the pipeline publishes; ``cache``, a folder for an object lake's read
    cache (:mod:`footfall.lake.cache`)."""
    if scheme(location) is None:
        lake = LocalLake.at(location)
        if not write:
            yield Held(lake, lake)
            return
        with lake.session(scratch, temporaries) as notices:
            yield Held(lake, lake, notices)
        return
    store = open_store(location, endpoint, region)
    folder = Path(tempfile.mkdtemp(prefix="footfall-work-"))
    try:
        work = LocalLake.at(folder)
        work.ensure()
        caching = ObjectCache.under(cache, store.location) if cache is not None else None
        yield Held(ObjectLake.open(store, tables, folder, caching), work)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
