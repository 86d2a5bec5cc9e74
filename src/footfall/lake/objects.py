"""A lake on an object store, which the engines read and write themselves: no working copy.

A run reads the pointer once and resolves each source through it to object URIs. The engine writes every
output under a version prefix of its own (``<zone>/<output>/<run_id>/...``), invisible to readers: at its
URI, or, for an engine that writes local files faster, at that key in the lake's local copies, which the
publish uploads a few at a time and keeps as the read cache's copies. Publishing lists what was written,
builds the next pointer from the one this run read, and switches it by compare-and-swap
(:mod:`footfall.lake.pointer`): a failed run publishes nothing, and of two writers only one publishes. New
inputs (landed files, their parsed tables) are uploaded at their lake path before the run, from a local work
folder where a job lands and parses them; they join the lake when the pointer names them. Readers download
just the objects of the tables they read, all named by one pointer, into a temporary folder
(:meth:`ObjectLake.snapshot`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from footfall.errors import LakeError
from footfall.lake.cache import ObjectCache
from footfall.lake.layout import SPILL, Table, new_run_id, table_of
from footfall.lake.local import LocalLake
from footfall.lake.plan import next_pointer, retired
from footfall.lake.pointer import Pointer
from footfall.lake.store import ObjectStore, md5_file, transfer
from footfall.spec import PUBLISHED, relative_path


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A lake glob as a regex over lake paths: ``*`` stays within a folder, ``**`` crosses them.

    >>> bool(pattern_regex("landing/counts/*.manifest.json").fullmatch("landing/counts/a.manifest.json"))
    True
    >>> bool(pattern_regex("landing/counts/*.manifest.json").fullmatch("landing/counts/_rejected/a.manifest.json"))
    False
    >>> bool(pattern_regex("transformed/x/**/*.parquet").fullmatch("transformed/x/year=1/month=2/p.parquet"))
    True
    """
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    out = []
    for part in re.split(r"(\*\*/|\*\*|\*|\?|\[[^\]]*\])", pattern):
        if part in wildcards:
            out.append(wildcards[part])
        elif part.startswith("[") and part.endswith("]") and len(part) > 2:
            out.append("[" + part[1:-1].replace("\\", "\\\\").replace("!", "^", 1) + "]")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


