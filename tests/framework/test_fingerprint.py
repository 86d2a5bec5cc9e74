"""A run whose inputs are those of the published outputs builds nothing; any change to the inputs, the
pipeline's files or a failed run in between makes the next run build again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from footfall.dag import load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import CheckFailed, SpecError
from footfall.lake.local import LocalLake
from footfall.runner import RunResult, run_pipeline

SPEC = """\
name: shops
sources:
  sales: {path: incoming/*.csv, format: csv}
  totals_previous:
    path: transformed/totals.parquet
    format: parquet
    required: false
    columns: {shop: VARCHAR, total: BIGINT}
steps:
  totals:
    checks: [{range: {column: total, min: 0}}]
outputs:
  - {table: totals, zone: transformed}
  - {table: totals, zone: curated, format: csv, order_by: [shop]}
"""
TOTALS = "select shop, sum(amount)::bigint as total from sales group by shop"


def run(root: Path, lake: LocalLake, rebuild: bool = False) -> RunResult:
    with DuckDBEngine(threads=1) as engine:
        return run_pipeline(load_pipeline(root), lake, engine, rebuild=rebuild)


def built(result: RunResult) -> list[str]:
    return [e.name for e in result.events if e.kind == "step"]


@pytest.fixture
def shop(make_pipeline, tmp_path: Path) -> tuple[Path, LocalLake]:
    root = make_pipeline(SPEC, {"totals": TOTALS})
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    (lake.root / "incoming").mkdir()
    (lake.root / "incoming/a.csv").write_text("shop,amount\na,10\nb,5\n")
    return root, lake


def test_a_run_with_nothing_new_builds_nothing_and_leaves_the_outputs(shop: tuple[Path, LocalLake]) -> None:
    root, lake = shop
    first = run(root, lake)
    assert built(first) == ["totals"] and not first.unchanged
    answer = lake.root / "curated/totals.csv"
    before = (answer.read_bytes(), answer.stat().st_mtime_ns)
    again = run(root, lake)
    assert again.unchanged and built(again) == [] and again.published == [] and again.checks == []
    assert [e.kind for e in again.events if e.kind not in ("source",)] == ["unchanged"]
    assert (answer.read_bytes(), answer.stat().st_mtime_ns) == before


def test_a_new_or_changed_input_file_is_built(shop: tuple[Path, LocalLake]) -> None:
    root, lake = shop
    run(root, lake)
    (lake.root / "incoming/b.csv").write_text("shop,amount\nc,1\n")
    assert built(run(root, lake)) == ["totals"]
    assert run(root, lake).unchanged
    changed = lake.root / "incoming/b.csv"
    changed.write_text("shop,amount\nc,2\n")
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 1_000_000))
    assert built(run(root, lake)) == ["totals"]
    assert (lake.root / "curated/totals.csv").read_text() == "shop,total\na,10\nb,5\nc,2\n"


def test_a_changed_pipeline_file_is_built(shop: tuple[Path, LocalLake]) -> None:
    root, lake = shop
    run(root, lake)
    (root / "sql/totals.sql").write_text(TOTALS.replace("sum(amount)", "sum(amount) * 2"))
    assert built(run(root, lake)) == ["totals"]
    assert (lake.root / "curated/totals.csv").read_text() == "shop,total\na,20\nb,10\n"


def test_after_a_failed_run_the_next_one_builds_again(shop: tuple[Path, LocalLake]) -> None:
    root, lake = shop
    run(root, lake)
    bad = lake.root / "incoming/bad.csv"
    bad.write_text("shop,amount\nz,-99\n")
    with pytest.raises(CheckFailed):
        run(root, lake)
    bad.unlink()  # back to the inputs of the published outputs: nothing new
    assert run(root, lake).unchanged
    bad.write_text("shop,amount\nz,-99\n")
    with pytest.raises(CheckFailed):
        run(root, lake)  # the failed run published no record: it is tried again, and fails again


def test_rebuild_builds_even_when_nothing_is_new(shop: tuple[Path, LocalLake]) -> None:
    root, lake = shop
    run(root, lake)
    assert built(run(root, lake, rebuild=True)) == ["totals"]


def test_the_record_is_not_an_output_of_the_pipeline(shop: tuple[Path, LocalLake]) -> None:
    root, lake = shop
    result = run(root, lake)
    assert sorted(result.published) == ["curated/totals.csv", "transformed/totals.parquet"]
    assert (lake.root / "transformed/footfall_run.parquet").is_file()


def test_a_pipeline_may_not_take_the_records_name(make_pipeline) -> None:
    root = make_pipeline(SPEC.replace("totals:\n    checks", "footfall_run:\n    checks"), {"footfall_run": TOTALS})
    with pytest.raises(SpecError, match="reserved for footfall's record"):
        load_pipeline(root)
