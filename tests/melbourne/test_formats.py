from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from footfall.errors import InputError
from footfall.lake.local import LocalLake
from footfall.melbourne.detect import detect
from footfall.melbourne.landing import land_file, parse_file

REAL_SAMPLES = [
    ("ods_counts_export_labels_2025-10_5000.csv", "counts", "ods_counts_labels", 5000, 100),
    ("socrata_counts_soda_2019-11_5000.json", "counts", "legacy_counts", 5000, 55),
    ("ods_sensor_locations_export_2026-06.csv", "sensors", "ods_sensors", 136, None),
    ("ods_sensor_locations_export_labels_2023-03.csv", "sensors", "ods_sensors", 108, None),
    ("socrata_sensor_locations_2021-10.csv", "sensors", "legacy_sensors", 78, 78),
    ("socrata_sensor_locations_soda_2022-08.json", "sensors", "legacy_sensors", 86, 86),
]


def stage(tmp_path: Path, path: Path, kind: str) -> list[dict]:
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, kind)
    with duckdb.connect() as con:
        staged = parse_file(con, lake, landed)
        rel = con.sql(f"select * from read_parquet('{lake.root}/transformed/raw_{kind}/*.parquet', "
                      "union_by_name=true)")
        cols = rel.columns
        rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    assert staged.rows is not None
    return rows


@pytest.mark.parametrize(("name", "kind", "fmt", "rows", "ids"), REAL_SAMPLES)
def test_every_real_sample_is_recognised_and_parsed_in_full(real: Path, tmp_path: Path, name: str, kind: str,
                                                           fmt: str, rows: int, ids: int | None) -> None:
    assert detect(real / name).format.name == fmt
    parsed = stage(tmp_path, real / name, kind)
    assert len(parsed) == rows
    assert all(r["reason"] is None for r in parsed)
    assert all(r["location_id"] is not None for r in parsed)
    if ids is not None:
        assert len({r["location_id"] for r in parsed}) == ids


def test_ods_label_sample_maps_every_column(real: Path, tmp_path: Path) -> None:
    rows = stage(tmp_path, real / "ods_counts_export_labels_2025-10_5000.csv", "counts")
    first = next(r for r in rows if r["raw_id"] == "482320240214")
    assert (first["location_id"], str(first["ts"]), first["direction_1"], first["direction_2"],
            first["pedestrians"], first["sensor_code"]) == (48, "2024-02-14 23:00:00", 63, 74, 137, "QVMQ_T")
    assert first["latitude"] == pytest.approx(-37.80631581)
    assert first["longitude"] == pytest.approx(144.95866697)
    assert all(r["pedestrians"] == r["direction_1"] + r["direction_2"] for r in rows)


def test_soda_sample_uses_local_time_and_string_values(real: Path, tmp_path: Path) -> None:
    rows = stage(tmp_path, real / "socrata_counts_soda_2019-11_5000.json", "counts")
    first = next(r for r in rows if r["raw_id"] == "2887628")
    assert (first["location_id"], str(first["ts"]), first["pedestrians"], first["sensor_description"]) == (
        34, "2019-11-01 17:00:00", 300, "Flinders St-Spark La")


LEGACY = """\
ID,Date_Time,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts
1,"November 01, 2019 05:00:00 PM",2019,November,1,Friday,17,34,Flinders St-Spark La,"2,691"
2,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,35,Alfred Place,12
3,01-JUN-2009 00:00,2009,June,1,Monday,0,1,Bourke Street Mall (North),5
4,01-November-2017 17:00,2017,November,1,Wednesday,17,2,Bourke Street Mall (South),"1,234,567"
5,01-Sep-2010 00:00,2010,September,1,Wednesday,13,3,Melbourne Central,40
6,"November 01, 2019 12:00:00 AM",2019,November,1,Friday,0,34,Flinders St-Spark La,0
"""


