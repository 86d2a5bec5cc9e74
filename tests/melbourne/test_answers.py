"""The Melbourne answers, checked against an independent plain-Python computation."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest
from support.synthetic import (
    LOCATIONS,
    LOCKDOWNS,
    RENAMED,
    TIE_DAY,
    in_lockdown,
    make_rows,
    write_archive,
    write_revision,
)

from footfall.lake.local import LocalLake
from footfall.melbourne.run import run

# ---- the independent computation -------------------------------------------------------------

def reference_hourly(rows: list[dict], revised: list[dict]) -> dict[tuple[int, datetime], int]:
    hourly: dict[tuple[int, datetime], int] = defaultdict(int)
    newer = {(r["loc"], r["ts"]) for r in revised}
    for r in rows:
        if (r["loc"], r["ts"]) not in newer:
            hourly[(r["loc"], r["ts"])] += r["count"]
    for r in revised:
        hourly[(r["loc"], r["ts"])] += r["count"]
    return hourly


def ranked(totals: dict[tuple, int]) -> list[tuple]:
    """(period, rank, location, total) for RANK() by total descending, rank <= 10."""
    by_period: dict = defaultdict(list)
    for (loc, period), total in totals.items():
        by_period[period].append((loc, total))
    out = []
    for period in sorted(by_period):
        values = by_period[period]
        for loc, total in values:
            rank = 1 + sum(1 for _, other in values if other > total)
            if rank <= 10:
                out.append((str(period), rank, loc, total))
    return sorted(out, key=lambda t: (t[0], t[1], t[2]))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("melbourne")
    rows = make_rows()
    write_archive(rows, folder / "archive.csv")
    revised = write_revision(rows, folder / "live.csv")
    lake = LocalLake.at(folder / "lake")
    result = run(lake, [str(folder / "archive.csv"), str(folder / "live.csv")])
    hourly = reference_hourly(rows, revised)
    daily: dict[tuple[int, date], int] = defaultdict(int)
    for (loc, ts), n in hourly.items():
        daily[(loc, ts.date())] += n
    return {"folder": folder, "lake": lake, "result": result, "rows": rows, "hourly": hourly, "daily": daily}


def read_csv(lake: LocalLake, name: str) -> list[dict]:
    with (lake.root / "curated" / f"{name}.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_top10_by_day_matches_an_independent_computation(scenario: dict) -> None:
    expected = ranked(scenario["daily"])
    got = [(r["date"], int(r["rank"]), int(r["location_id"]), int(r["pedestrians"]))
           for r in read_csv(scenario["lake"], "top10_by_day")]
    assert got == expected


def test_ties_at_rank_10_share_the_rank_and_give_more_rows(scenario: dict) -> None:
    rows = [r for r in read_csv(scenario["lake"], "top10_by_day") if r["date"] == str(TIE_DAY)]
    assert [int(r["rank"]) for r in rows][-2:] == [10, 10]
    assert len(rows) == 11


def test_top10_by_month_matches_an_independent_computation(scenario: dict) -> None:
    monthly: dict[tuple[int, str], int] = defaultdict(int)
    for (loc, day), n in scenario["daily"].items():
        monthly[(loc, f"{day:%Y-%m}")] += n
    got = [(r["month"], int(r["rank"]), int(r["location_id"]), int(r["pedestrians"]))
           for r in read_csv(scenario["lake"], "top10_by_month")]
    assert got == ranked(monthly)
    assert list(read_csv(scenario["lake"], "top10_by_month")[0]) == [
        "month", "rank", "location_id", "location", "pedestrians"]


def test_dst_days_partial_days_revisions_and_duplicates(scenario: dict) -> None:
    daily = {(int(r["location_id"]), r["date"]): r for r in read_csv(scenario["lake"], "daily_counts")}
    assert daily[(1, "2021-10-03")]["hours_reported"] == "23"
    assert daily[(1, "2021-04-04")]["hours_reported"] == "24"
    repeated = scenario["hourly"][(2, datetime(2021, 4, 4, 2))]
    assert repeated == 33 + next(r["count"] for r in scenario["rows"]
                                 if r["loc"] == 2 and r["ts"] == datetime(2021, 4, 4, 2) and r["count"] != 33)
    assert daily[(5, "2021-03-01")]["hours_reported"] == "1"
    assert int(daily[(1, "2021-12-15")]["pedestrians"]) == scenario["daily"][(1, date(2021, 12, 15))]
    first = scenario["rows"][0]
    assert int(daily[(first["loc"], str(first["ts"].date()))]["pedestrians"]) == scenario["daily"][
        (first["loc"], first["ts"].date())], "the exact duplicate row counts once"


def test_renamed_location_shows_its_latest_name_and_keeps_both(scenario: dict) -> None:
    import duckdb

    loc = duckdb.sql(f"select location, names from '{scenario['lake'].root}/transformed/locations.parquet' "
                     f"where location_id = {RENAMED[0]}").fetchall()[0]
    assert loc == (RENAMED[3], f"{RENAMED[2]} | {RENAMED[3]}")
    assert {r["location"] for r in read_csv(scenario["lake"], "top10_by_day") if r["location_id"] == "3"} == {
        RENAMED[3]}


def test_bad_rows_and_duplicate_copies_are_quarantined_and_counted(scenario: dict) -> None:
    assert scenario["result"].quarantined == 2
    lines = [(r["reason"], r["rows_quarantined"]) for r in read_csv(scenario["lake"], "quarantine_summary")]
    assert lines == [("exact duplicate of another row", "1"), ("unparseable time", "1")]


def test_lockdown_impact_matches_an_independent_computation(scenario: dict) -> None:
    lockdown_days = sum((end - start).days + 1 for start, end in LOCKDOWNS)
    assert lockdown_days == 263
    expected = {}
    for loc in LOCATIONS:
        base = [n for (lc, d), n in scenario["daily"].items() if lc == loc and d.year == 2019]
        during = [n for (lc, d), n in scenario["daily"].items() if lc == loc and in_lockdown(d)]
        if len(base) * 2 >= 365 and len(during) * 2 >= lockdown_days:
            b, w = sum(base) / len(base), sum(during) / len(during)
            expected[loc] = (w - b) * 100 / b
    got = read_csv(scenario["lake"], "lockdown_impact")
    assert {int(r["location_id"]) for r in got} == set(expected)
    for r in got:
        assert float(r["change_pct"]) == pytest.approx(expected[int(r["location_id"])], abs=0.006)
    order = sorted(expected, key=lambda loc: expected[loc])
    assert [int(r["location_id"]) for r in got] == order
    assert got[0]["rank"] == "1"


def test_growth_last_year_matches_an_independent_computation(scenario: dict) -> None:
    # data runs to 2021-12-31 23:00, so December 2021 is complete: 2021 against 2020
    expected = {}
    for loc in LOCATIONS:
        last = [n for (lc, d), n in scenario["daily"].items() if lc == loc and d.year == 2021]
        prior = [n for (lc, d), n in scenario["daily"].items() if lc == loc and d.year == 2020]
        expected[loc] = (sum(last) / len(last) - sum(prior) / len(prior)) * 100 / (sum(prior) / len(prior))
    got = read_csv(scenario["lake"], "growth_last_year")
    assert {(r["period_start"], r["period_end"]) for r in got} == {("2021-01-01", "2021-12-31")}
    for r in got:
        assert float(r["growth_pct"]) == pytest.approx(expected[int(r["location_id"])], abs=0.006)
    assert [int(r["location_id"]) for r in got] == sorted(expected, key=lambda loc: -expected[loc])


def test_peak_hours_match_an_independent_computation(scenario: dict) -> None:
    sums: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (loc, ts), n in scenario["hourly"].items():
        sums[(loc, ts.hour)].append(n)
    for r in read_csv(scenario["lake"], "peak_hours"):
        loc = int(r["location_id"])
        averages = {h: round(sum(v) / len(v), 2) for (lc, h), v in sums.items() if lc == loc}
        best = max(averages.values())
        assert int(r["peak_hour"]) == min(h for h, a in averages.items() if a == best)


def test_weekday_reading_averages_daily_totals_per_weekday(scenario: dict) -> None:
    per: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (loc, day), n in scenario["daily"].items():
        per[(loc, day.isoweekday())].append(n)
    monday = [r for r in read_csv(scenario["lake"], "top10_by_weekday") if r["weekday"] == "1"]
    assert monday[0]["weekday_name"] == "Monday"
    best = max((sum(v) / len(v), loc) for (loc, wd), v in per.items() if wd == 1)
    assert (int(monday[0]["location_id"]), float(monday[0]["avg_daily_pedestrians"])) == (
        best[1], pytest.approx(best[0], abs=0.006))


@pytest.mark.slow
def test_a_second_run_gives_byte_identical_csvs(scenario: dict) -> None:
    lake: LocalLake = scenario["lake"]
    before = {p.name: p.read_bytes() for p in (lake.root / "curated").glob("*.csv")}
    again = run(lake, [str(scenario["folder"] / "archive.csv")])
    assert again.landed == [] and len(again.unchanged) == 1 and again.staged == []
    after = {p.name: p.read_bytes() for p in (lake.root / "curated").glob("*.csv")}
    assert after == before


@pytest.mark.slow
def test_real_soda_sample_top10_matches_plain_python(real: Path, tmp_path: Path) -> None:
    records = json.loads((real / "socrata_counts_soda_2019-11_5000.json").read_text())
    daily: dict[tuple[int, str], int] = defaultdict(int)
    for rec in records:
        daily[(int(rec["sensor_id"]), rec["date_time"][:10])] += int(rec["hourly_counts"])
    lake = LocalLake.at(tmp_path / "lake")
    run(lake, [str(real / "socrata_counts_soda_2019-11_5000.json")],
        [str(real / "ods_sensor_locations_export_2026-06.csv")])
    got = read_csv(lake, "top10_by_day")
    assert [(r["date"], int(r["rank"]), int(r["location_id"]), int(r["pedestrians"])) for r in got] == ranked(daily)
    with (real / "ods_sensor_locations_export_2026-06.csv").open() as handle:
        described = {int(r["location_id"]): r["sensor_description"] for r in csv.DictReader(handle, delimiter=";")}
    names = {int(r["location_id"]): r["location"] for r in got}
    for loc, name in names.items():
        if loc in described:
            assert name == described[loc]


@pytest.mark.slow
def test_adding_a_publication_rebuilds_only_the_months_it_touches(scenario: dict, tmp_path: Path) -> None:
    lake = LocalLake.at(tmp_path / "lake")
    run(lake, [str(scenario["folder"] / "archive.csv")])
    untouched = lake.root / "transformed/hourly_counts/year=2020/month=6"
    before = {p.name: p.stat().st_ino for p in untouched.iterdir()}
    second = run(lake, [str(scenario["folder"] / "live.csv")])
    rebuilt = next(e for e in second.run.events if e.kind == "step" and e.name == "hourly_changes")
    assert rebuilt.rows == sum(1 for loc, ts in scenario["hourly"] if ts >= datetime(2021, 12, 1))
    assert {p.name: p.stat().st_ino for p in untouched.iterdir()} == before, "untouched months are carried over"
    one_shot = {p.name: p.read_bytes() for p in (scenario["lake"].root / "curated").glob("*.csv")}
    assert {p.name: p.read_bytes() for p in (lake.root / "curated").glob("*.csv")} == one_shot
