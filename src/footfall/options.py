"""The command line's shared options: one spelling and help text for each. A flag left out is None, and
:class:`footfall.settings.Settings` resolves it from the environment or the default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

LakeOpt = Annotated[str | None, typer.Option("--lake", help="Lake root: a directory, s3://bucket/prefix or "
                                              "file:///folder (default: $FOOTFALL_LAKE, else ./lake).")]
S3EndpointOpt = Annotated[str | None, typer.Option(
    "--s3-endpoint", help="S3-compatible endpoint URL for an s3:// lake (default: $AWS_ENDPOINT_URL_S3, "
                          "$AWS_ENDPOINT_URL, else AWS).")]
EngineOpt = Annotated[str | None, typer.Option("--engine", help="duckdb (embedded, the default) or spark.")]
SparkMasterOpt = Annotated[str | None, typer.Option("--spark-master", help="Spark master for --engine spark "
                                                    "(default: local[*]).")]
RebuildOpt = Annotated[bool, typer.Option(
    "--rebuild", help="Build every step even when nothing is new since the last run (by default such a run "
                      "builds nothing and leaves the published outputs).")]
PipelineOpt = Annotated[Path | None, typer.Option("--pipeline", help="Pipeline directory (default: Melbourne).")]
