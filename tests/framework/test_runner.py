from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from footfall.dag import load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import CheckFailed, SpecError
from footfall.lake import Lake
from footfall.runner import run_pipeline

SPEC = """\
name: shops
sources:
  sales: {path: data/sales.csv, root: pipeline, format: csv}
steps:
  monthly:
    checks: [{unique: [shop, month]}, {range: {column: total, min: %(min)s}}]
outputs:
  - {table: monthly, zone: curated, format: csv, order_by: [shop, month]}
  - {table: monthly, zone: transformed, path: monthly, partition_by: [month]}
"""
SALES = "id,shop,day,amount\n1,a,2024-01-01,10\n2,b,2024-01-02,20\n3,a,2024-02-01,5\n4,a,2024-01-09,1\n"
MONTHLY = "select shop, strftime(day, '%Y-%m') as month, sum(amount)::int as total from sales group by all"


def run(root: Path, lake: Lake):
    with DuckDBEngine(threads=1) as engine:
        return run_pipeline(load_pipeline(root), lake, engine)


def test_outputs_are_published_csv_and_partitioned_parquet(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    lake = Lake.at(tmp_path / "lake")
    result = run(root, lake)
    assert sorted(result.published) == ["curated/monthly.csv", "transformed/monthly"]
    assert (lake.root / "curated/monthly.csv").read_text() == (
        "shop,month,total\na,2024-01,11\na,2024-02,5\nb,2024-01,20\n")
    back = duckdb.sql(f"select shop, month, total from read_parquet('{lake.root}/transformed/monthly/**/*.parquet',"
                      " hive_partitioning=true) order by all").fetchall()
    assert back == [("a", "2024-01", 11), ("a", "2024-02", 5), ("b", "2024-01", 20)]
    assert sorted(p.name for p in (lake.root / "transformed/monthly").iterdir()) == [
        "_SUCCESS", "month=2024-01", "month=2024-02"]
    assert not any((lake.root / "_staging").iterdir())


def test_failed_check_publishes_nothing_and_keeps_previous_outputs(make_pipeline, tmp_path: Path) -> None:
    lake = Lake.at(tmp_path / "lake")
    good = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES}, name="good")
    run(good, lake)
    before = (lake.root / "curated/monthly.csv").read_bytes()
    bad = make_pipeline(SPEC % {"min": 6}, {"monthly": MONTHLY},
                        {"data/sales.csv": SALES + "5,c,2024-03-01,99\n"}, name="bad")
    with pytest.raises(CheckFailed, match="nothing was published") as info:
        run(bad, lake)
    assert "1 offending row(s), e.g. shop=a, month=2024-02, total=5" in str(info.value)
    assert (lake.root / "curated/monthly.csv").read_bytes() == before
    months = sorted(p.name for p in (lake.root / "transformed/monthly").iterdir())
    assert "month=2024-03" not in months
    assert not any((lake.root / "_staging").iterdir())


def test_rerun_gives_byte_identical_csv(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    lake = Lake.at(tmp_path / "lake")
    run(root, lake)
    first = (lake.root / "curated/monthly.csv").read_bytes()
    run(root, lake)
    assert (lake.root / "curated/monthly.csv").read_bytes() == first
    assert len(list((lake.root / "transformed/_versions/monthly").iterdir())) == 1


def test_missing_required_source_is_a_clear_error(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY})
    with pytest.raises(SpecError, match=r"source 'sales': no files match data/sales\.csv"):
        run(root, Lake.at(tmp_path / "lake"))


def test_optional_source_without_files_is_empty_with_its_schema(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline("""\
name: opt
sources:
  extra: {path: landing/extra/*.csv, format: csv, required: false, columns: {k: INTEGER, v: VARCHAR}}
outputs:
  - {table: extra, zone: curated, format: csv}
""")
    lake = Lake.at(tmp_path / "lake")
    result = run(root, lake)
    assert result.outputs == {"curated/extra.csv": 0}
    assert (lake.root / "curated/extra.csv").read_text() == "k,v\n"


def test_the_runner_refuses_what_the_engine_cannot_do(make_pipeline, tmp_path: Path) -> None:
    class NoCsv(DuckDBEngine):
        SUPPORTS_CSV_OUTPUT = False

    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    with NoCsv(threads=1) as engine, pytest.raises(SpecError, match=r"cannot write CSV \(monthly\)"):
        run_pipeline(load_pipeline(root), Lake.at(tmp_path / "lake"), engine)
    assert not (tmp_path / "lake" / "curated").exists()


def test_views_become_tables_on_an_engine_without_views(make_pipeline, tmp_path: Path) -> None:
    class NoViews(DuckDBEngine):
        SUPPORTS_VIEWS = False

    root = make_pipeline("name: v\nsteps:\n  a: {materialize: view}\n", {"a": "select 1 as x"})
    with NoViews(threads=1) as engine:
        result = run_pipeline(load_pipeline(root), Lake.at(tmp_path / "lake"), engine)
    (step,) = [e for e in result.events if e.kind == "step"]
    assert (step.detail, step.rows) == ("table", 1)


class TogetherEngine(DuckDBEngine):
    """The DuckDB engine told to run every table's checks together, as the Spark engine does."""

    CHECKS_TOGETHER = True


def test_checks_run_together_after_the_last_step_give_the_same_results_and_still_block(
        make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES}, name="good")
    with TogetherEngine(threads=1) as engine:
        result = run_pipeline(load_pipeline(root), Lake.at(tmp_path / "lake"), engine)
    kinds = [e.kind for e in result.events if e.kind in ("step", "check")]
    assert kinds == ["step", "check", "check"], "checks after the last step"
    assert [(c.table, c.failures) for c in result.checks] == [("monthly", 0), ("monthly", 0)]
    assert run(root, Lake.at(tmp_path / "alone")).checks == result.checks
    bad = make_pipeline(SPEC % {"min": 6}, {"monthly": MONTHLY}, {"data/sales.csv": SALES}, name="bad")
    lake = Lake.at(tmp_path / "bad-lake")
    with TogetherEngine(threads=1) as engine, pytest.raises(CheckFailed, match="nothing was published") as info:
        run_pipeline(load_pipeline(bad), lake, engine)
    assert "1 offending row(s), e.g. shop=a, month=2024-02, total=5" in str(info.value)
    assert not (lake.root / "curated/monthly.csv").exists()
