"""Sensor health: planted faults are found, clean data raises nothing, real samples pass through."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from support.cli import footfall

from footfall.lake.local import LocalLake
from footfall.melbourne.generate import generate, planted_faults
from footfall.melbourne.run import run

START, END = date(2019, 1, 1), date(2019, 12, 31)
TOP10_COLUMNS = {"top10_by_day": ["date", "rank", "location_id", "location", "pedestrians"],
                 "top10_by_month": ["month", "rank", "location_id", "location", "pedestrians"]}


def read(lake: Path, table: str) -> list[dict]:
    with (lake / "curated" / f"{table}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faulty")
    summary = generate(folder / "counts.csv", seed=5, sensors=12, start=START, end=END,
                       locations=folder / "sensors.csv", faults=True)
    assert len(summary.faults) == 4
    run(LocalLake.at(folder / "lake"), [str(folder / "counts.csv")], [str(folder / "sensors.csv")])
    return folder / "lake"


def test_the_planted_outage_is_found_and_nothing_else(faulty: Path) -> None:
    fault = next(f for f in planted_faults(START, END) if f.kind == "outage")
    outages = read(faulty, "outages")
    assert [int(o["location_id"]) for o in outages] == [fault.sensor]
    found = outages[0]
    # The planted hours, widened only by random missing hours right beside them.
    assert stamp(found["start_ts"]) <= fault.start and stamp(found["end_ts"]) >= fault.end
    assert int(found["hours"]) - 240 <= 4


def test_both_planted_flatlines_are_found_with_their_value_and_nothing_else(faulty: Path) -> None:
    planted = {f.sensor: f for f in planted_faults(START, END) if f.kind == "flatline"}
    flatlines = read(faulty, "flatlines")
    assert sorted(int(f["location_id"]) for f in flatlines) == sorted(planted)
    for found in flatlines:
        fault = planted[int(found["location_id"])]
        assert fault.start <= stamp(found["start_ts"]) and stamp(found["end_ts"]) <= fault.end
        assert int(found["hours"]) >= 24
        assert found["pedestrians"] == ("0" if "of 0" in fault.detail else "37")


def test_the_planted_level_shift_is_found_in_the_weeks_after_it_and_nothing_else(faulty: Path) -> None:
    fault = next(f for f in planted_faults(START, END) if f.kind == "level shift")
    shifts = read(faulty, "level_shifts")
    assert shifts and {int(s["location_id"]) for s in shifts} == {fault.sensor}
    for week in shifts:
        start = date.fromisoformat(week["week_start"])
        assert fault.start.date() - timedelta(days=6) <= start <= fault.start.date() + timedelta(weeks=8)
        assert float(week["relative_level"]) > 2


def test_the_health_row_counts_each_finding_per_location(faulty: Path) -> None:
    health = {int(r["location_id"]): r for r in read(faulty, "sensor_health")}
    assert len(health) == 12
    assert health[4]["outages"] == "1" and health[5]["flatlines"] == "1" and health[6]["flatlines"] == "1"
    assert int(health[8]["level_shift_weeks"]) >= 1
    # the shift starts within 90 days of the end of the data; the others are older
    assert health[8]["status"] == "check" and health[4]["status"] == "ok"
    clean = [r for i, r in health.items() if i not in (4, 5, 6, 8)]
    assert all(r["outages"] == r["flatlines"] == r["level_shift_weeks"] == "0" for r in clean)


def test_the_top10_companions_list_exactly_the_ranked_rows_on_flagged_days(faulty: Path) -> None:
    spans = [(int(o["location_id"]), date.fromisoformat(o["start_date"]), date.fromisoformat(o["end_date"]), kind)
             for table, kind in (("outages", "outage"), ("flatlines", "flatline")) for o in read(faulty, table)]
    spans += [(int(s["location_id"]), date.fromisoformat(s["week_start"]), date.fromisoformat(s["week_end"]),
               "level shift") for s in read(faulty, "level_shifts")]
    expected = {}
    for row in read(faulty, "top10_by_day"):
        day, location = date.fromisoformat(row["date"]), int(row["location_id"])
        kinds = sorted({k for loc, a, b, k in spans if loc == location and a <= day <= b})
        if kinds:
            expected[(row["date"], location)] = kinds
    found = {(r["date"], int(r["location_id"])): sorted(r["flags"].split(", "))
             for r in read(faulty, "top10_by_day_flags")}
    assert found == expected and found
    months = {(r["month"], int(r["location_id"])) for r in read(faulty, "top10_by_month_flags")}
    assert {(d[:7], loc) for d, loc in expected} <= months


def test_the_top10_csvs_keep_their_columns(faulty: Path) -> None:
    for table, columns in TOP10_COLUMNS.items():
        with (faulty / "curated" / f"{table}.csv").open() as handle:
            assert handle.readline().strip().split(",") == columns


@pytest.mark.slow
def test_footfall_top_marks_the_flagged_rows(faulty: Path) -> None:
    flagged = read(faulty, "top10_by_month_flags")[0]
    done = footfall("top", "--lake", str(faulty), "--by", "month", "--month", flagged["month"], "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    marked = {r["location_id"]: r["flags"] for r in rows if r["flags"]}
    assert marked == {r["location_id"]: r["flags"] for r in read(faulty, "top10_by_month_flags")
                      if r["month"] == flagged["month"]}


@pytest.mark.slow
def test_clean_generated_data_raises_no_alarm_even_across_the_lockdowns(tmp_path: Path) -> None:
    generate(tmp_path / "counts.csv", seed=3, sensors=20, start=date(2019, 1, 1), end=date(2020, 12, 31),
             locations=tmp_path / "sensors.csv")
    run(LocalLake.at(tmp_path / "lake"), [str(tmp_path / "counts.csv")], [str(tmp_path / "sensors.csv")])
    for table in ("outages", "flatlines", "level_shifts", "top10_by_day_flags", "top10_by_month_flags"):
        assert read(tmp_path / "lake", table) == [], table
    health = read(tmp_path / "lake", "sensor_health")
    assert len(health) == 20 and {r["status"] for r in health} == {"ok"}


@pytest.mark.slow
def test_real_samples_give_a_health_row_per_location(real: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(real / "socrata_counts_soda_2019-11_5000.json"),
                        str(real / "ods_counts_export_labels_2025-10_5000.csv")],
        [str(real / "ods_sensor_locations_export_2026-06.csv")])
    coverage = {r["location_id"] for r in read(lake, "coverage")}
    health = read(lake, "sensor_health")
    assert {r["location_id"] for r in health} == coverage and coverage
    for table in ("outages", "flatlines", "level_shifts", "top10_by_day_flags", "top10_by_month_flags"):
        assert (lake / "curated" / f"{table}.parquet").is_file(), table


@pytest.mark.slow
def test_faults_need_enough_sensors_and_days(tmp_path: Path) -> None:
    done = footfall("generate", str(tmp_path / "x.csv"), "--sensors", "4", "--faults")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: --faults needs at least 8 sensors and 120 days"]


def test_weekly_ratios_equal_an_independent_computation_of_both_medians(faulty: Path) -> None:
    """weekly_ratios.sql takes its medians from sorted rows; recomputed here from the hourly table with
    ``statistics.median``, value for value (docs/definitions.md, level shifts, steps 1-2)."""
    import statistics
    from collections import defaultdict

    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    hourly = ds.dataset(faulty / "transformed/hourly_counts", format="parquet", partitioning="hive")
    cells: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for row in hourly.to_table(columns=["location_id", "ts", "pedestrians"]).to_pylist():
        hour_no = int((row["ts"] - datetime(1970, 1, 1)).total_seconds()) // 3600 + 72  # weeks from Monday
        cells[(row["location_id"], hour_no // 168, hour_no % 168 // 6)].append(row["pedestrians"])
    weeks: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)  # (location, cell) -> week -> count
    for (location, week, cell), counts in cells.items():
        if len(counts) == 6:
            weeks[(location, cell)][week] = sum(counts)
    compared: dict[tuple[int, int], list[float]] = defaultdict(list)
    for (location, _cell), by_week in weeks.items():
        for week, count in by_week.items():
            trailing = [by_week[w] for w in range(week - 8, week) if w in by_week]
            if len(trailing) >= 4 and statistics.median(trailing) >= 60:
                compared[(location, week)].append(count / statistics.median(trailing))
    expected = {(location, week, statistics.median(ratios), len(ratios))
                for (location, week), ratios in compared.items() if len(ratios) >= 8}
    found = {tuple(r.values()) for r in pq.read_table(faulty / "transformed/weekly_ratios.parquet").to_pylist()}
    assert len(expected) > 500
    assert found == expected
