"""Landing: whatever a file is called and whatever bytes its lines hold, the lake stays readable by every later
run, and a line that cannot be decoded is quarantined with its bytes and counted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from support.cli import footfall

from footfall.errors import InputError, LakeError
from footfall.lake.local import LocalLake
from footfall.melbourne.landing import land_file, parse_file

COUNTS = (b"ID,Date_Time,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts\n"
          b"1,11/01/2019 05:00:00 PM,2019,November,1,Friday,17,34,Flinders St-Spark La,300\n")
SENSORS_HEADER = b"location_id,sensor_description,sensor_name,installation_date,status,latitude,longitude\n"
GOOD_SENSOR = b"35,Alfred Place,Alf_T,2009-03-24,A,-37.81,144.96\n"


def _named(folder: Path, name: bytes, content: bytes) -> Path:
    """A file whose name is given as bytes (not necessarily UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + name))
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", [b"counts-\xff.csv", b"\xe9t\xe9.csv", b"ok-\xc3\xa9-\xc3.csv"])
@pytest.mark.slow
def test_a_file_named_in_bytes_that_are_not_utf8_lands_and_every_later_run_reads_its_manifest(
        tmp_path: Path, name: bytes) -> None:
    path = _named(tmp_path / "in", name, COUNTS)
    lake = tmp_path / "lake"
    for _ in range(2):
        done = footfall("run", "--counts", str(path), "--lake", str(lake))
        assert done.returncode == 0, done.stderr
    other = _named(tmp_path / "in", b"other.csv", COUNTS.replace(b",300\n", b",301\n").replace(b"1,11/", b"2,11/"))
    assert footfall("run", "--counts", str(other), "--lake", str(lake)).returncode == 0
    [manifest] = [m for m in (lake / "landing/counts").glob("*.manifest.json")
                  if "other" not in json.loads(m.read_text())["origin"]]
    read = duckdb.sql(f"select origin, origin_hex from read_json('{manifest}')").fetchall()
    [(origin, origin_hex)] = read
    assert bytes.fromhex(origin_hex) == os.fsencode(path)
    assert origin.encode("utf-8") == os.fsencode(path).decode("utf-8", "backslashreplace").encode("utf-8")


def test_a_file_named_in_utf8_keeps_its_name_and_no_hex(tmp_path: Path) -> None:
    path = _named(tmp_path / "in", "café ☕.csv".encode(), COUNTS)
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, "counts")
    assert (landed.origin, landed.origin_hex) == (str(path), "")


def test_a_url_with_bytes_that_are_not_utf8_leaves_a_manifest_json_readers_accept(tmp_path: Path) -> None:
    path = _named(tmp_path / "in", b"counts.csv", COUNTS)
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    url = os.fsdecode(b"https://portal.example/exports/counts-\xff.csv")
    land_file(lake, path, "counts", origin=url, fetch={"url": url, "pages": [url]})
    read = duckdb.sql(f"select origin, origin_hex, json_extract_string(to_json(\"fetch\"), '$.url') "
                      f"from read_json('{lake.root}/landing/counts/*.json')")
    assert read.fetchall() == [("https://portal.example/exports/counts-\\xff.csv",
                                b"https://portal.example/exports/counts-\xff.csv".hex(),
                                "https://portal.example/exports/counts-\\xff.csv")]


@pytest.mark.parametrize("name", [b"lake-\xfe", b"\xff\xfe"])
def test_a_lake_path_that_is_not_utf8_is_one_line_naming_it_escaped(tmp_path: Path, name: bytes) -> None:
    path = os.fsdecode(os.fsencode(tmp_path) + b"/" + name)
    escaped = os.fsencode(path).decode("utf-8", "backslashreplace")
    with pytest.raises(LakeError) as refused:
        LocalLake.at(path)
    assert str(refused.value) == (f"{escaped}: the lake's path is not UTF-8 text, and the engines open only UTF-8 "
                                  "paths: rename the folder or choose another")