@dataclass
class ObjectLake:
    """An object lake as one run sees it: the pointer read once, URIs out, a compare-and-swap in."""

    store: ObjectStore
    tables: tuple[Table, ...]
    spill_folder: Path  # a local folder for the engine's temporary data
    previous: dict[str, Any] | None = None
    etag: str | None = None
    added: dict[str, dict[str, Any]] = field(default_factory=dict)  # inputs taken from a work folder
    cache: ObjectCache | None = None  # local copies for an engine that reads them faster than objects
    lent: set[str] = field(default_factory=set)  # inputs lent to a work folder
    dropped: set[str] = field(default_factory=set)  # inputs lent and gone from it (a file set aside)

    @classmethod
    def open(cls, store: ObjectStore, tables: Sequence[Table], spill_folder: Path,
             cache: ObjectCache | None = None) -> ObjectLake:
        previous, etag = Pointer(store).read()
        return cls(store, tuple(tables), spill_folder, previous, etag, cache=cache)

    def __str__(self) -> str:
        return self.store.location

    @property
    def pointer(self) -> Pointer:
        return Pointer(self.store)

    def files(self) -> dict[str, dict[str, Any]]:
        """Every file the next pointer starts from: the published ones and this run's new inputs, less the
        inputs a work folder dropped."""
        files = {**(self.previous or {}).get("files", {}), **self.added}
        return {rel: meta for rel, meta in files.items() if rel not in self.dropped}

    # -- what the runner asks of a lake -------------------------------------------------------------

    def roots(self) -> list[str]:
        return [self.store.uri("").rstrip("/") + "/", str(self.spill_folder),
                *([str(self.cache.root)] if self.cache else [])]

    @property
    def spill(self) -> Path:
        return self.spill_folder / SPILL

    @property
    def copies(self) -> ObjectCache:
        """Where local copies of objects live: the read cache, or without one a folder of this run's own."""
        return self.cache or ObjectCache(self.spill_folder / "objects")

    def sources(self, pattern: str, fmt: str, local: bool = False) -> list[str]:
        """URIs of the files a source's path names (a folder stands for every ``*.<fmt>`` below it); with
        ``local``, paths of their copies in the lake's cache (or, without one, in the spill folder)."""
        files = self.files()
        folder = pattern.rstrip("/")
        if not any(c in folder for c in "*?[") and any(rel.startswith(folder + "/") for rel in files):
            regex = pattern_regex(f"{folder}/**/*.{fmt}")
        else:
            regex = pattern_regex(folder)
        named = [files[rel] for rel in sorted(files) if regex.fullmatch(rel)]
        if not local:
            return [self.store.uri(meta["key"]) for meta in named]
        return self.copies.paths({meta["key"]: meta for meta in named}, self.store.download)

    def stage(self, run_id: str | None = None, local: bool = False) -> ObjectStaging:
        return ObjectStaging(self, run_id or new_run_id(), local=local)

    @contextlib.contextmanager
    def snapshot(self, prefixes: Sequence[str] = ()) -> Iterator[LocalLake]:
        """The published files under ``prefixes`` (every published table's without), downloaded into a
        temporary local lake that is removed afterwards: a reader fetches what it reads and nothing else."""
        files = (self.previous or {}).get("files", {})
        wanted = prefixes or tuple(t.prefix for t in self.tables)
        rels = [rel for rel in sorted(files) if rel.startswith(tuple(wanted))]
        folder = Path(tempfile.mkdtemp(prefix="footfall-read-"))
        try:
            local = LocalLake.at(folder)
            self.fetch(local, rels)
            (folder / PUBLISHED).write_text((self.previous or {}).get("run_id", ""))
            yield local
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- inputs ---------------------------------------------------------------------------------------

    def has(self, rel: str) -> bool:
        return rel not in self.dropped and (rel in self.added or rel in (self.previous or {}).get("files", {}))

    def paths(self, pattern: str) -> list[str]:
        """The lake paths of the files a lake glob names, sorted."""
        regex = pattern_regex(pattern)
        return [rel for rel in sorted(self.files()) if regex.fullmatch(rel)]

    def lend(self, work: LocalLake, rels: Sequence[str]) -> None:
        """Download published files a job needs into its local lake (manifests, files still to parse); what
        the job then removes from there (a file set aside) leaves the lake with its next publish."""
        self.fetch(work, rels)
        self.lent.update(rels)

    def publish_inputs(self) -> None:
        """Make the inputs this run took part of the lake, outputs unchanged (a fetch with no run)."""
        if self.added or self.dropped:
            self.stage().publish()

    def take(self, work: LocalLake) -> list[str]:
        """Upload the work folder's new inputs; drop the lent ones it no longer holds."""
        self.dropped |= {rel for rel in self.lent if not (work.root / rel).exists()}
        return self.upload_inputs(work)

    def fetch(self, local: LocalLake, rels: Sequence[str]) -> None:
        """Download named lake files into a local lake, a few at a time."""
        files = self.files()
        for rel in rels:
            relative_path(rel)
        transfer(partial(self.store.download, files[rel]["key"], local.root / rel) for rel in rels)

    def upload_inputs(self, local: LocalLake) -> list[str]:
        """Upload the local lake's new or changed inputs at their lake paths, data before manifests; they join
        the pointer when this run publishes."""
        files = self.files()
        changed = []
        for rel, path in local.files().items():
            if table_of(self.tables, rel):
                continue
            md5 = md5_file(path)
            if rel in files and (files[rel]["size"], files[rel]["md5"]) == (path.stat().st_size, md5):
                continue
            changed.append((rel, path, md5))
        for manifests in (False, True):
            batch = sorted(c for c in changed if c[0].endswith(".manifest.json") == manifests)
            transfer(partial(self.store.upload, path, rel) for rel, path, _ in batch)
            for rel, path, md5 in batch:
                self.added[rel] = {"size": path.stat().st_size, "md5": md5, "key": rel}
        return [rel for rel, _, _ in changed]


