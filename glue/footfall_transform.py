"""AWS Glue job: parse what landed, rebuild the answers on Spark, publish them, register the catalog.

Glue passes `--JOB_NAME`, `--lake`, `--pipeline`, `--database` as `--key value` pairs (read with
`getResolvedOptions` when `awsglue` is there, argparse otherwise); keys Glue adds itself are ignored.
An S3 lake is worked on through its local working copy on the driver, so Spark runs there in local
mode (size the job by its worker type, not its number of workers); the catalog is then registered
from what was just published.
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


def spark_session() -> Any:
    """A local-mode session on the driver: the working copy's files are on the driver's disk only."""
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[*]").appName("footfall-transform")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8").getOrCreate())


def main(argv: list[str]) -> None:
    from footfall.catalog import describe_lake, register
    from footfall.lake import Lake
    from footfall.melbourne.run import pipeline, run
    from footfall.s3 import client, is_s3, working_copy

    args = arguments(argv)
    if args["pipeline"] != "melbourne":
        raise SystemExit(f"unknown pipeline {args['pipeline']!r}")
    options = {"session": spark_session()} if args["engine"] == "spark" else {}
    the_pipeline = pipeline()
    if not is_s3(args["lake"]):
        result = run(Lake.at(args["lake"]), engine=args["engine"], engine_options=options)
        registered = "no catalog for a local lake"
    else:
        with working_copy(args["lake"], the_pipeline.spec, write=True) as remote:
            result = run(remote.work, engine=args["engine"], engine_options=options)
        changes = register(client("glue"), args["database"], *describe_lake(remote, the_pipeline))
        registered = ", ".join(f"{sum(c.action == a for c in changes)} {a}" for a in ("created", "updated",
                                                                                      "unchanged"))
        registered = f"catalog {args['database']}: {registered}"
    print(f"{args['JOB_NAME']}: {len(result.run.published)} output(s) published on {args['engine']}, "
          f"{result.quarantined} row(s) quarantined; {registered}")


if __name__ == "__main__":
    main(sys.argv[1:])
