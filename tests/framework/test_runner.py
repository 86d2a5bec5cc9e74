"""The runner: steps, checks, then every output published at once or none; on inline pipelines and on the
shops pipeline (overwrite: partitions replaces only the partitions a run writes)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from footfall.dag import Pipeline, load_pipeline
from footfall.engines.duckdb import DuckDBEngine
from footfall.errors import CheckFailed, SpecError
from footfall.lake.local import LocalLake
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


def run(root: Path, lake: LocalLake):
    with DuckDBEngine(threads=1) as engine:
        return run_pipeline(load_pipeline(root), lake, engine)


def test_outputs_are_published_csv_and_partitioned_parquet(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    lake = LocalLake.at(tmp_path / "lake")
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
    lake = LocalLake.at(tmp_path / "lake")
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
    lake = LocalLake.at(tmp_path / "lake")
    run(root, lake)
    first = (lake.root / "curated/monthly.csv").read_bytes()
    run(root, lake)
    assert (lake.root / "curated/monthly.csv").read_bytes() == first
    assert len(list((lake.root / "transformed/_versions/monthly").iterdir())) == 1


def test_missing_required_source_is_a_clear_error(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY})
    with pytest.raises(SpecError, match=r"source 'sales': no files match data/sales\.csv"):
        run(root, LocalLake.at(tmp_path / "lake"))


def test_optional_source_without_files_is_empty_with_its_schema(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline("""\
name: opt
sources:
  extra: {path: landing/extra/*.csv, format: csv, required: false, columns: {k: INTEGER, v: VARCHAR}}
outputs:
  - {table: extra, zone: curated, format: csv}
""")
    lake = LocalLake.at(tmp_path / "lake")
    result = run(root, lake)
    assert result.outputs == {"curated/extra.csv": 0}
    assert (lake.root / "curated/extra.csv").read_text() == "k,v\n"


def test_the_runner_refuses_what_the_engine_cannot_do(make_pipeline, tmp_path: Path) -> None:
    class NoCsv(DuckDBEngine):
        SUPPORTS_CSV_OUTPUT = False

    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES})
    with NoCsv(threads=1) as engine, pytest.raises(SpecError, match=r"cannot write CSV \(monthly\)"):
        run_pipeline(load_pipeline(root), LocalLake.at(tmp_path / "lake"), engine)
    assert not (tmp_path / "lake" / "curated").exists()


def test_views_become_tables_on_an_engine_without_views(make_pipeline, tmp_path: Path) -> None:
    class NoViews(DuckDBEngine):
        SUPPORTS_VIEWS = False

    root = make_pipeline("name: v\nsteps:\n  a: {materialize: view}\n", {"a": "select 1 as x"})
    with NoViews(threads=1) as engine:
        result = run_pipeline(load_pipeline(root), LocalLake.at(tmp_path / "lake"), engine)
    (step,) = [e for e in result.events if e.kind == "step"]
    assert (step.detail, step.rows) == ("table", 1)


# ---- the shops pipeline (tests/framework/pipeline) -----------------------------------------------------------

def _seed_totals(shops_dir: Path, *landed: Path) -> dict[tuple[str, int], int]:
    """Per month and shop, the amounts of the seed and the ``landed`` files, summed in plain Python."""
    totals: dict[tuple[str, int], int] = {}
    for path in (shops_dir / "data" / "sales.csv", *landed):
        with path.open() as handle:
            for row in csv.DictReader(handle):
                key = (row["day"][:7], int(row["shop_id"]))
                totals[key] = totals.get(key, 0) + int(row["amount"])
    return totals


def _partitions(lake: Path) -> dict[str, bytes]:
    """Each published partition of daily_sales (``year=/month=``) and the bytes of its files."""
    root = lake / "transformed" / "daily_sales"
    return {p.parent.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.glob("year=*/month=*/*"))}


def test_the_shops_pipeline_publishes_its_answers_as_plain_python_computes_them(shops_dir: Path,
                                                                                 shop_lake: Path) -> None:
    with (shop_lake / "curated" / "monthly_totals.csv").open() as handle:
        published = {(r["month"], int(r["shop_id"])): int(r["total"]) for r in csv.DictReader(handle)}
    assert published == _seed_totals(shops_dir)
    with (shop_lake / "curated" / "top_shops.csv").open() as handle:
        top = [(r["month"], int(r["rank"]), int(r["shop_id"])) for r in csv.DictReader(handle)]
    best = {month: max((t, s) for (m, s), t in published.items() if m == month)[1] for month, _ in published}
    assert [(m, s) for m, rank, s in top if rank == 1] == sorted(best.items())
    assert sorted(_partitions(shop_lake)) == ["year=2024/month=1", "year=2024/month=2", "year=2024/month=3"]


def test_a_partitions_overwrite_replaces_the_partitions_a_run_writes_and_keeps_the_rest(
        shops_dir: Path, shop_lake: Path, tmp_path: Path) -> None:
    """A run whose sales start in March writes March (with a landed sale more) and April: January and February,
    which it does not write, stay as they were; ``overwrite: all`` would have dropped them."""
    lake = tmp_path / "lake"
    shutil.copytree(shop_lake, lake, symlinks=True)
    before = _partitions(lake)
    later = tmp_path / "shops"
    shutil.copytree(shops_dir, later)
    seed = (later / "data" / "sales.csv").read_text().splitlines()
    (later / "data" / "sales.csv").write_text("\n".join([seed[0], *(r for r in seed[1:] if ",2024-03-" in r)]) + "\n")
    landed = lake / "landing" / "sales" / "more.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("sale_id,shop_id,day,amount\n9001,1,2024-03-31,7\n9002,2,2024-04-01,11\n")
    with DuckDBEngine(threads=1) as engine:
        result = run_pipeline(load_pipeline(later), LocalLake.at(lake), engine)
    assert all(c.passed for c in result.checks)
    after = _partitions(lake)
    assert sorted(after) == [*sorted(before), "year=2024/month=4"]
    kept = ("year=2024/month=1", "year=2024/month=2")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert after["year=2024/month=3"] != before["year=2024/month=3"]
    march = duckdb.sql(f"select sum(amount) from read_parquet('{lake}/transformed/daily_sales/year=2024/month=3/*')"
                       ).fetchall()
    assert march == [(sum(v for (month, _), v in _seed_totals(later, landed).items() if month == "2024-03"),)]


def test_a_landed_file_failing_a_check_publishes_nothing(shops: Pipeline, shop_lake: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(shop_lake, lake, symlinks=True)
    curated = {p.name: p.read_bytes() for p in (lake / "curated").iterdir()}
    partitions = _partitions(lake)
    landed = lake / "landing" / "sales" / "refund.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("sale_id,shop_id,day,amount\n9001,1,2024-04-02,-500\n")
    with DuckDBEngine(threads=1) as engine, pytest.raises(CheckFailed, match="nothing was published") as info:
        run_pipeline(shops, LocalLake.at(lake), engine)
    assert "daily_sales" in str(info.value) and "amount=-500" in str(info.value)
    assert {p.name: p.read_bytes() for p in (lake / "curated").iterdir()} == curated
    assert _partitions(lake) == partitions


class TogetherEngine(DuckDBEngine):
    """The DuckDB engine told to run every table's checks together, as the Spark engine does."""

    CHECKS_TOGETHER = True


def test_checks_run_together_after_the_last_step_give_the_same_results_and_still_block(
        make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(SPEC % {"min": 0}, {"monthly": MONTHLY}, {"data/sales.csv": SALES}, name="good")
    with TogetherEngine(threads=1) as engine:
        result = run_pipeline(load_pipeline(root), LocalLake.at(tmp_path / "lake"), engine)
    kinds = [e.kind for e in result.events if e.kind in ("step", "check")]
    assert kinds == ["step", "check", "check"], "checks after the last step"
    assert [(c.table, c.failures) for c in result.checks] == [("monthly", 0), ("monthly", 0)]
    assert run(root, LocalLake.at(tmp_path / "alone")).checks == result.checks
    bad = make_pipeline(SPEC % {"min": 6}, {"monthly": MONTHLY}, {"data/sales.csv": SALES}, name="bad")
    lake = LocalLake.at(tmp_path / "bad-lake")
    with TogetherEngine(threads=1) as engine, pytest.raises(CheckFailed, match="nothing was published") as info:
        run_pipeline(load_pipeline(bad), lake, engine)
    assert "1 offending row(s), e.g. shop=a, month=2024-02, total=5" in str(info.value)
    assert not (lake.root / "curated/monthly.csv").exists()
