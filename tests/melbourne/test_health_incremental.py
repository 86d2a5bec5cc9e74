"""Sensor health on a lake that grows month by month: only what a new month can change is recomputed,
and the answers are byte for byte those of one run over everything."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from footfall.lake.local import LocalLake
from footfall.melbourne.generate import generate, planted_faults
from footfall.melbourne.run import run

# With these bounds the planted 10-day outage and the 72 hours of zeros both cross a month boundary.
START, END = date(2019, 1, 15), date(2019, 6, 30)


def curated(lake: Path) -> dict[str, bytes]:
    """Every curated CSV but resolution_summary, which counts the publications (six here, one there)."""
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv"))
            if p.name != "resolution_summary.csv"}


def split_by_month(source: Path, folder: Path) -> list[Path]:
    """The archive file as one file per calendar month, in time order."""
    with source.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        year, month = header.index("Year"), header.index("Month")
        months: dict[tuple[str, str], list[list[str]]] = {}
        for row in reader:
            months.setdefault((row[year], row[month]), []).append(row)
    files = []
    for i, rows in enumerate(months.values()):
        path = folder / f"month-{i}.csv"
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
        files.append(path)
    return files


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("grown")
    whole = folder / "counts.csv"
    generate(whole, seed=5, sensors=8, start=START, end=END, faults=True)
    one_shot = folder / "one-shot"
    run(LocalLake.at(one_shot), [str(whole)])
    return {"folder": folder, "months": split_by_month(whole, folder), "one_shot": one_shot}


def test_the_planted_outage_and_zeros_cross_month_boundaries() -> None:
    crossing = [f.kind for f in planted_faults(START, END) if f.start.month != f.end.month]
    assert crossing == ["outage", "flatline", "level shift"]


@pytest.mark.slow
@pytest.mark.parametrize("late", [None, 2], ids=["in order", "march last"])
def test_adding_months_one_at_a_time_gives_the_one_shot_answers(grown: dict, late: int | None,
                                                                tmp_path: Path) -> None:
    months = list(grown["months"])
    assert len(months) == 6
    if late is not None:
        months.append(months.pop(late))
    lake = tmp_path / "lake"
    for month in months:
        run(LocalLake.at(lake), [str(month)])
    expected = curated(grown["one_shot"])
    for answer in ("outages.csv", "flatlines.csv", "level_shifts.csv"):
        assert expected[answer].count(b"\n") >= 2, f"{answer} has findings to compare"
    assert set(curated(lake)) == set(expected)
    assert [name for name, body in curated(lake).items() if body != expected[name]] == []


def rewrite(path: Path, where: str) -> int:
    """Keep only the rows of a published Parquet table that ``where`` selects; how many are left."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE kept AS SELECT * FROM read_parquet('{path}') WHERE {where}")
    con.execute(f"COPY kept TO '{path}' (FORMAT parquet)")
    return con.execute("SELECT COUNT(*) FROM kept").fetchone()[0]


@pytest.mark.slow
def test_a_new_month_keeps_the_published_health_rows_it_cannot_change(grown: dict, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for month in grown["months"][:-1]:
        run(LocalLake.at(lake), [str(month)])
    # Rows the last month cannot change are taken from the last run as published: drop the early ones
    # there, and the next run does not bring them back; the rows near the new month are recomputed.
    assert rewrite(lake / "transformed/sensor_runs.parquet", "start_ts >= TIMESTAMP '2019-04-01'") > 0
    assert rewrite(lake / "transformed/weekly_ratios.parquet", "week_no >= 2572") > 0  # from 2019-04-15
    run(LocalLake.at(lake), [str(grown["months"][-1])])

    con = duckdb.connect()

    def rows(table: str, root: Path, where: str) -> list[tuple]:
        return con.execute(f"SELECT * FROM read_parquet('{root}/transformed/{table}.parquet') WHERE {where} "
                           "ORDER BY ALL").fetchall()

    one_shot = grown["one_shot"]
    assert rows("sensor_runs", lake, "start_ts < TIMESTAMP '2019-04-01'") == []
    assert rows("sensor_runs", one_shot, "start_ts < TIMESTAMP '2019-04-01'") != []
    assert rows("sensor_runs", lake, "end_ts >= TIMESTAMP '2019-05-31'") == rows(
        "sensor_runs", one_shot, "end_ts >= TIMESTAMP '2019-05-31'") != []
    assert rows("weekly_ratios", lake, "week_no < 2572") == []
    assert rows("weekly_ratios", one_shot, "week_no < 2572") != []
    assert rows("weekly_ratios", lake, "week_no >= 2578") == rows("weekly_ratios", one_shot,
                                                                  "week_no >= 2578") != []  # from 2019-05-27


@pytest.mark.slow
def test_a_lake_without_the_last_runs_health_rows_recomputes_them_whole(grown: dict, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for month in grown["months"][:-1]:
        run(LocalLake.at(lake), [str(month)])
    # as a lake published before these tables existed
    (lake / "transformed/sensor_runs.parquet").unlink()
    (lake / "transformed/weekly_ratios.parquet").unlink()
    run(LocalLake.at(lake), [str(grown["months"][-1])])
    expected = curated(grown["one_shot"])
    assert [name for name, body in curated(lake).items() if body != expected[name]] == []
