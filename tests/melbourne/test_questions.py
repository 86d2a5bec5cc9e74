"""`footfall query` on the Melbourne lake: the question people ask of it answers from its tables by name, the
pipeline's own SQL is within the query allow list, and a forged answer never reaches `top`."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest
from support.cli import footfall

from footfall import readonly
from footfall.dag import Pipeline
from footfall.lake.local import LocalLake
from footfall.melbourne.generate import generate
from footfall.melbourne.run import pipeline, run

DONE_WHEN = ("select location, sum(pedestrians) from hourly_counts_located where date = '2019-12-31' group by 1 "
             "order by 2 desc limit 5")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    generate(folder / "counts.csv", seed=7, sensors=10, start=date(2019, 10, 1), end=date(2019, 12, 31),
             locations=folder / "sensors.csv")
    return folder


@pytest.fixture(scope="module")
def melbourne() -> Pipeline:
    """The Melbourne pipeline, read once: the guard only reads it."""
    return pipeline()


@pytest.fixture(scope="module")
def lake(inputs: Path) -> Path:
    run(LocalLake.at(inputs / "lake"), [str(inputs / "counts.csv")], [str(inputs / "sensors.csv")])
    return inputs / "lake"


def test_the_done_when_question_answers_from_the_tables_by_name(lake: Path) -> None:
    done = footfall("query", DONE_WHEN, "--lake", str(lake), "--format", "csv")
    assert done.returncode == 0, done.stderr
    hourly = lake / "transformed" / "hourly_counts"
    expected = duckdb.sql(f"""
        SELECT l.location, SUM(h.pedestrians) FROM read_parquet('{hourly}/**/*.parquet', hive_partitioning = true) h
        JOIN read_parquet('{lake / "transformed" / "locations.parquet"}') l USING (location_id)
        WHERE h.date = DATE '2019-12-31' GROUP BY 1 ORDER BY 2 DESC LIMIT 5""").fetchall()
    rows = list(csv.reader(done.stdout.splitlines()))
    assert rows[0] == ["location", "sum(pedestrians)"]
    assert [(r[0], int(r[1])) for r in rows[1:]] == [(name, int(n)) for name, n in expected]
    assert len(rows) == 6


@pytest.mark.slow
def test_a_query_may_call_every_function_the_pipeline_s_own_sql_calls(melbourne: Pipeline) -> None:
    """The allow list is not narrower than the framework's own use of DuckDB."""
    called: set[str] = set()
    for step in melbourne.steps.values():
        called |= set(readonly.names_in(step.query.sql(readonly.DIALECT)).functions)
    for view in melbourne.views.values():
        called |= set(readonly.names_in(view.query.sql(readonly.DIALECT)).functions)
    assert len(called) > 30
    assert called <= readonly.allowed_functions(), called - readonly.allowed_functions()


def test_an_answer_cannot_be_forged_into_the_lake_it_was_read_from(lake: Path) -> None:
    """The forgery as it was tried: a query's --out over a curated table (then over .published)."""
    forged = ("select month, rank, location_id, 'FORGED' as location, 1 as pedestrians from top10_by_month")
    before = {p: p.read_bytes() for p in (lake / "curated").glob("*") if p.is_file()}
    marker = (lake / ".published").read_bytes()
    for target, fmt in ((lake / "curated" / "top10_by_month.parquet", "parquet"), (lake / ".published", "csv"),
                        (lake / "curated" / "daily_counts.csv", "csv")):
        done = footfall("query", forged, "--lake", str(lake), "--format", fmt, "--out", str(target))
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert f"is inside the lake at {lake}" in done.stderr
    assert {p: p.read_bytes() for p in (lake / "curated").glob("*") if p.is_file()} == before
    assert (lake / ".published").read_bytes() == marker
    top = footfall("top", "--by", "month", "--lake", str(lake), "--format", "csv")
    assert top.returncode == 0 and "FORGED" not in top.stdout and top.stdout.count("\n") > 5
