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
from pathlib import Path, PurePosixPath
from typing import Any

from footfall.errors import LakeError
from footfall.lake import STAGING, VERSIONS, Lake, new_run_id
from footfall.spec import ZONES, PipelineSpec, relative_path

POINTER = "_current.json"
STATE = ".s3-state.json"
TRANSFERS = 8
RUN_ID = r"\d{8}T\d{12}Z-\d+"  # footfall.lake.new_run_id()
SKIP = {STAGING, VERSIONS, "_spill", "_incoming"}
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
          "UnrecognizedClientException", "AccessDeniedException", "403", "InvalidClientTokenId"}


CONFLICT = "another run published to this lake while this one ran; nothing of this run was published: run it again"


def is_s3(location: str | Path) -> bool:
    return str(location).startswith("s3://")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """An ``s3://bucket/prefix`` URI; the prefix must stay a plain relative path.

        >>> S3Location.parse("s3://lake/melbourne/")
        S3Location(bucket='lake', prefix='melbourne')
        >>> S3Location.parse("s3://lake").uri("curated/top10_by_day.csv")
        's3://lake/curated/top10_by_day.csv'
        >>> S3Location.parse("s3://lake/../x")
        Traceback (most recent call last):
        ...
        footfall.errors.LakeError: s3://lake/../x: not an S3 lake location (s3://bucket/prefix, no '..')
        """
        match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?", uri)
        prefix = (match.group(2) or "").strip("/") if match else ""
        try:
            if not match or (prefix and relative_path(prefix) and "//" in prefix):
                raise ValueError
        except ValueError:
            raise LakeError("not an S3 lake location (s3://bucket/prefix, no '..')", path=uri) from None
        return cls(match.group(1), prefix)

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def uri(self, rel: str = "") -> str:
        key = self.key(rel) if rel else self.prefix
        return f"s3://{self.bucket}/{key}".rstrip("/") if key else f"s3://{self.bucket}"

    def __str__(self) -> str:
        return self.uri()


