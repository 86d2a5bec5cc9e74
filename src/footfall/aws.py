"""Reaching AWS: S3 lake locations, boto3 clients, and the SDK's errors as one line that says what to do."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from footfall.errors import LakeError
from footfall.extras import require
from footfall.spec import relative_path

DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
          "UnrecognizedClientException", "AccessDeniedException", "403", "InvalidClientTokenId"}




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
    """A boto3 client with the standard credential chain; ``region`` as the settings resolve it (AWS_REGION,
    which other AWS SDKs, Lambda and Glue set), else boto3's own; ``AWS_ENDPOINT_URL`` is honoured by boto3
    itself."""
    boto3 = require("aws", "boto3", "the Glue catalog" if service == "glue" else "an S3 lake")
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=120)
    with aws_errors(service):
        return boto3.client(service, endpoint_url=endpoint_url or None, region_name=region, config=config)
