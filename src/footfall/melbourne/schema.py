"""The raw tables' columns as ``pipeline.yml`` declares them: the declaration the SQL reads is the one the
format readers write to, so the parsed files and the pipeline cannot disagree about a column or its type."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from footfall.spec import load_spec

PIPELINE_DIR = Path(__file__).parent / "pipeline"
# raw_counts columns that landing adds around a format's own: provenance and the verdict on the row
LANDING_COUNT_COLUMNS = ("file_key", "reason", "raw_line")


@cache
def raw_columns(table: str) -> dict[str, str]:
    """The declared columns of the source ``table`` (``raw_counts``, ``raw_sensors``), name to DuckDB type."""
    columns = load_spec(PIPELINE_DIR / "pipeline.yml").sources[table].columns
    assert columns, f"pipeline.yml declares the columns of {table}"
    return dict(columns)


def parsed_count_columns() -> dict[str, str]:
    """The raw_counts columns a format's SQL gives, in the declared order, name to DuckDB type."""
    return {c: t for c, t in raw_columns("raw_counts").items() if c not in LANDING_COUNT_COLUMNS}
