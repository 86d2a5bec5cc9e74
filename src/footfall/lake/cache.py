"""A read cache of an object lake's objects on local disk, for an engine that reads local files much faster than
objects (DuckDB reads an object through a Python filesystem, several requests a file).

Only a cache: a file is used when the pointer names its key with the ETag the cache recorded for it and the
file still has the size and modification time it had when fetched, else it is fetched again; the folder can be
deleted at any time and costs downloads, never answers. Keys keep their lake layout below the cache's folder
(``key=value`` folders stay partition columns), and output keys name the run that wrote them, so a cached
output version never changes. An engine that writes local files faster writes a run's outputs here, at their
keys; the publish uploads them and records them, so the next run reads them without a download. After a
publish the cache keeps only what the new pointer names.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from footfall.lake.layout import write_json
from footfall.lake.store import transfer

INDEX = ".index.json"
STALE = 24 * 3600  # a file the index does not know, this old, was left by a killed run


@dataclass(frozen=True)
class ObjectCache:
    root: Path  # one folder per lake

    @classmethod
    def under(cls, folder: Path, location: str) -> ObjectCache:
        """The cache of the lake at ``location`` inside the user's cache ``folder``."""
        tag = hashlib.sha256(location.encode()).hexdigest()[:16]
        return cls(folder.expanduser() / "objects" / tag)

    def _index(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads((self.root / INDEX).read_text())
            return found
        except (OSError, ValueError):
            return {}

    def paths(self, wanted: Mapping[str, Mapping[str, Any]], download: Callable[[str, Path], None]) -> list[str]:
        """Local paths of the objects ``wanted`` names (key -> size, md5), fetching those not cached."""
        self.root.mkdir(parents=True, exist_ok=True)
        index = self._index()
        missing = [key for key, meta in wanted.items() if index.get(key) != [meta["md5"], *_stat(self.root / key)]
                   or _stat(self.root / key)[0] != meta["size"]]
        transfer(partial(download, key, self.root / key) for key in missing)
        if missing:
            index = self._index() | {key: [wanted[key]["md5"], *_stat(self.root / key)] for key in missing}
            write_json(self.root / INDEX, index)
        return [str(self.root / key) for key in wanted]

    def adopt(self, files: Mapping[str, Mapping[str, Any]]) -> None:
        """Record files already in place as the copies of the objects ``files`` names (key -> size, md5): what
        a run wrote here and uploaded, so the next run reads them without a download."""
        stats = {key: _stat(self.root / key) for key in files}
        adopted = {key: [meta["md5"], *stats[key]] for key, meta in files.items() if stats[key][0] == meta["size"]}
        if adopted:
            write_json(self.root / INDEX, self._index() | adopted)

    def keep(self, keys: set[str]) -> int:
        """Drop every cached object but ``keys``, and what a killed run wrote here and never published (files
        the index does not know, untouched for :data:`STALE` seconds: a running writer's are fresh); return
        how many cached objects went."""
        index = self._index()
        gone = [key for key in index if key not in keys]
        for key in gone:
            (self.root / key).unlink(missing_ok=True)
        if gone:
            write_json(self.root / INDEX, {k: v for k, v in index.items() if k in keys})
        cutoff = time.time_ns() - STALE * 10**9
        for here, dirs, files in sorted(os.walk(self.root), reverse=True):
            left = []
            for name in files:
                path = Path(here) / name
                key = path.relative_to(self.root).as_posix()
                if key != INDEX and key not in index and 0 <= _stat(path)[1] < cutoff:
                    path.unlink(missing_ok=True)
                else:
                    left.append(name)
            if Path(here) != self.root and not dirs and not left:
                shutil.rmtree(here, ignore_errors=True)
        return len(gone)


def _stat(path: Path) -> tuple[int, int]:
    """(size, modification time in ns), or (-1, -1) for no file."""
    try:
        found = path.stat()
    except OSError:
        return -1, -1
    return found.st_size, found.st_mtime_ns