@dataclass
class ObjectStaging:
    """One run's outputs, written by the engine under ``<output>/<run_id>/`` and published by the pointer."""

    lake: ObjectLake
    run_id: str
    local: bool = False  # the engine writes local files at their keys in the lake's copies; publish uploads them
    written: dict[str, bool] = field(default_factory=dict)  # table rel -> merge partitions
    published: bool = False

    def _table(self, zone: str, relpath: str) -> Table:
        try:
            relative_path(relpath)
        except ValueError as e:
            raise LakeError(str(e)) from None
        rel = f"{zone}/{relpath}"
        found = next((t for t in self.lake.tables if t.rel == rel), None)
        if found is None:
            raise LakeError(f"{rel} is not an output of this pipeline", path=str(self.lake))
        return found

    def path(self, zone: str, relpath: str) -> str:
        """The URI the engine writes: a file's versioned key, or a partitioned output's version folder."""
        table = self._table(zone, relpath)
        self.written.setdefault(table.rel, False)
        key = self._key(table)
        return str(self.lake.copies.root / key) if self.local else self.lake.store.uri(key)

    def _key(self, table: Table) -> str:
        """The key this run writes a table at: its version folder, or its file's versioned key."""
        return f"{table.rel}/{self.run_id}" if table.directory else table.versioned_key(table.rel, self.run_id)

    def _local_outputs(self) -> Iterator[tuple[Table, Path]]:
        """Each written table with the local file or folder the engine wrote it at; none unless it writes
        local files."""
        if self.local:
            root = self.lake.copies.root
            yield from ((t, root / self._key(t)) for t in self.lake.tables if t.rel in self.written)

    def _local_files(self) -> dict[str, Path]:
        """Key -> local file of what the engine wrote, the lake's own files left out as :meth:`publish` lists."""
        root = self.lake.copies.root
        found: dict[str, Path] = {}
        for table, path in self._local_outputs():
            if not table.directory:
                files = [path] if path.is_file() else []
            else:
                files = [p for p in sorted(path.rglob("*")) if p.is_file() and not _reserved(p.relative_to(path).parts)]
            found.update((file.relative_to(root).as_posix(), file) for file in files)
        return found

    def mark_directory(self, zone: str, relpath: str, merge: bool = False) -> None:
        self.written[self._table(zone, relpath).rel] = merge

    def publish(self) -> list[str]:
        """Build the next pointer from the one this run read and what it wrote; switch it (compare-and-swap);
        then delete what neither pointer names."""
        lake = self.lake
        local = self._local_files()
        transfer(partial(lake.store.upload, path, key) for key, path in local.items())
        files = lake.files()
        for table in lake.tables:
            if table.rel not in self.written:
                continue
            written = {}
            for item in lake.store.list(f"{table.rel}/{self.run_id}/"):
                inner = item.key[len(table.rel) + len(self.run_id) + 2:]
                if _reserved(inner.split("/")):
                    continue
                rel = f"{table.rel}/{inner}" if table.directory else table.rel
                written[rel] = {"size": item.size, "md5": item.etag, "key": item.key}
            written = _keep_unchanged(table, written, files)
            replaced = {table.unit(rel) for rel in written} if self.written[table.rel] else None
            for rel in [r for r in files if table.owns(r)]:
                if replaced is None or table.unit(rel) in replaced:
                    del files[rel]
            files.update(written)
        pointer = next_pointer(self.run_id, datetime.now(UTC).isoformat(timespec="seconds"), files,
                               retired(lake.tables, (lake.previous or {}).get("files", {}), files))
        lake.pointer.switch(pointer, lake.etag)
        self.published = True
        lake.pointer.collect(lake.tables, pointer, lake.previous)
        named = {meta["key"]: meta for meta in pointer["files"].values()}
        for key, path in local.items():
            if key not in named:  # a copy of a unit published before, which the pointer keeps naming
                path.unlink(missing_ok=True)
        if lake.cache is not None:
            lake.cache.adopt({key: named[key] for key in local if key in named})
            lake.cache.keep(set(named))
        lake.previous, lake.etag = lake.pointer.read()
        lake.added, lake.dropped = {}, set()
        return sorted(self.written)

    def discard(self) -> None:
        """Delete what this run wrote, unless the pointer already names it."""
        if self.published:
            return
        for table, path in self._local_outputs():
            if table.directory:
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self.lake.store.delete([key for rel in self.written for key in self.lake.store.keys(f"{rel}/{self.run_id}/")])


def _reserved(parts: Sequence[str]) -> bool:
    """Whether a path inside an output's version folder is the writer's own (``_SUCCESS``, ``.crc``), not data."""
    return any(part.startswith(("_", ".")) for part in parts)


def _keep_unchanged(table: Table, written: dict[str, dict[str, Any]],
                    files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a run wrote, with every unit (a file, or a partition folder) whose files are byte for byte those
    already published named by its published keys: a re-run re-points nothing (the catalog's partitions stay
    put), and the copies it wrote are garbage for the next collection.

    >>> t = Table("h", "h", "transformed", "h", "parquet", True)
    >>> old = {"transformed/h/y=1/p.parquet": {"size": 1, "md5": "a", "key": "transformed/h/r1/y=1/p.parquet"}}
    >>> new = {"transformed/h/y=1/p.parquet": {"size": 1, "md5": "a", "key": "transformed/h/r2/y=1/p.parquet"},
    ...        "transformed/h/y=2/p.parquet": {"size": 1, "md5": "b", "key": "transformed/h/r2/y=2/p.parquet"}}
    >>> sorted(m["key"] for m in _keep_unchanged(t, new, old).values())
    ['transformed/h/r1/y=1/p.parquet', 'transformed/h/r2/y=2/p.parquet']
    """
    units: dict[str, list[str]] = {}
    for rel in written:
        units.setdefault(table.unit(rel), []).append(rel)
    kept = dict(written)
    for unit, rels in units.items():
        published = {rel for rel in files if table.owns(rel) and table.unit(rel) == unit}
        if published == set(rels) and all(
                (files[rel]["size"], files[rel]["md5"]) == (written[rel]["size"], written[rel]["md5"]) for rel in rels):
            kept.update({rel: files[rel] for rel in rels})
    return kept