@pytest.mark.slow
def test_a_run_on_a_lake_path_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    counts = _named(tmp_path / "in", b"counts.csv", COUNTS)
    done = footfall("run", "--counts", str(counts), "--lake", os.fsdecode(os.fsencode(tmp_path) + b"/lake-\xfe"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path}/lake-\\xfe: the lake's path is not UTF-8 text, and the engines open only UTF-8 paths: "
        "rename the folder or choose another")


# ---- lines that cannot be decoded --------------------------------------------------------------------

UNDECODABLE = {
    # kind, content, the quarantined lines as stored (escaped), the rows read
    "sensors, a description": ("sensors", SENSORS_HEADER + b"34,Flinders \xffSt,Fli_T,2009-03-24,A,-37.81,144.96\n"
                               + GOOD_SENSOR, ["34,Flinders \\xffSt,Fli_T,2009-03-24,A,-37.81,144.96"], 1),
    "sensors, the id": ("sensors", SENSORS_HEADER + GOOD_SENSOR + b"3\xe96,Caf\xe9,Alf_T,2009-03-24,A,-37.81,144.96\n",
                        ["3\\xe96,Caf\\xe9,Alf_T,2009-03-24,A,-37.81,144.96"], 1),
    "sensors, a Latin-1 file": ("sensors", SENSORS_HEADER + b"36,Caf\xe9 Ren\xe9,Caf_T,2009-03-24,A,-37.8,144.9\n"
                                b"37,Cr\xe8me,Cre_T,2009-03-24,A,-37.8,144.9\n",
                                ["36,Caf\\xe9 Ren\\xe9,Caf_T,2009-03-24,A,-37.8,144.9",
                                 "37,Cr\\xe8me,Cre_T,2009-03-24,A,-37.8,144.9"], 0),
    "sensors, mixed UTF-8 and Latin-1, a quoted line break": (
        "sensors", SENSORS_HEADER + "38,Café,Caf_T,2009-03-24,A,-37.8,144.9\n".encode()
        + b'"39","two\nlines \xe9",Two_T,2009-03-24,A,-37.8,144.9\n' + GOOD_SENSOR,
        ['"39","two\nlines \\xe9",Two_T,2009-03-24,A,-37.8,144.9'], 2),
    "counts, a name": ("counts", COUNTS + b"2,11/01/2019 06:00:00 PM,2019,November,1,Friday,18,34,Fl\xefnders,21\n",
                       ["2,11/01/2019 06:00:00 PM,2019,November,1,Friday,18,34,Fl\\xefnders,21"], 1),
    "counts, the id": ("counts", COUNTS + b"3,11/01/2019 07:00:00 PM,2019,November,1,Friday,19,3\xff,F,22\n",
                       ["3,11/01/2019 07:00:00 PM,2019,November,1,Friday,19,3\\xff,F,22"], 1),
}


@pytest.mark.parametrize(("kind", "content", "lines", "read"), UNDECODABLE.values(), ids=UNDECODABLE)
def test_a_line_with_bytes_that_are_not_utf8_is_quarantined_with_its_bytes_escaped(
        tmp_path: Path, kind: str, content: bytes, lines: list[str], read: int) -> None:
    path = _named(tmp_path / "in", b"data.csv", content)
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, kind)
    with duckdb.connect() as con:
        staged = parse_file(con, lake, landed)
        rows = con.sql(f"select reason, raw_line from read_parquet('{lake.root}/transformed/raw_{kind}/*.parquet', "
                       "union_by_name = true) order by raw_line").fetchall()
    assert staged.rejected == len(lines)
    assert sorted(r[1] for r in rows if r[0]) == sorted(lines)
    assert all("not utf-8 encoded" in r[0] for r in rows if r[0])
    assert sum(1 for r in rows if r[0] is None) == read


