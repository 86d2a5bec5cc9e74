"""AWS Glue job: parse what landed, rebuild the answers on Spark, publish them, register the catalog.

Glue passes `--JOB_NAME`, `--lake`, `--pipeline`, `--database` as `--key value` pairs (read with
`getResolvedOptions` when `awsglue` is there, argparse otherwise); keys Glue adds itself are ignored.
Both engines read and write the lake directly: Spark on Glue's own session (``s3://`` through EMRFS; outside
Glue a local session with the S3A connector), DuckDB through pyarrow's S3 client. The driver parses newly
landed files (DuckDB, once per file, in a temporary folder), plans, runs the checks and publishes the
pointer; the catalog is then registered from what was just published. Everything goes through the same
context as the command line (:func:`footfall.melbourne.job.melbourne`).
"""

from __future__ import annotations

import argparse
import sys

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


def main(argv: list[str]) -> None:
    from footfall.aws import client
    from footfall.catalog import describe_lake, register
    from footfall.lake.objects import ObjectLake
    from footfall.melbourne.job import melbourne, melbourne_lake
    from footfall.melbourne.run import run_job
    from footfall.settings import Settings

    args = arguments(argv)
    if args["pipeline"] != "melbourne":
        raise SystemExit(f"unknown pipeline {args['pipeline']!r}")
    context = melbourne(Settings.resolve(lake=args["lake"], engine=args["engine"]))
    with melbourne_lake(context, write=True) as held:
        result = run_job(context, held)
    if not isinstance(held.lake, ObjectLake):
        registered = "no catalog for a local lake"
    else:
        changes = register(client("glue", region=context.settings.region), args["database"],
                           *describe_lake(held.lake, context.pipeline))
        registered = ", ".join(f"{sum(c.action == a for c in changes)} {a}" for a in ("created", "updated",
                                                                                      "unchanged"))
        registered = f"catalog {args['database']}: {registered}"
    print(f"{args['JOB_NAME']}: {len(result.run.published)} output(s) published on {args['engine']}, "
          f"{result.quarantined} row(s) quarantined; {registered}")


if __name__ == "__main__":
    main(sys.argv[1:])