@contextlib.contextmanager
def aws_errors(where: str) -> Iterator[None]:
    """Turn the AWS SDK's exceptions into one line that says what to do (and never echoes a secret)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        operation = e.operation_name
        if code in ("NoSuchBucket",) or (code == "404" and operation == "HeadBucket"):
            raise LakeError("the bucket does not exist (create it first, or check the name)", path=where) from None
        if code in DENIED or status == 403:
            raise LakeError(f"access denied ({code or status} on {operation}): check the AWS credentials and "
                            "their permissions", path=where) from None
        raise LakeError(f"S3/Glue request {operation} failed: {code or status}", path=where) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise LakeError("no AWS credentials found (environment, ~/.aws, or an instance role)", path=where) from None
    except NoRegionError:
        raise LakeError("no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION)", path=where) from None
    except EndpointConnectionError as e:
        raise LakeError(f"cannot reach {e.kwargs.get('endpoint_url', 'the endpoint')}", path=where) from None
    except BotoCoreError as e:
        raise LakeError(f"AWS SDK error: {type(e).__name__}", path=where) from None


def client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client with the standard credential chain; ``AWS_ENDPOINT_URL`` is honoured by boto3 itself."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise LakeError("S3 lakes need boto3: pip install 'footfall[aws]'") from None
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=120)
    region = region or os.environ.get("AWS_REGION") or None  # the name AWS's other SDKs and Lambda/Glue use
    with aws_errors(service):
        return boto3.client(service, endpoint_url=endpoint_url or None, region_name=region, config=config)


def md5_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


@dataclass(frozen=True)
class OutputPath:
    """Where a pipeline publishes inside the lake: one file, or a directory of (partitioned) files."""

    zone: str
    relpath: str
    directory: bool

    @property
    def rel(self) -> str:
        return f"{self.zone}/{self.relpath}"

    def owns(self, rel: str) -> bool:
        return rel == self.rel if not self.directory else rel.startswith(self.rel + "/")

    def unit(self, rel: str) -> str:
        """The group of files that is versioned together: the file itself, or its partition folder."""
        return rel if not self.directory else str(PurePosixPath(rel).parent)

    def versioned_key(self, rel: str, run_id: str) -> str:
        """``curated/top10_by_day.csv`` -> ``curated/top10_by_day.csv/<run_id>/top10_by_day.csv``;
        ``transformed/hourly_counts/year=2024/x.parquet`` -> ``transformed/hourly_counts/<run_id>/year=2024/x.parquet``.
        """
        inner = PurePosixPath(rel).name if not self.directory else rel[len(self.rel) + 1:]
        return f"{self.rel}/{run_id}/{inner}"


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
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {"pointer": None, "hashes": {}}

    def _save_state(self, pointer: dict[str, Any] | None, hashes: dict[str, Any]) -> None:
        path = self.work.root / STATE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"pointer": pointer, "hashes": hashes}))
        os.replace(tmp, path)

    # -- local files ---------------------------------------------------------------------------

    def _output_of(self, rel: str) -> OutputPath | None:
        return next((o for o in self.outputs if o.owns(rel)), None)

    def local_files(self) -> dict[str, Path]:
        """Every file of the working copy's zones, by lake-relative path (skipping scratch and markers)."""
        found: dict[str, Path] = {}
        for zone in ZONES:
            top = self.work.root / zone
            for folder, dirs, files in os.walk(top, followlinks=True):
                dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".")]
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
            return cached[2]
        digest = md5_file(path)
        hashes[rel] = [stat.st_size, stat.st_mtime_ns, digest]
        return digest

    # -- pull ----------------------------------------------------------------------------------

    def pull(self, inputs: bool = True, only: Sequence[str] = ()) -> Transfer:
        """Make the working copy match the pointer: outputs exactly, inputs at least (local inputs not yet
        pushed are kept, they belong to the next push). ``inputs=False`` is for readers, who may name the
        lake paths (or folder prefixes) they read in ``only`` and download nothing else."""
        done = Transfer()
        pointer = self.pointer()
        state = self._state()
        hashes: dict[str, Any] = state.get("hashes", {})
        wanted = (pointer or {}).get("files", {})
        in_sync = pointer is not None and state.get("pointer") == pointer
        self._save_state(None, hashes)
        local = self.local_files()
        downloads: list[tuple[str, str, Path, int]] = []
        for rel, path in local.items():
            if self._output_of(rel) and rel not in wanted:
                path.unlink()
                done.deleted += 1
        for rel, meta in sorted(wanted.items()):
            if (not inputs and not self._output_of(rel)) or (only and not rel.startswith(tuple(only))):
                continue
            path = local.get(rel)
            if path is not None and (in_sync or (path.stat().st_size == meta["size"]
                                                 and self._hash(rel, path, hashes) == meta["md5"])):
                done.kept += 1
                continue
            downloads.append((rel, meta["key"], path or self._local_target(rel), meta["size"]))
        self._transfer(f"pulling from {self}", [
            (size, lambda progress, key=key, target=target, rel=rel: self._download(key, target, rel, progress))
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
        """Upload what changed, then switch readers with one PUT of the pointer, then collect garbage."""
        run_id = run_id or new_run_id()
        done = Transfer()
        previous, etag = self._read_pointer()
        if previous != self._pulled:
            raise LakeError(CONFLICT, path=self.location.uri())
        old = (previous or {}).get("files", {})
        state = self._state()
        hashes: dict[str, Any] = state.get("hashes", {})
        local = self.local_files()
        files: dict[str, dict[str, Any]] = {}
        for rel, path in local.items():
            files[rel] = {"size": path.stat().st_size, "md5": self._hash(rel, path, hashes)}
        hashes = {rel: entry for rel, entry in hashes.items() if rel in files}
        changed_units = {
            o.unit(rel) for rel, meta in files.items() if (o := self._output_of(rel))
            and (rel not in old or (old[rel]["size"], old[rel]["md5"]) != (meta["size"], meta["md5"]))}
        changed_units |= {o.unit(rel) for rel in old if (o := self._output_of(rel)) and rel not in files}
        uploads: list[tuple[str, str]] = []
        for rel, meta in files.items():
            output = self._output_of(rel)
            if output is None:
                meta["key"] = rel
                unchanged = rel in old and (old[rel]["size"], old[rel]["md5"]) == (meta["size"], meta["md5"])
            else:
                unchanged = output.unit(rel) not in changed_units
                meta["key"] = old[rel]["key"] if unchanged else output.versioned_key(rel, run_id)
            if unchanged:
                done.kept += 1
            else:
                uploads.append((rel, meta["key"]))
        # Data before manifests, so a manifest on S3 always has its file.
        for manifests in (False, True):
            self._transfer(f"pushing to {self}", [
                (files[rel]["size"], lambda progress, rel=rel, key=key: self._upload(
                    local[rel], key, rel, files[rel]["md5"], progress=progress))
                for rel, key in sorted(uploads) if rel.endswith(".manifest.json") == manifests])
        done.files = len(uploads)
        done.bytes = sum(files[rel]["size"] for rel, _ in uploads)
        retired = sorted(m["key"] for rel, m in old.items() if rel not in files and not self._output_of(rel))
        pointer = {"format": 1, "run_id": run_id, "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
                   "files": dict(sorted(files.items())), "retired": retired}
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
        """Delete what footfall wrote and neither pointer names: output versions (keys under an output's
        ``<run_id>/`` folders) and the inputs the previous push retired. Other objects are never touched."""
        keep = {self.location.key(m["key"]) for p in (current, previous) if p for m in p["files"].values()}
        retired = {self.location.key(k) for k in (previous or {}).get("retired", [])}
        versions = re.compile("^(?:" + "|".join(re.escape(o.rel) for o in self.outputs) + ")/" + RUN_ID + "/")
        doomed: list[str] = []
        with aws_errors(self.location.uri()):
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=self.location.key("") if self.location.prefix else "")
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    rel = key[len(self.location.prefix) + 1:] if self.location.prefix else key
                    if key not in keep and (key in retired or (self.outputs and versions.match(rel))):
                        doomed.append(key)
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


def output_paths(spec: PipelineSpec) -> tuple[OutputPath, ...]:
    return tuple(OutputPath(o.zone, o.relpath, bool(o.partition_by)) for o in spec.outputs)


@contextlib.contextmanager
def working_copy(uri: str, spec: PipelineSpec, *, write: bool, endpoint_url: str | None = None,
                 work_dir: str | Path | None = None, reads: Sequence[str] = (),
                 progress: Callable[[str], Callable[[int, int | None], None]] | None = None) -> Iterator[S3Lake]:
    """Pull, hand the local copy to the caller, push when it succeeds (``write``), all under the copy's lock.

    Readers (``write=False``) pull the outputs only, or only those under ``reads``. A failure leaves S3 as it
    was and makes the next pull verify the working copy file by file."""
    remote = S3Lake.open(uri, output_paths(spec), endpoint_url=endpoint_url, work_dir=work_dir)
    remote.progress = progress
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