@pytest.mark.slow
def test_undecodable_sensor_rows_are_in_the_quarantine_and_its_summary(tmp_path: Path) -> None:
    sensors = _named(tmp_path / "in", b"sensors.csv", UNDECODABLE["sensors, a Latin-1 file"][1])
    counts = _named(tmp_path / "in", b"counts.csv", UNDECODABLE["counts, a name"][1])
    done = footfall("run", "--counts", str(counts), "--sensors", str(sensors), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    assert "3 row(s) quarantined" in done.stderr
    quarantine = duckdb.sql(f"select source, raw_line, input_rows from "
                            f"'{tmp_path}/lake/transformed/quarantine.parquet' order by all").fetchall()
    assert quarantine == [
        ("legacy_counts", "2,11/01/2019 06:00:00 PM,2019,November,1,Friday,18,34,Fl\\xefnders,21", 1),
        ("ods_sensors", "36,Caf\\xe9 Ren\\xe9,Caf_T,2009-03-24,A,-37.8,144.9", 1),
        ("ods_sensors", "37,Cr\\xe8me,Cre_T,2009-03-24,A,-37.8,144.9", 1)]
    summary = duckdb.sql(f"select source, sum(rows_quarantined), max(files) from "
                         f"'{tmp_path}/lake/curated/quarantine_summary.csv' group by source order by source").fetchall()
    assert summary == [("legacy_counts", 1, 1), ("ods_sensors", 2, 1)]
    again = footfall("run", "--counts", str(counts), "--lake", str(tmp_path / "lake"))
    assert again.returncode == 0, again.stderr
    assert duckdb.sql(f"select count(*) from '{tmp_path}/lake/transformed/quarantine.parquet'").fetchall() == [(3,)]


@pytest.mark.parametrize(("value", "reason"), [(b"3x", "location id not a whole number"),
                                               (b"", "missing or non-numeric location id")])
def test_a_sensor_row_with_a_bad_id_keeps_its_fields_text_for_the_quarantine(tmp_path: Path, value: bytes,
                                                                               reason: str) -> None:
    path = _named(tmp_path / "in", b"sensors.csv", SENSORS_HEADER + value + b",Flinders St,Fli_T,2009-03-24,A,"
                  b"-37.81,144.96\n" + GOOD_SENSOR)
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, path, "sensors")
    with duckdb.connect() as con:
        parse_file(con, lake, landed)
        [(got, raw)] = con.sql(f"select reason, raw_line from '{lake.root}/transformed/raw_sensors/*.parquet' "
                               "where reason is not null").fetchall()
    assert got == reason
    assert json.loads(raw) | {"location_id": None} == {
        "location_id": None, "sensor_description": "Flinders St", "sensor_name": "Fli_T",
        "installation_date": "2009-03-24", "status": "A", "latitude": "-37.81", "longitude": "144.96",
        "direction_1": None, "direction_2": None, "location": None, "location_type": None, "note": None}
    assert json.loads(raw)["location_id"] == (value.decode() or None)


@pytest.mark.parametrize("name", [b"sensors.json", b"sensors.jsonl"])
def test_a_json_file_with_bytes_that_are_not_utf8_is_refused_whole_in_one_line(tmp_path: Path, name: bytes) -> None:
    """JSON has no lines to set aside one by one: the file is refused, named, and (by the run) set aside."""
    records = [b'{"location_id": 35, "sensor_description": "Alfred Place", "sensor_name": "A"}',
               b'{"location_id": 34, "sensor_description": "Flinders \xffSt", "sensor_name": "F"}']
    content = b"[" + b",\n".join(records) + b"]" if name.endswith(b".json") else b"\n".join(records) + b"\n"
    lake = LocalLake.at(tmp_path / "lake")
    lake.ensure()
    landed, _ = land_file(lake, _named(tmp_path / "in", name, content), "sensors")
    with duckdb.connect() as con, pytest.raises(InputError, match=r"cannot read as Opendatasoft sensor locations .*"
                                                                  r"invalid UTF-8 encoding in string"):
        parse_file(con, lake, landed)