def test_legacy_csv_reads_every_date_time_variant_and_thousands_separators(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(LEGACY)
    rows = {r["raw_id"]: r for r in stage(tmp_path, path, "counts")}
    assert str(rows["1"]["ts"]) == "2019-11-01 17:00:00" and rows["1"]["pedestrians"] == 2691
    assert str(rows["2"]["ts"]) == "2019-11-01 17:00:00"
    assert str(rows["3"]["ts"]) == "2009-06-01 00:00:00"
    assert str(rows["4"]["ts"]) == "2017-11-01 17:00:00" and rows["4"]["reason"] == (
        "implausible count (over 1,000,000 in an hour)")
    assert str(rows["5"]["ts"]) == "2010-09-01 13:00:00", "Time is the hour where Date_Time says 00:00"
    assert str(rows["6"]["ts"]) == "2019-11-01 00:00:00" and rows["6"]["pedestrians"] == 0


def test_ods_semicolon_export_with_bom_and_field_names(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffid;location_id;sensing_date;hourday;direction_1;direction_2;pedestriancount;"
                     "sensor_name;location\n41520251001;41;2025-10-01;5;3;4;7;Swa295_T;-37.81, 144.96\n"
                     .encode())
    (row,) = stage(tmp_path, path, "counts")
    assert (row["location_id"], str(row["ts"]), row["pedestrians"], row["direction_1"]) == (
        41, "2025-10-01 05:00:00", 7, 3)
    assert detect(path).delimiter == ";"


@pytest.mark.parametrize("suffix", ["json", "jsonl"])
def test_ods_json_and_jsonl_exports(tmp_path: Path, suffix: str) -> None:
    records = ['{"id": 4152025101, "location_id": 41, "sensing_date": "2025-10-01", "hourday": 5, '
               '"direction_1": 3, "direction_2": 4, "pedestriancount": 7, "sensor_name": "Swa295_T", '
               '"location": {"lon": 144.96, "lat": -37.81}}']
    path = tmp_path / f"export.{suffix}"
    path.write_text("[" + ",".join(records) + "]" if suffix == "json" else "\n".join(records) + "\n")
    (row,) = stage(tmp_path, path, "counts")
    assert (row["location_id"], str(row["ts"]), row["pedestrians"], row["latitude"], row["longitude"]) == (
        41, "2025-10-01 05:00:00", 7, -37.81, 144.96)


def test_ods_2023_variant_converts_the_offset_to_melbourne_time(tmp_path: Path) -> None:
    path = tmp_path / "2023.csv"
    path.write_text("timestamp,locationid,direction_1,direction_2,total_of_directions\n"
                    "2023-05-01T10:00:00+10:00,3,1,2,3\n2023-05-01T00:00:00+00:00,4,5,5,10\n")
    rows = sorted(stage(tmp_path, path, "counts"), key=lambda r: r["location_id"])
    assert [str(r["ts"]) for r in rows] == ["2023-05-01 10:00:00", "2023-05-01 10:00:00"]
    assert [r["pedestrians"] for r in rows] == [3, 10]


def test_bad_rows_are_kept_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(LEGACY.splitlines()[0] + "\n"
                    "1,not a date,2019,November,1,Friday,x,34,A,10\n"
                    "2,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,,A,10\n"
                    "3,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,34,A,-4\n"
                    "4,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,34,A,lots\n"
                    "5,11/01/2019 05:00:00 PM,2019\n"
                    "6,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,34,A,10\n")
    reasons = sorted((r["raw_id"] or "", r["reason"] or "") for r in stage(tmp_path, path, "counts"))
    assert reasons[0][1].startswith("malformed CSV line 6")
    assert reasons[1:] == [("1", "unparseable time"), ("2", "missing or non-numeric location id"),
                           ("3", "negative count"), ("4", "missing or non-numeric count"), ("6", "")]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"\x00\x01\x02garbage", "binary content"),
    (b"a,b,c\n1,2,3\n", "matches no known format (header 'a,b,c'); expected one of: legacy hourly counts"),
    (b'{"not": "a list"}', "matches no known format (JSON keys ['not'])"),
    (b"[1, 2, 3]", "JSON records must be objects"),
    (b"[]", "JSON array holds no records"),
    (b'{"total_count": 1, "results": []}', "records-API page"),
])
def test_unknown_content_is_a_clear_error_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.dat"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        detect(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_sensor_file_given_as_counts_says_which_flag_to_use(real: Path) -> None:
    with pytest.raises(InputError, match=r"this is a sensors file .* given as counts; pass it with --sensors"):
        detect(real / "socrata_sensor_locations_2021-10.csv", "counts")
    with pytest.raises(InputError, match="pass it with --counts"):
        detect(real / "socrata_counts_soda_2019-11_5000.json", "sensors")


def test_sensor_locations_columns(real: Path, tmp_path: Path) -> None:
    rows = stage(tmp_path, real / "ods_sensor_locations_export_2026-06.csv", "sensors")
    three = next(r for r in rows if r["location_id"] == 3)
    assert (three["sensor_description"], three["sensor_code"], str(three["installation_date"]),
            three["status"], three["direction_1"]) == ("Melbourne Central", "Swa295_T", "2009-03-25", "A", "North")
    assert three["latitude"] == pytest.approx(-37.81101524)
    assert not any(r["note"] == "<Null>" for r in rows)
    legacy = stage(tmp_path / "b", real / "socrata_sensor_locations_2021-10.csv", "sensors")
    assert str(next(r for r in legacy if r["location_id"] == 55)["installation_date"]) == "2018-07-19"
