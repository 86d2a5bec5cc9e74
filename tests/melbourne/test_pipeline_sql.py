"""The Melbourne pipeline's SQL as shipped: nothing in it changes meaning on Spark."""

from __future__ import annotations

from footfall.dag import load_pipeline
from footfall.lint import lint
from footfall.melbourne.run import PIPELINE_DIR


def test_the_shipped_melbourne_sql_is_clean_for_spark() -> None:
    assert lint(load_pipeline(PIPELINE_DIR), "spark") == []
