"""AWS Glue job: parse what landed, rebuild the answers on Glue's Spark, publish them.

Glue passes `--JOB_NAME`, `--lake`, `--pipeline`, `--database` as `--key value` pairs (read with
`getResolvedOptions` when `awsglue` is there, argparse otherwise); keys Glue adds itself are ignored.
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
    """Glue's session when running on Glue, a local one otherwise."""
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from pyspark.context import SparkContext

        return GlueContext(SparkContext.getOrCreate()).spark_session
    except ImportError:
        from pyspark.sql import SparkSession

        return (SparkSession.builder.appName("footfall-transform").config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "8").getOrCreate())


def main(argv: list[str]) -> None:
    from footfall.lake import Lake
    from footfall.melbourne.run import run

    args = arguments(argv)
    if args["pipeline"] != "melbourne":
        raise SystemExit(f"unknown pipeline {args['pipeline']!r}")
    options = {"session": spark_session()} if args["engine"] == "spark" else {}
    result = run(Lake.at(args["lake"]), engine=args["engine"], engine_options=options)
    print(f"{args['JOB_NAME']}: {len(result.run.published)} output(s) published on {args['engine']}, "
          f"{result.quarantined} row(s) quarantined")


if __name__ == "__main__":
    main(sys.argv[1:])
