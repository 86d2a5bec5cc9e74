"""The lake on S3: the system of record, worked on through a local copy.

Engines read and write local files (no DuckDB extension to download, no per-read network
round trip), so a run pulls what it needs into a working copy, runs as on disk, and pushes back.
S3 holds two kinds of objects under the lake's prefix:

* **inputs** (landed files, their parsed raw tables): stored at their lake path, immutable in
  practice, uploaded when new or changed;
* **outputs** (what the pipeline publishes): stored under a version folder of their own,
  ``<zone>/<output>/<run_id>/...``, never overwritten; an unchanged file or partition keeps
  the key of the run that wrote it.

``_current.json``, written last with one PUT, lists every file of the lake with its key, size
and MD5. Readers resolve files through it only, so a push that fails midway leaves the previous
pointer, and every object it names, exactly as they were. A successful push then deletes what
neither the new nor the previous pointer names (a failed run's uploads, superseded versions),
so a reader that fetched the old pointer a moment ago can still read its files. One writer at
a time per lake.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from footfall.aws import S3Location, aws_errors, client
from footfall.errors import LakeError
from footfall.journal import STAGING, VERSIONS
from footfall.lake import Lake
from footfall.s3plan import next_pointer, plan_collect, plan_pull, plan_push
from footfall.spec import ZONES, PipelineSpec, relative_path
from footfall.versions import OutputPath, new_run_id, output_of, output_paths, write_json

POINTER = "_current.json"
STATE = ".s3-state.json"
TRANSFERS = 8
CONFLICT = "another run published to this lake while this one ran; nothing of this run was published: run it again"


def md5_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


@dataclass
class Transfer:
    files: int = 0
    bytes: int = 0
    kept: int = 0
    deleted: int = 0


@dataclass
class S3Lake:
    """An S3 lake and its local working copy (a plain :class:`Lake` the engines run on)."""

    location: S3Location
    work: Lake
    outputs: tuple[OutputPath, ...]
    s3: Any
    progress: Callable[[str], Callable[[int, int | None], None]] | None = None  # a bar per transfer: label -> update
    scratch: tuple[str, ...] = ()  # lake-relative folders that hold only temporaries, never pushed
    pulled: Transfer = field(default_factory=Transfer)
    pushed: Transfer | None = None
    _pulled: dict[str, Any] | None = None

    @classmethod
    def open(cls, uri: str, outputs: Sequence[OutputPath], *, endpoint_url: str | None = None,
             work_dir: str | Path | None = None) -> S3Lake:
        location = S3Location.parse(uri)
        work = Lake.at(work_dir or default_work_dir(location, endpoint_url))
        s3 = client("s3", endpoint_url)
        with aws_errors(location.uri()):
            s3.head_bucket(Bucket=location.bucket)
        work.ensure()
        return cls(location, work, tuple(outputs), s3)

    def __str__(self) -> str:
        return self.location.uri()

    # -- the pointer ---------------------------------------------------------------------------

    def pointer(self) -> dict[str, Any] | None:
        """The published state, or None for a lake nothing was ever pushed to."""
        return self._read_pointer()[0]

    def _read_pointer(self) -> tuple[dict[str, Any] | None, str | None]:
        """The pointer and its ETag, which the next push must still find there (compare-and-swap)."""
        with aws_errors(self.location.uri(POINTER)):
            try:
                got = self.s3.get_object(Bucket=self.location.bucket, Key=self.location.key(POINTER))
            except self.s3.exceptions.NoSuchKey:
                return None, None
            body = got["Body"].read()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise LakeError("the lake's pointer is not valid JSON from footfall", path=self.location.uri(POINTER))
        for rel, meta in data["files"].items():
            if not _inside(rel) or not isinstance(meta, dict) or not _inside(str(meta.get("key", ""))):
                raise LakeError(f"the lake's pointer names a path outside the lake: {rel!r}",
                                path=self.location.uri(POINTER))
        return data, got["ETag"]

    def _switch(self, pointer: dict[str, Any], etag: str | None) -> None:
        """Write the pointer only if nobody else did since this run read it: one writer wins, the other is told."""
        from botocore.exceptions import ClientError

        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(Bucket=self.location.bucket, Key=self.location.key(POINTER),
                               Body=json.dumps(pointer, indent=1).encode(), ContentType="application/json",
                               **condition)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise LakeError(CONFLICT, path=self.location.uri()) from None
            with aws_errors(self.location.uri(POINTER)):
                raise

    def _state(self) -> dict[str, Any]:
        path = self.work.root / STATE
        try:
            state: dict[str, Any] = json.loads(path.read_text())
            return state
        except (OSError, ValueError):
            return {"pointer": None, "hashes": {}}

    def _save_state(self, pointer: dict[str, Any] | None, hashes: dict[str, Any]) -> None:
        write_json(self.work.root / STATE, {"pointer": pointer, "hashes": hashes})

    # -- local files ---------------------------------------------------------------------------

    def _output_of(self, rel: str) -> OutputPath | None:
        return output_of(self.outputs, rel)

    def local_files(self) -> dict[str, Path]:
        """Every file of the working copy's zones, by lake-relative path (skipping scratch and markers)."""
        found: dict[str, Path] = {}
        for zone in ZONES:
            top = self.work.root / zone
            for folder, dirs, files in os.walk(top, followlinks=True):
                here = Path(folder).relative_to(self.work.root)
                dirs[:] = [d for d in dirs if d not in (STAGING, VERSIONS) and not d.startswith(".")
                           and (here / d).as_posix() not in self.scratch]
                for name in files:
                    if name.startswith((".", "_")) or name.endswith((".part", ".tmp")):
                        continue
                    path = Path(folder, name)
                    found[path.relative_to(self.work.root).as_posix()] = path
        return found

    def _hash(self, rel: str, path: Path, hashes: dict[str, Any]) -> str:
        stat = path.stat()
        cached = hashes.get(rel)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return str(cached[2])
        digest = md5_file(path)
        hashes[rel] = [stat.st_size, stat.st_mtime_ns, digest]
        return digest

    # -- pull ----------------------------------------------------------------------------------

    def pull(self, inputs: bool = True, only: Sequence[str] = ()) -> Transfer:
        """Make the working copy match the pointer (:func:`footfall.s3plan.plan_pull`)."""
        done = Transfer()
        pointer = self.pointer()
        state = self._state()
        hashes: dict[str, Any] = state.get("hashes", {})
        wanted = (pointer or {}).get("files", {})
        in_sync = pointer is not None and state.get("pointer") == pointer
        self._save_state(None, hashes)
        local = self.local_files()

        def same(rel: str) -> bool:
            return in_sync or (local[rel].stat().st_size == wanted[rel]["size"]
                               and self._hash(rel, local[rel], hashes) == wanted[rel]["md5"])

        plan = plan_pull(self.outputs, wanted, local, same, inputs=inputs, only=only)
        for rel in plan.delete:
            local[rel].unlink()
        done.deleted, done.kept = len(plan.delete), plan.kept
        downloads = [(rel, key, local.get(rel) or self._local_target(rel), size) for rel, key, size in plan.download]
        self._transfer(f"pulling from {self}", [
            (size, partial(self._download, key, target, rel))
            for rel, key, target, size in downloads])
        for rel, _, target, size in downloads:
            self._hash(rel, target, hashes)
            done.files += 1
            done.bytes += size
        self._pulled = pointer
        self._save_state(pointer if inputs else None, hashes)
        return done

    def _local_target(self, rel: str) -> Path:
        """Where a pulled file goes; a directory output that is a symlink is written through it."""
        zone, _, inner = rel.partition("/")
        output = self._output_of(rel)
        if output and output.directory:
            root = self.work.path(output.zone, output.relpath)
            return (root.resolve() if root.exists() else root) / rel[len(output.rel) + 1:]
        return self.work.path(zone, inner)

    def _download(self, key: str, target: Path, rel: str, progress: Callable[[int], None] | None = None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        with aws_errors(self.location.uri(rel)):
            self.s3.download_file(self.location.bucket, self.location.key(key), str(tmp), Callback=progress)
        os.replace(tmp, target)

    def _transfer(self, label: str, jobs: list[tuple[int, Callable[[Callable[[int], None]], None]]]) -> None:
        """Run transfers a few at a time (S3 latency, not bandwidth, bounds many small files), with one byte
        counter for a progress bar; the first failure cancels what has not started and is raised."""
        if not jobs:
            return
        total, moved, guard = sum(size for size, _ in jobs), [0], threading.Lock()
        update = self.progress(label) if self.progress else None

        def count(chunk: int) -> None:
            with guard:
                moved[0] += chunk
                if update:
                    update(moved[0], total)

        with ThreadPoolExecutor(max_workers=TRANSFERS) as pool:
            futures = [pool.submit(job, count) for _, job in jobs]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise

    # -- push ----------------------------------------------------------------------------------

    def push(self, run_id: str | None = None) -> Transfer:
        """Upload what changed, then switch readers with one PUT of the pointer, then collect garbage
        (:func:`footfall.s3plan.plan_push`)."""
        run_id = run_id or new_run_id()
        previous, etag = self._read_pointer()
        if previous != self._pulled:
            raise LakeError(CONFLICT, path=self.location.uri())
        hashes: dict[str, Any] = self._state().get("hashes", {})
        local = self.local_files()
        sizes = {rel: {"size": p.stat().st_size, "md5": self._hash(rel, p, hashes)} for rel, p in local.items()}
        hashes = {rel: entry for rel, entry in hashes.items() if rel in sizes}
        plan = plan_push(self.outputs, (previous or {}).get("files", {}), sizes, run_id)
        for manifests in (False, True):  # data before manifests, so a manifest on S3 always has its file
            self._transfer(f"pushing to {self}", [
                (plan.files[rel]["size"], partial(self._upload, local[rel], key, rel, plan.files[rel]["md5"]))
                for rel, key in plan.upload if rel.endswith(".manifest.json") == manifests])
        done = Transfer(files=len(plan.upload), bytes=sum(plan.files[rel]["size"] for rel, _ in plan.upload),
                        kept=plan.kept)
        pointer = next_pointer(run_id, datetime.now(UTC).isoformat(timespec="seconds"), plan.files, plan.retired)
        if previous is not None and pointer["files"] == previous["files"]:
            self._save_state(previous, hashes)
            return done
        self._switch(pointer, etag)
        self._pulled = pointer
        self._save_state(pointer, hashes)
        done.deleted = self._collect(pointer, previous)
        return done

    def _upload(self, path: Path, key: str, rel: str, md5: str, progress: Callable[[int], None] | None = None) -> None:
        with aws_errors(self.location.uri(rel)):
            self.s3.upload_file(str(path), self.location.bucket, self.location.key(key),
                                ExtraArgs={"Metadata": {"md5": md5}}, Callback=progress)

    def _collect(self, current: dict[str, Any], previous: dict[str, Any] | None) -> int:
        """Delete what :func:`footfall.s3plan.plan_collect` finds; other objects are never touched."""
        prefix = self.location.key("") if self.location.prefix else ""
        with aws_errors(self.location.uri()):
            listed = [item["Key"][len(prefix):] for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=prefix) for item in page.get("Contents", [])]
            doomed = [self.location.key(k) for k in plan_collect(self.outputs, listed, current, previous)]
            for start in range(0, len(doomed), 1000):
                batch = doomed[start:start + 1000]
                self.s3.delete_objects(Bucket=self.location.bucket,
                                       Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        return len(doomed)

    def invalidate(self) -> None:
        """Forget that the working copy matches S3 (after a failed run), so the next pull verifies it."""
        state = self._state()
        self._save_state(None, state.get("hashes", {}))


def _inside(rel: str) -> bool:
    """A lake path from S3 must stay in a zone: a tampered pointer cannot make a pull write elsewhere.

    >>> _inside("curated/top10_by_day.csv"), _inside("curated/../../etc/passwd"), _inside("/etc/passwd")
    (True, False, False)
    """
    try:
        relative_path(rel)
    except ValueError:
        return False
    return rel.split("/", 1)[0] in ZONES


def default_work_dir(location: S3Location, endpoint_url: str | None = None) -> Path:
    """One working copy per lake (and endpoint), under the user's cache directory."""
    base = Path(os.environ.get("FOOTFALL_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "footfall")
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "aws"
    tag = hashlib.sha256(f"{endpoint}|{location.uri()}".encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9.-]+", "-", f"{location.bucket}-{location.prefix}").strip("-")
    return base.expanduser() / "lakes" / f"{name}-{tag}"


@contextlib.contextmanager
def working_copy(uri: str, spec: PipelineSpec, *, write: bool, endpoint_url: str | None = None,
                 work_dir: str | Path | None = None, reads: Sequence[str] = (), scratch: Sequence[str] = (),
                 progress: Callable[[str], Callable[[int, int | None], None]] | None = None) -> Iterator[S3Lake]:
    """Pull, hand the local copy to the caller, push when it succeeds (``write``), all under the copy's lock,
    which is taken here once: the caller works on ``remote.work`` as held.

    Readers (``write=False``) pull the outputs only, or only those under ``reads``. A failure leaves S3 as it
    was and makes the next pull verify the working copy file by file."""
    remote = S3Lake.open(uri, output_paths(spec), endpoint_url=endpoint_url, work_dir=work_dir)
    remote.progress, remote.scratch = progress, tuple(scratch)
    with remote.work.lock():
        remote.pulled = remote.pull(inputs=write, only=() if write else reads)
        try:
            yield remote
            if write:
                remote.pushed = remote.push()
        except BaseException:
            if write:
                remote.invalidate()
            raise
