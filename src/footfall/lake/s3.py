"""S3 as an object store (:class:`footfall.lake.store.ObjectStore`): boto3 for the lake's own requests, and
pyarrow's S3 client behind an fsspec filesystem for an engine that reaches S3 through one (DuckDB)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footfall.aws import S3Location, aws_errors, client
from footfall.errors import LakeError
from footfall.extras import require
from footfall.lake.store import CONFLICT, Conflict, StoredObject, md5_file

TRANSFER_CHUNK = 8 * 2**20


@dataclass(frozen=True)
class S3Store:
    """Objects under ``s3://bucket/prefix``; ``endpoint`` for an S3-compatible server, ``region`` as resolved."""

    where: S3Location
    endpoint: str | None = None
    region: str | None = None
    s3: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def open(cls, location: str, endpoint: str | None = None, region: str | None = None) -> S3Store:
        where = S3Location.parse(location)
        s3 = client("s3", endpoint, region)
        with aws_errors(where.uri()):
            s3.head_bucket(Bucket=where.bucket)
        return cls(where, endpoint, region, s3)

    @property
    def location(self) -> str:
        return self.where.uri()

    def get(self, key: str) -> tuple[bytes, str] | None:
        with aws_errors(self.where.uri(key)):
            try:
                got = self.s3.get_object(Bucket=self.where.bucket, Key=self.where.key(key))
            except self.s3.exceptions.NoSuchKey:
                return None
            return got["Body"].read(), str(got["ETag"])

    def put(self, key: str, body: bytes, *, if_match: str | None) -> None:
        from botocore.exceptions import ClientError

        condition = {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(Bucket=self.where.bucket, Key=self.where.key(key), Body=body,
                               ContentType="application/json", **condition)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise Conflict(CONFLICT, path=self.location) from None
            with aws_errors(self.where.uri(key)):
                raise

    def keys(self, prefix: str) -> list[str]:
        return [o.key for o in self.list(prefix)]

    def list(self, prefix: str) -> list[StoredObject]:
        base = self.where.key("") if self.where.prefix else ""
        found: list[StoredObject] = []
        with aws_errors(self.where.uri(prefix)):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.where.bucket,
                                                                          Prefix=self.where.key(prefix)):
                found.extend(StoredObject(item["Key"][len(base):], int(item["Size"]), str(item["ETag"]).strip('"'))
                             for item in page.get("Contents", []) if not item["Key"].endswith("/"))
        return found

    def delete(self, keys: Sequence[str]) -> None:
        with aws_errors(self.location):
            for start in range(0, len(keys), 1000):
                self.s3.delete_objects(Bucket=self.where.bucket, Delete={
                    "Objects": [{"Key": self.where.key(k)} for k in keys[start:start + 1000]], "Quiet": True})

    def upload(self, path: Path, key: str) -> None:
        with aws_errors(self.where.uri(key)):
            self.s3.upload_file(str(path), self.where.bucket, self.where.key(key),
                                ExtraArgs={"Metadata": {"md5": md5_file(path)}})

    def download(self, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.part")
        with aws_errors(self.where.uri(key)):
            self.s3.download_file(self.where.bucket, self.where.key(key), str(tmp))
        tmp.replace(path)

    def uri(self, key: str) -> str:
        return f"s3://{self.where.bucket}/{self.where.key(key)}"

    def filesystem(self) -> Any | None:
        """At the endpoint and region the boto3 client resolved (flags, AWS_ENDPOINT_URL, the config files)."""
        return _filesystem(self.endpoint or self.s3.meta.endpoint_url, self.region or self.s3.meta.region_name)


@functools.cache
def _filesystem(endpoint: str | None, region: str | None) -> Any:
    """pyarrow's S3 client (the standard credential chain, the endpoint footfall resolved) as an fsspec
    filesystem speaking ``s3://``."""
    require("aws", "fsspec", "an S3 lake")
    from fsspec.implementations.arrow import ArrowFSWrapper
    from pyarrow import fs

    class S3FileSystem(ArrowFSWrapper):  # type: ignore[misc]
        """Folders are only key prefixes: none is created (no empty marker objects for Athena to trip on),
        and a prefix with nothing under it lists as empty."""

        protocol = ("s3",)

        def makedirs(self, path: str, exist_ok: bool = False) -> None:
            pass

        def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
            pass

        def ls(self, path: str, detail: bool = False, **kwargs: Any) -> list[Any]:
            try:
                found: list[Any] = super().ls(path, detail=detail, **kwargs)
            except FileNotFoundError:
                return []
            return found

    options: dict[str, Any] = {"region": region} if region else {}
    if endpoint:
        options |= {"endpoint_override": endpoint, "scheme": "https" if endpoint.startswith("https") else "http"}
    try:
        return S3FileSystem(fs.S3FileSystem(**options))
    except OSError as e:
        raise LakeError(f"cannot set up S3 access: {str(e).splitlines()[0]}") from None
