"""Spark's way to an S3 lake: the S3A connector's jars, and its configuration from what footfall resolves.

PySpark from PyPI ships Hadoop's client without the S3A connector; :mod:`footfall.engines.spark_jars` says
where its jars are and fetches them (``footfall spark-jars``). On AWS Glue, EMRFS serves ``s3://`` itself and
none of this is used.

Secrets never enter the SparkConf (which the UI and the event log show): the endpoint and the credentials
are set on the running context's Hadoop configuration, which Spark ships to executors inside each job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footfall.engines.spark_jars import JARS, JARS_ENV, missing_jars
from footfall.errors import FootfallError
from footfall.extras import require


def s3a_jars(folder: Path) -> list[str]:
    """The jar paths for ``spark.jars``, or one line that says how to get them."""
    missing = missing_jars(folder)
    if missing:
        raise FootfallError(f"Spark on an s3:// lake needs the S3A jars, missing from {folder}: "
                            f"{', '.join(missing)} (run `footfall spark-jars`, or set {JARS_ENV} to a folder "
                            "holding them)")
    return [str(folder / name) for name in JARS]


def on_glue() -> bool:
    """AWS Glue runs jobs with EMRFS, which reads ``s3://`` natively."""
    import importlib.util

    return importlib.util.find_spec("awsglue") is not None


@dataclass(frozen=True)
class S3Access:
    """What the S3A connector needs, as the settings resolve it for footfall's own S3 clients."""

    endpoint: str | None
    region: str | None
    jars: Path  # the folder holding the S3A jars

    def static_conf(self) -> dict[str, str]:
        """SparkConf entries that hold no secret: the jars and the committer."""
        return {"spark.jars": ",".join(s3a_jars(self.jars)),
                # Each run writes to a private versioned prefix that readers never see until the pointer
                # names it, so tasks may commit straight into it (no second rename pass on S3).
                "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
                "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
                "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}

    def apply(self, session: Any) -> None:
        """Endpoint, region and credentials on the live Hadoop configuration (never in the SparkConf)."""
        conf = session.sparkContext._jsc.hadoopConfiguration()
        for key, value in self.runtime_conf().items():
            conf.set(key, value)

    def runtime_conf(self) -> dict[str, str]:
        settings: dict[str, str] = {}
        if self.endpoint:
            settings["fs.s3a.endpoint"] = self.endpoint
            settings["fs.s3a.path.style.access"] = "true"
            settings["fs.s3a.connection.ssl.enabled"] = str(self.endpoint.startswith("https://")).lower()
        elif self.region:
            settings["fs.s3a.endpoint"] = f"s3.{self.region}.amazonaws.com"  # this SDK does not find a bucket's region
        if self.region:
            settings["fs.s3a.endpoint.region"] = self.region
        settings.update(_credentials())
        return settings


def _credentials() -> dict[str, str]:
    """Keys found by boto3's standard chain (environment, ~/.aws, SSO) are handed to S3A at run time; an
    instance or container role is left to the SDK's own provider, which refreshes it."""
    boto3 = require("aws", "boto3", "Spark on an S3 lake")
    found = boto3.session.Session().get_credentials()
    if found is None:
        raise FootfallError("no AWS credentials found (environment, ~/.aws, or an instance role)")
    if found.method in ("iam-role", "container-role"):
        return {"fs.s3a.aws.credentials.provider": "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"}
    frozen = found.get_frozen_credentials()
    settings = {"fs.s3a.access.key": frozen.access_key, "fs.s3a.secret.key": frozen.secret_key}
    if frozen.token:
        settings["fs.s3a.session.token"] = frozen.token
        settings["fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
    else:
        settings["fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
    return settings
