"""An object lake's plans, as plain functions of its pointers: the next pointer, the inputs it retires, and
what garbage collection may delete. :mod:`footfall.lake.pointer` and :mod:`footfall.lake.objects` only carry
them out, so every decision here is testable without a store.

A pointer's ``files`` map each lake path to ``{"size", "md5", "key"}``: an input's key is its lake path, an
output's a version key of the run that wrote it (:meth:`footfall.lake.layout.Table.versioned_key`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from footfall.lake.layout import RUN_ID, Table, table_of

Files = Mapping[str, Mapping[str, Any]]


def retired(tables: Sequence[Table], old: Files, files: Files) -> list[str]:
    """Keys of the inputs ``old`` names and ``files`` no longer does."""
    return sorted(m["key"] for rel, m in old.items() if rel not in files and not table_of(tables, rel))


def plan_collect(tables: Sequence[Table], listed: Iterable[str], current: Mapping[str, Any],
                 previous: Mapping[str, Any] | None) -> list[str]:
    """Of the lake-relative keys ``listed``, what footfall wrote and neither pointer names: output versions
    (keys under a table's ``<run_id>/`` folders) and the inputs the previous pointer retired. Nothing else is
    ever deleted.

    >>> from footfall.lake.layout import Table
    >>> out = (Table("a", "a", "curated", "a.csv", "csv", False),)
    >>> now = {"files": {"curated/a.csv": {"key": "curated/a.csv/20240101T000000000000Z-2/a.csv"}}}
    >>> old, new = "curated/a.csv/20230101T000000000000Z-1/a.csv", "curated/a.csv/20240101T000000000000Z-2/a.csv"
    >>> plan_collect(out, [old, new, "curated/mine.txt"], now, None)
    ['curated/a.csv/20230101T000000000000Z-1/a.csv']
    """
    keep = {m["key"] for p in (current, previous) if p for m in p["files"].values()}
    retired = set((previous or {}).get("retired", []))
    versions = re.compile("^(?:" + "|".join(re.escape(t.rel) for t in tables) + ")/" + RUN_ID.pattern + "/")
    return [key for key in listed if key not in keep and (key in retired or (tables and versions.match(key)))]


def next_pointer(run_id: str, written_at: str, files: Files, retired: Sequence[str]) -> dict[str, Any]:
    """The pointer a run publishes: every file of the lake with its key, and the inputs it retired."""
    return {"format": 1, "run_id": run_id, "written_at": written_at, "files": dict(sorted(files.items())),
            "retired": list(retired)}
