from __future__ import annotations

from pathlib import Path

import pytest

from footfall.dag import Pipeline, load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.lake.local import LocalLake
from footfall.runner import run_pipeline

SHOPS = Path(__file__).resolve().parent / "pipeline"


@pytest.fixture(scope="session")
def shops_dir() -> Path:
    """The framework tests' own pipeline (``tests/framework/pipeline``): seeds of sales and shops, sales landed in
    ``landing/sales/``, five steps, a view, checks, a partitioned output replaced by partition, CSV and Parquet
    answers. It knows nothing of pedestrians, so the framework is tested on what any pipeline has."""
    return SHOPS


@pytest.fixture(scope="session")
def shops(shops_dir: Path) -> Pipeline:
    """The pipeline, read once: what only reads it may share it."""
    return load_pipeline(shops_dir)


@pytest.fixture(scope="module")
def shop_lake(shops: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake the pipeline has run into once, on DuckDB (readers copy it before they change it)."""
    lake = tmp_path_factory.mktemp("shops") / "lake"
    with DuckDBEngine(threads=1) as engine:
        run_pipeline(shops, LocalLake.at(lake), engine)
    return lake
