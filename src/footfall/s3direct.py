"""An S3 lake that an engine's executors read and write themselves: no working copy.

The driver reads the pointer once and resolves each source through it to object URIs (``s3a://`` for
Hadoop's S3A connector, ``s3://`` on Glue's EMRFS). The executors write every output under a version
prefix of its own (``<zone>/<output>/<run_id>/...``), invisible to readers. Publishing lists what was
written, builds the next pointer from the one this run read, and switches it with the same
compare-and-swap as a push: a failed run publishes nothing, and of two writers only one publishes.
Garbage collection is the push's own, so only footfall's objects are ever deleted.

New inputs (landed files, their parsed raw tables) are uploaded at their lake path before the run, as a
push uploads them; the single-node parse that makes them works in a temporary folder that is removed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from footfall.aws import S3Location, aws_errors, client
from footfall.errors import LakeError
from footfall.lake import Lake
from footfall.s3 import S3Lake, md5_file
from footfall.s3plan import next_pointer, retired
from footfall.spec import PipelineSpec, relative_path
from footfall.versions import OutputPath, new_run_id, output_paths


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
class DirectLake:
    """An S3 lake as an engine with its own S3 access sees it: a pointer read once, URIs out, a CAS in."""

    remote: S3Lake
    scheme: str = "s3a"
    previous: dict[str, Any] | None = None
    etag: str | None = None
    added: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, uri: str, spec: PipelineSpec, *, endpoint_url: str | None = None, scheme: str = "s3a",
             scratch: Path | None = None) -> DirectLake:
        location = S3Location.parse(uri)
        s3 = client("s3", endpoint_url)
        with aws_errors(location.uri()):
            s3.head_bucket(Bucket=location.bucket)
        remote = S3Lake(location, Lake(scratch or Path(tempfile.gettempdir())), output_paths(spec), s3)
        previous, etag = remote._read_pointer()
        return cls(remote, scheme, previous, etag)

    def __str__(self) -> str:
        return self.remote.location.uri()

    @property
    def root(self) -> Path:
        """The scratch folder on the driver: the only local path SQL on this lake may touch."""
        return self.remote.work.root

    @property
    def outputs(self) -> tuple[OutputPath, ...]:
        return self.remote.outputs

    def files(self) -> dict[str, dict[str, Any]]:
        """Every file the next pointer starts from: the published ones and this run's new inputs."""
        return {**(self.previous or {}).get("files", {}), **self.added}

    def uri(self, key: str) -> str:
        """The object URI an engine reads or writes, in the scheme its filesystem speaks."""
        return f"{self.scheme}://{self.remote.location.bucket}/{self.remote.location.key(key)}"

    # -- what the runner asks of a lake -------------------------------------------------------------

    def match(self, pattern: str, fmt: str) -> list[str]:
        """URIs of the files a source's path names (a folder stands for every ``*.<fmt>`` below it)."""
        files = self.files()
        folder = pattern.rstrip("/")
        if not any(c in folder for c in "*?[") and any(rel.startswith(folder + "/") for rel in files):
            regex = pattern_regex(f"{folder}/**/*.{fmt}")
        else:
            regex = pattern_regex(folder)
        return [self.uri(files[rel]["key"]) for rel in sorted(files) if regex.fullmatch(rel)]

    def stage(self, run_id: str | None = None) -> DirectStaging:
        return DirectStaging(self, run_id or new_run_id())

    # -- inputs ---------------------------------------------------------------------------------------

    def fetch(self, scratch: Lake, rels: Sequence[str]) -> None:
        """Download named lake files (manifests, a landed file still to parse) into a scratch lake."""
        files = self.files()
        for rel in rels:
            target = scratch.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            self.remote._download(files[rel]["key"], target, rel)

    def upload_inputs(self, scratch: Lake) -> list[str]:
        """Upload the scratch lake's new or changed inputs at their lake paths, data before manifests;
        they join the pointer when this run publishes."""
        files = self.files()
        local = S3Lake(self.remote.location, scratch, self.outputs, self.remote.s3).local_files()
        changed = []
        for rel, path in local.items():
            if self.remote._output_of(rel):
                continue
            md5 = md5_file(path)
            if rel in files and (files[rel]["size"], files[rel]["md5"]) == (path.stat().st_size, md5):
                continue
            changed.append((rel, path, md5))
        for manifests in (False, True):
            for rel, path, md5 in sorted(changed):
                if rel.endswith(".manifest.json") == manifests:
                    self.remote._upload(path, rel, rel, md5)
                    self.added[rel] = {"size": path.stat().st_size, "md5": md5, "key": rel}
        return [rel for rel, _, _ in changed]

    # -- publishing -----------------------------------------------------------------------------------

    def objects(self, prefix: str) -> list[dict[str, Any]]:
        """Every object under a lake-relative prefix."""
        location = self.remote.location
        found: list[dict[str, Any]] = []
        with aws_errors(location.uri(prefix)):
            pages = self.remote.s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket,
                                                                              Prefix=location.key(prefix))
            for page in pages:
                found.extend(page.get("Contents", []))
        return found

    def rel_of(self, key: str) -> str:
        prefix = self.remote.location.prefix
        return key[len(prefix) + 1:] if prefix else key


