"""The Melbourne pipeline on Spark publishes byte for byte the answers it publishes on DuckDB: the whole set of
answers, the sensor health findings and the locations whose coordinates are set aside."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.samples import SENSORS, SODA

from footfall.lake.local import LocalLake

pytestmark = pytest.mark.spark


def melbourne_on(engine: str, lake: Path, counts: list[str], sensors: list[str], spark: object) -> dict[str, bytes]:
    from footfall.engines.spark import SparkEngine
    from footfall.melbourne.run import run

    run(LocalLake.at(lake), counts, sensors, engine=SparkEngine(session=spark) if engine == "spark" else engine)
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv"))}


def test_the_melbourne_pipeline_gives_byte_identical_answers_on_spark(spark: object, real: Path,
                                                                      tmp_path: Path) -> None:
    from datetime import date

    from footfall.melbourne.generate import generate

    history = tmp_path / "history.csv"
    generate(history, fmt="archive", seed=11, sensors=4, start=date(2019, 1, 1), end=date(2021, 12, 31))
    counts = [str(history), str(real / SODA)]
    sensors = [str(real / SENSORS)]
    duck = melbourne_on("duckdb", tmp_path / "duck", counts, sensors, spark)
    on_spark = melbourne_on("spark", tmp_path / "spark", counts, sensors, spark)
    assert set(on_spark) == set(duck)
    assert [name for name in duck if duck[name] != on_spark[name]] == []
    for answer in ("top10_by_day.csv", "lockdown_impact.csv", "growth_last_year.csv", "top10_by_weekday.csv"):
        assert duck[answer].count(b"\n") > 4, f"{answer} has rows to compare"


def test_sensor_health_finds_the_same_faults_on_spark(spark: object, tmp_path: Path) -> None:
    from datetime import date

    from footfall.melbourne.generate import generate

    counts = tmp_path / "faults.csv"
    generate(counts, fmt="archive", seed=5, sensors=8, start=date(2019, 1, 1), end=date(2019, 6, 30), faults=True)
    early = tmp_path / "early.csv"  # and a lake-wide hole from September 2018 to the faulty half year
    generate(early, fmt="archive", seed=5, sensors=6, start=date(2018, 7, 1), end=date(2018, 8, 31))
    inputs = [str(early), str(counts)]
    duck = melbourne_on("duckdb", tmp_path / "duck", inputs, [], spark)
    on_spark = melbourne_on("spark", tmp_path / "spark", inputs, [], spark)
    health = ("outages.csv", "flatlines.csv", "level_shifts.csv", "sensor_health.csv", "top10_by_day_flags.csv",
              "top10_by_month_flags.csv", "data_gaps.csv", "coverage.csv")
    assert [name for name in health if duck[name] != on_spark[name]] == []
    for answer in ("outages.csv", "flatlines.csv", "level_shifts.csv", "data_gaps.csv"):
        assert duck[answer].count(b"\n") >= 2, f"{answer} has findings to compare"


def test_unusable_coordinates_are_set_aside_alike_on_spark(spark: object, real: Path, tmp_path: Path) -> None:
    """Spark's NaN, infinity and comparisons give the locations (positions and notes) DuckDB gives."""
    import csv
    import io
    from datetime import date

    import duckdb

    from footfall.melbourne.generate import generate

    rows = list(csv.reader(io.StringIO((real / SENSORS).read_text(
        encoding="utf-8-sig")), delimiter=";"))
    lat, lon = rows[0].index("latitude"), rows[0].index("longitude")
    planted = [("144.9", "-37.8"), ("nan", "144.9"), ("-37.8", "-inf"), ("95", "144.9"), ("-37.8", ""), ("0", "0")]
    for row, pair in zip(rows[1:], planted, strict=False):
        row[lat], row[lon] = pair
    sensors = tmp_path / "sensors.csv"
    with sensors.open("w", newline="") as f:
        csv.writer(f, delimiter=";").writerows(rows)
    counts = tmp_path / "counts.csv"
    generate(counts, fmt="archive", seed=3, sensors=3, start=date(2019, 1, 1), end=date(2019, 1, 31))
    found = {}
    for engine in ("duckdb", "spark"):
        melbourne_on(engine, tmp_path / engine, [str(counts)], [str(sensors)], spark)
        path = tmp_path / engine / "transformed" / "locations.parquet"
        found[engine] = duckdb.sql(f"SELECT location_id, latitude, longitude, coordinates_note FROM "
                                   f"read_parquet('{path}') ORDER BY location_id").fetchall()
    assert found["spark"] == found["duckdb"]
    assert sum(1 for r in found["duckdb"] if r[3] is not None) == len(planted)
