"""AWS Glue job: parse what landed, rebuild the answers on Spark, publish them, register the catalog.

Glue passes `--JOB_NAME`, `--lake`, `--pipeline`, `--database` as `--key value` pairs (read with
`getResolvedOptions` when `awsglue` is there, argparse otherwise); keys Glue adds itself are ignored.
With the Spark engine and an S3 lake, Spark runs on Glue's own session and its executors read and write
the lake directly (``s3://`` through EMRFS): the driver parses newly landed files (DuckDB, once per file,
in a temporary folder), plans, runs the checks and publishes the pointer; the catalog is then registered
from what was just published. Outside Glue the same script uses a local session with the S3A connector.
The DuckDB engine works on a working copy pulled to the driver.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

KEYS = ("JOB_NAME", "lake", "pipeline", "database", "engine")
DEFAULTS = {"JOB_NAME": "footfall-transform", "pipeline": "melbourne", "database": "pedestrian_counting_system",
            "engine": "spark"}


def arguments(argv: list[str]) -> dict[str, str]:
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        parser = argparse.ArgumentParser(prog="footfall_transform")
        for key in KEYS:
            parser.add_argument(f"--{key}", default=DEFAULTS.get(key), required=key == "lake")
        known, _ = parser.parse_known_args(argv)
        return vars(known)
    present = [k for k in KEYS if f"--{k}" in argv]
    return {**DEFAULTS, **getResolvedOptions(["script", *argv], present)}


def spark_options() -> dict[str, Any]:
    """Glue's own session (its workers are the executors), or outside Glue a local one with S3A."""
    from footfall.engines.spark_s3 import S3Access, on_glue

    if on_glue():
        from pyspark.sql import SparkSession

        return {"session": SparkSession.builder.getOrCreate()}
    return {"master": "local[*]", "app_name": "footfall-transform", "s3": S3Access.resolve()}


def main(argv: list[str]) -> None:
    from footfall.aws import client
    from footfall.catalog import describe_lake, register
    from footfall.engines.spark_s3 import spark_scheme
    from footfall.melbourne.job import melbourne_lake, run_job
    from footfall.melbourne.run import pipeline

    args = arguments(argv)
    if args["pipeline"] != "melbourne":
        raise SystemExit(f"unknown pipeline {args['pipeline']!r}")
    spark = args["engine"] == "spark"
    options = spark_options() if spark else {}
    with melbourne_lake(args["lake"], write=True, direct=spark_scheme() if spark else None) as session:
        result = run_job(session, engine=args["engine"], engine_options=options)
    if session.remote is None:
        registered = "no catalog for a local lake"
    else:
        changes = register(client("glue"), args["database"], *describe_lake(session.remote, pipeline()))
        registered = ", ".join(f"{sum(c.action == a for c in changes)} {a}" for a in ("created", "updated",
                                                                                      "unchanged"))
        registered = f"catalog {args['database']}: {registered}"
    print(f"{args['JOB_NAME']}: {len(result.run.published)} output(s) published on {args['engine']}, "
          f"{result.quarantined} row(s) quarantined; {registered}")


if __name__ == "__main__":
    main(sys.argv[1:])
