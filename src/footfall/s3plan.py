"""The S3 lake's plan, as plain functions of the pointer and the working copy: what to pull, what to push
under which key, what to retire and what to delete. :mod:`footfall.s3` only carries the plans out, so
every decision here is testable without a server.

A pointer's ``files`` map each lake path to ``{"size", "md5", "key"}``: an input's key is its lake path,
an output's is a version key of the run that wrote it (:meth:`OutputPath.versioned_key`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from footfall.versions import RUN_ID, OutputPath, output_of

Files = Mapping[str, Mapping[str, Any]]


@dataclass
class PullPlan:
    delete: list[str] = field(default_factory=list)  # outputs here that the pointer no longer names
    download: list[tuple[str, str, int]] = field(default_factory=list)  # (rel, key, size)
    kept: int = 0


def plan_pull(outputs: Sequence[OutputPath], wanted: Files, local: Iterable[str], same: Callable[[str], bool], *,
              inputs: bool, only: Sequence[str] = ()) -> PullPlan:
    """Make the working copy match the pointer (``wanted``): outputs exactly, inputs at least (local inputs
    not yet pushed belong to the next push). Readers (``inputs=False``) take outputs only, only those under
    ``only`` when given. ``same(rel)`` says whether the local file already holds the pointer's bytes.

    >>> out = (OutputPath("curated", "a.csv", False),)
    >>> plan = plan_pull(out, {"curated/a.csv": {"size": 1, "md5": "m", "key": "curated/a.csv/r/a.csv"},
    ...                        "landing/x.csv": {"size": 2, "md5": "n", "key": "landing/x.csv"}},
    ...                  ["curated/b.csv", "landing/x.csv"], lambda rel: True, inputs=False)
    >>> plan.download, plan.kept
    ([('curated/a.csv', 'curated/a.csv/r/a.csv', 1)], 0)
    """
    plan = PullPlan()
    here = set(local)
    plan.delete = [rel for rel in sorted(here) if output_of(tuple(outputs), rel) and rel not in wanted]
    for rel, meta in sorted(wanted.items()):
        if (not inputs and not output_of(tuple(outputs), rel)) or (only and not rel.startswith(tuple(only))):
            continue
        if rel in here and same(rel):
            plan.kept += 1
            continue
        plan.download.append((rel, meta["key"], meta["size"]))
    return plan


@dataclass
class PushPlan:
    files: dict[str, dict[str, Any]]  # the next pointer's files, each with its key
    upload: list[tuple[str, str]]  # (rel, key), data before manifests
    kept: int
    retired: list[str]  # keys of inputs the new pointer drops, deleted by the push after next


def plan_push(outputs: Sequence[OutputPath], old: Files, local: Mapping[str, Mapping[str, Any]],
              run_id: str) -> PushPlan:
    """What this working copy (``local``: rel -> size, md5) publishes over the pointer ``old``. Inputs keep
    their lake path as key and upload when new or changed; an output's file or partition that changed goes
    under this run's version key, and an unchanged one keeps the key of the run that wrote it.

    >>> out = (OutputPath("curated", "a.csv", False),)
    >>> old = {"curated/a.csv": {"size": 1, "md5": "m", "key": "curated/a.csv/r1/a.csv"},
    ...        "landing/gone.csv": {"size": 1, "md5": "g", "key": "landing/gone.csv"}}
    >>> plan = plan_push(out, old, {"curated/a.csv": {"size": 1, "md5": "m"}}, "r2")
    >>> plan.upload, plan.kept, plan.retired, plan.files["curated/a.csv"]["key"]
    ([], 1, ['landing/gone.csv'], 'curated/a.csv/r1/a.csv')
    """
    owned = tuple(outputs)

    def changed(rel: str, meta: Mapping[str, Any]) -> bool:
        return rel not in old or (old[rel]["size"], old[rel]["md5"]) != (meta["size"], meta["md5"])

    changed_units = {o.unit(rel) for rel, meta in local.items() if (o := output_of(owned, rel)) and changed(rel, meta)}
    changed_units |= {o.unit(rel) for rel in old if (o := output_of(owned, rel)) and rel not in local}
    files: dict[str, dict[str, Any]] = {}
    upload: list[tuple[str, str]] = []
    kept = 0
    for rel, meta in local.items():
        output = output_of(owned, rel)
        if output is None:
            key, unchanged = rel, not changed(rel, meta)
        else:
            unchanged = output.unit(rel) not in changed_units
            key = old[rel]["key"] if unchanged else output.versioned_key(rel, run_id)
        files[rel] = {"size": meta["size"], "md5": meta["md5"], "key": key}
        if unchanged:
            kept += 1
        else:
            upload.append((rel, key))
    upload.sort(key=lambda item: (item[0].endswith(".manifest.json"), item[0]))
    return PushPlan(dict(sorted(files.items())), upload, kept, retired(owned, old, files))


def retired(outputs: Sequence[OutputPath], old: Files, files: Files) -> list[str]:
    """Keys of the inputs ``old`` names and ``files`` no longer does."""
    return sorted(m["key"] for rel, m in old.items() if rel not in files and not output_of(tuple(outputs), rel))


def plan_collect(outputs: Sequence[OutputPath], listed: Iterable[str], current: Mapping[str, Any],
                 previous: Mapping[str, Any] | None) -> list[str]:
    """Of the lake-relative keys ``listed``, what footfall wrote and neither pointer names: output versions
    (keys under an output's ``<run_id>/`` folders) and the inputs the previous pointer retired. Nothing
    else is ever deleted.

    >>> out = (OutputPath("curated", "a.csv", False),)
    >>> now = {"files": {"curated/a.csv": {"key": "curated/a.csv/20240101T000000000000Z-2/a.csv"}}}
    >>> old, new = "curated/a.csv/20230101T000000000000Z-1/a.csv", "curated/a.csv/20240101T000000000000Z-2/a.csv"
    >>> plan_collect(out, [old, new, "curated/mine.txt"], now, None)
    ['curated/a.csv/20230101T000000000000Z-1/a.csv']
    """
    keep = {m["key"] for p in (current, previous) if p for m in p["files"].values()}
    retired = set((previous or {}).get("retired", []))
    versions = re.compile("^(?:" + "|".join(re.escape(o.rel) for o in outputs) + ")/" + RUN_ID.pattern + "/")
    return [key for key in listed if key not in keep and (key in retired or (outputs and versions.match(key)))]


def next_pointer(run_id: str, written_at: str, files: Files, retired: Sequence[str]) -> dict[str, Any]:
    """The pointer a run publishes: every file of the lake with its key, and the inputs it retired."""
    return {"format": 1, "run_id": run_id, "written_at": written_at, "files": dict(sorted(files.items())),
            "retired": list(retired)}
