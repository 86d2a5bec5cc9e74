"""The pointer: the one object that says which files make up an object lake's published state. A run
switches it by compare-and-swap, so of two writers one publishes and the other is told; garbage
collection then deletes only versions and retired inputs that neither the new nor the previous pointer
names, so a reader that read the previous pointer still finds its files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from footfall.errors import LakeError
from footfall.lake.layout import Table, inside
from footfall.lake.plan import plan_collect
from footfall.lake.store import ObjectStore
from footfall.spec import POINTER

__all__ = ["POINTER", "Pointer"]


@dataclass(frozen=True)
class Pointer:
    store: ObjectStore

    def read(self) -> tuple[dict[str, Any] | None, str | None]:
        """The published state and its ETag (which a switch must still find), or (None, None) for a lake
        nothing was ever published to. A pointer that names a path outside the zones is refused."""
        got = self.store.get(POINTER)
        if got is None:
            return None, None
        body, etag = got
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        where = self.store.location.rstrip("/") + "/" + POINTER
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise LakeError("the lake's pointer is not valid JSON from footfall", path=where)
        for rel, meta in data["files"].items():
            if not inside(rel) or not isinstance(meta, dict) or not inside(str(meta.get("key", ""))):
                raise LakeError(f"the lake's pointer names a path outside the lake: {rel!r}", path=where)
        return data, etag

    def switch(self, pointer: dict[str, Any], etag: str | None) -> None:
        """Publish ``pointer`` only if nobody did since ``etag`` was read."""
        self.store.put(POINTER, json.dumps(pointer, indent=1).encode(), if_match=etag)

    def collect(self, tables: Sequence[Table], current: dict[str, Any], previous: dict[str, Any] | None) -> int:
        """Delete what :func:`footfall.lake.plan.plan_collect` finds; other objects are never touched."""
        listed = self.store.keys("")
        doomed = plan_collect(tables, listed, current, previous)
        self.store.delete(doomed)
        return len(doomed)
