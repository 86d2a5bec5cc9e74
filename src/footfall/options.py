"""The command line's shared options: one spelling, help text and environment variable for each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

LakeOpt = Annotated[str, typer.Option("--lake", help="Lake root: a directory or s3://bucket/prefix.",
                                       envvar="FOOTFALL_LAKE")]
S3EndpointOpt = Annotated[str | None, typer.Option(
    "--s3-endpoint", envvar="AWS_ENDPOINT_URL_S3",
    help="S3-compatible endpoint URL for an s3:// lake (default: AWS, or AWS_ENDPOINT_URL).")]
EngineOpt = Annotated[str, typer.Option("--engine", help="duckdb (embedded) or spark.")]
RebuildOpt = Annotated[bool, typer.Option(
    "--rebuild", help="Build every step even when nothing is new since the last run (by default such a run "
                      "builds nothing and leaves the published outputs).")]
PipelineOpt = Annotated[Path | None, typer.Option("--pipeline", help="Pipeline directory (default: Melbourne).")]
