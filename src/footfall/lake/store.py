"""Object stores, as a lake needs them: get, put-if-match, list, delete, and whole-file transfers, keyed by
lake-relative keys. S3 is one (:mod:`footfall.lake.s3`); a folder of files is another, which is how the tests
run every object-lake behaviour without a server and how a shared folder can hold a lake no lock reaches."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from footfall.errors import LakeError, escaped

TRANSFERS = 8  # object-store latency, not bandwidth, bounds many small files
CONFLICT = "another run published to this lake while this one ran; nothing of this run was published: run it again"


class Conflict(LakeError):
    """A put-if-match found another writer's object."""


@dataclass(frozen=True)
class StoredObject:
    key: str  # lake-relative
    size: int
    etag: str  # the content's MD5 for whole-file puts


class ObjectStore(Protocol):
    """A flat namespace of objects under one location."""

    @property
    def location(self) -> str:
        """How a person names it: s3://bucket/prefix, file:///folder."""

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when there is none."""

    def put(self, key: str, body: bytes, *, if_match: str | None) -> None:
        """Write only if the object's ETag is still ``if_match`` (None: only if there is no object); raise
        :class:`Conflict` otherwise. One writer of two wins."""

    def keys(self, prefix: str) -> list[str]:
        """The keys of :meth:`list`, for a caller that needs no more (a folder store then reads no file)."""

    def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with ``prefix``."""

    def delete(self, keys: Sequence[str]) -> None: ...

    def upload(self, path: Path, key: str) -> None: ...

    def download(self, key: str, path: Path) -> None: ...

    def uri(self, key: str) -> str:
        """How an engine names the object (a path for a folder, ``s3://bucket/key`` for S3)."""

    def filesystem(self) -> Any | None:
        """An fsspec filesystem serving :meth:`uri`, for an engine that reaches stores through one; None
        when the URIs are local paths."""


def transfer(calls: Iterable[Callable[[], None]]) -> None:
    """Run transfers a few at a time; the first failure is raised once they have all ended."""
    with ThreadPoolExecutor(max_workers=TRANSFERS) as pool:
        for done in [pool.submit(call) for call in calls]:
            done.result()


def md5_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


@dataclass(frozen=True)
class FolderStore:
    """Objects as files under a folder; ``put`` compares and swaps under an advisory lock of the folder."""

    root: Path

    @classmethod
    def open(cls, location: str) -> FolderStore:
        """``file:///absolute/folder``."""
        path = Path(location.removeprefix("file://")).expanduser()
        if not location.startswith("file:///"):
            raise LakeError("not a folder object store (file:///absolute/folder)", path=location)
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            raise LakeError("the lake's path is not UTF-8 text", path=escaped(str(path))) from None
        path.mkdir(parents=True, exist_ok=True)
        return cls(path.resolve())

    @property
    def location(self) -> str:
        return f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> tuple[bytes, str] | None:
        try:
            body = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return body, hashlib.md5(body, usedforsecurity=False).hexdigest()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / ".store.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def put(self, key: str, body: bytes, *, if_match: str | None) -> None:
        with self._locked():
            now = self.get(key)
            if (now[1] if now else None) != if_match:
                raise Conflict(CONFLICT, path=self.location)
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(body)
            os.replace(tmp, path)

    def keys(self, prefix: str) -> list[str]:
        found = []
        for here, _, files in os.walk(self.root / prefix.rpartition("/")[0]):
            for name in files:
                key = Path(here, name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and not name.startswith("."):
                    found.append(key)
        return sorted(found)

    def list(self, prefix: str) -> list[StoredObject]:
        return [StoredObject(key, self._path(key).stat().st_size, md5_file(self._path(key)))
                for key in self.keys(prefix)]

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            for folder in path.parents:  # the folders that deleting left empty
                if folder == self.root:
                    break
                try:
                    folder.rmdir()
                except OSError:
                    break

    def upload(self, path: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)

    def download(self, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        try:
            shutil.copyfile(self._path(key), tmp)
        except FileNotFoundError:
            raise LakeError("an object the lake's pointer names is missing", path=str(self._path(key))) from None
        os.replace(tmp, path)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def filesystem(self) -> Any | None:
        return None