@dataclass
class DirectStaging:
    """One run's outputs, written by the engine under ``<output>/<run_id>/`` and published by the pointer."""

    lake: DirectLake
    run_id: str
    written: dict[str, bool] = field(default_factory=dict)  # output rel -> merge partitions
    published: bool = False

    def _output(self, zone: str, relpath: str) -> OutputPath:
        try:
            relative_path(relpath)
        except ValueError as e:
            raise LakeError(str(e)) from None
        rel = f"{zone}/{relpath}"
        found = next((o for o in self.lake.outputs if o.rel == rel), None)
        if found is None:
            raise LakeError(f"{rel} is not an output of this pipeline", path=str(self.lake))
        return found

    def path(self, zone: str, relpath: str) -> str:
        """The URI the engine writes: a file's versioned key, or a partitioned output's version folder."""
        output = self._output(zone, relpath)
        self.written.setdefault(output.rel, False)
        if output.directory:
            return self.lake.uri(f"{output.rel}/{self.run_id}")
        return self.lake.uri(output.versioned_key(output.rel, self.run_id))

    def mark_directory(self, zone: str, relpath: str, merge: bool = False) -> None:
        self.written[self._output(zone, relpath).rel] = merge

    def publish(self) -> list[str]:
        """Build the next pointer from the one this run read and what it wrote; switch it (compare-and-swap);
        then delete what neither pointer names, as a push does."""
        lake = self.lake
        files = lake.files()
        for output in lake.outputs:
            if output.rel not in self.written:
                continue
            written = {}
            for item in lake.objects(f"{output.rel}/{self.run_id}/"):
                inner = lake.rel_of(item["Key"])[len(output.rel) + len(self.run_id) + 2:]
                if any(part.startswith(("_", ".")) for part in inner.split("/")):
                    continue
                rel = f"{output.rel}/{inner}" if output.directory else output.rel
                written[rel] = {"size": int(item["Size"]), "md5": str(item["ETag"]).strip('"'),
                                "key": lake.rel_of(item["Key"])}
            replaced = {output.unit(rel) for rel in written} if self.written[output.rel] else None
            for rel in [r for r in files if output.owns(r)]:
                if replaced is None or output.unit(rel) in replaced:
                    del files[rel]
            files.update(written)
        pointer = next_pointer(self.run_id, datetime.now(UTC).isoformat(timespec="seconds"), files,
                               retired(lake.outputs, (lake.previous or {}).get("files", {}), files))
        lake.remote._switch(pointer, lake.etag)
        self.published = True
        lake.remote._collect(pointer, lake.previous)
        lake.previous, lake.etag = lake.remote._read_pointer()
        return sorted(self.written)

    def discard(self) -> None:
        """Delete what this run wrote, unless the pointer already names it."""
        if self.published:
            return
        doomed = [item["Key"] for rel in self.written for item in self.lake.objects(f"{rel}/{self.run_id}/")]
        with aws_errors(str(self.lake)):
            for start in range(0, len(doomed), 1000):
                self.lake.remote.s3.delete_objects(
                    Bucket=self.lake.remote.location.bucket,
                    Delete={"Objects": [{"Key": k} for k in doomed[start:start + 1000]], "Quiet": True})


@contextlib.contextmanager
def scratch_lake() -> Iterator[Lake]:
    """A temporary local lake for the single-node work (landing, parsing new files); always removed."""
    folder = Path(tempfile.mkdtemp(prefix="footfall-scratch-"))
    try:
        lake = Lake.at(folder)
        lake.ensure()
        yield lake
    finally:
        shutil.rmtree(folder, ignore_errors=True)
