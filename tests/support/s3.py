"""Reading a lake on S3 the way any S3 client would, with boto3 alone."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from footfall.lake.pointer import POINTER


def pointer(s3: SimpleNamespace, prefix: str = "melbourne") -> dict[str, Any]:
    """The published pointer of the lake under ``prefix`` in the ``s3`` fixture's bucket."""
    body = s3.client.get_object(Bucket=s3.bucket, Key=f"{prefix}/{POINTER}")["Body"].read()
    return dict(json.loads(body))
