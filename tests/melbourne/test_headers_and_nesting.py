"""A file's header and JSON structure: required names found anywhere in the sniffed bytes, and empty, blank or
duplicate names, a huge header line or deeply nested JSON end in the real problem in one line."""


from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from support.cli import footfall, one_line_error
from support.counts import LEGACY_HEADER

from footfall.melbourne.detect import MAX_HEADER_BYTES, SNIFF_BYTES, detect

# ---- class 11 (headers) and 6 (parsing): one clear line ----------------------------------------------

NAMES = [f"Extra_Column_{i:05d}" for i in range(SNIFF_BYTES // 19 + 50)]


def _cut_into_a_copy() -> str:
    """Unique names, the last one crossing the 64 KB mark so that its cut is the name of another column."""
    start = LEGACY_HEADER.strip() + "," + ",".join(f"c{i}" for i in range(1000)) + ","
    filler = "f" * (SNIFF_BYTES - 2 - len(start) - 1) + ","
    header = start + filler + "c1_continues_past_the_mark"
    assert header.index("c1_continues") == SNIFF_BYTES - 2
    return header


# (what, header line, the error; None when the file must parse)
HEADER_PROBES = [
    ("required names after 64 KB", ",".join(NAMES) + "," + LEGACY_HEADER.strip(), None),
    ("a name across the 64 KB mark", LEGACY_HEADER.strip() + "," + ",".join(NAMES), None),
    ("a name cut at 64 KB into a copy of another", _cut_into_a_copy(), None),
    ("an empty name", "ID,Date_Time,,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts",
     "header column 3 of 11 has no name: every column needs one"),
    ("a trailing delimiter", LEGACY_HEADER.strip() + ",",
     "header column 11 of 11 has no name: every column needs one"),
    ("a blank name", "ID,Date_Time, ,Year,Month,Mdate,Day,Time,Sensor_ID,Sensor_Name,Hourly_Counts",
     "header column 3 of 11 has no name: every column needs one"),
    ("a duplicate name", LEGACY_HEADER.strip() + ",Sensor_ID",
     "header names 'Sensor_ID' twice (columns 8 and 11; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
    ("a duplicate in another case", LEGACY_HEADER.strip() + ",hourly_counts",
     "header names 'hourly_counts' twice (columns 10 and 11; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
    ("a duplicate in another spelling", LEGACY_HEADER.strip() + ",Sensor ID",
     "header names 'Sensor ID' twice (columns 8 and 11; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
    ("a duplicate unused name", LEGACY_HEADER.strip() + ",Note,NOTE",
     "header names 'NOTE' twice (columns 11 and 12; names are compared without case, spaces or punctuation): "
     "which one to read is ambiguous"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("what", "header", "error"), HEADER_PROBES, ids=[p[0] for p in HEADER_PROBES])
def test_long_empty_and_duplicate_header_names_give_the_real_problem(tmp_path: Path, what: str, header: str,
                                                                    error: str | None) -> None:
    names = header.split(",")
    values = {"ID": "1", "Date_Time": "01-Nov-2019 17:00", "Time": "17", "Sensor_ID": "34", "Hourly_Counts": "300"}
    path = tmp_path / "counts.csv"
    path.write_text(header + "\n" + ",".join(values.get(n, "x") for n in names) + "\n")
    done = footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake"))
    if error is None:
        assert done.returncode == 0, done.stderr
        top = duckdb.sql(f"select location_id, pedestrians from '{tmp_path}/lake/curated/daily_counts.parquet'")
        assert top.fetchall() == [(34, 300)]
    else:
        assert one_line_error(done) == f"error: {path}: {error}"


@pytest.mark.slow
def test_a_header_line_over_16_mb_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    with path.open("w") as handle:
        handle.write(LEGACY_HEADER.strip())
        handle.write(",x" * (MAX_HEADER_BYTES // 2 + 1) + "\n1\n")
    line = one_line_error(footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake")))
    assert line == f"error: {path}: the header line is longer than 16 MB: not a CSV file footfall can read"


GOOD_RECORD = '{"id": "1", "date_time": "2019-11-01T17:00:00.000", "sensor_id": "34", "hourly_counts": "300"}'

# (what, file name, content)
NESTED_JSON_PROBES = [
    ("arrays", "deep.json", "[" * 100_000),
    ("objects", "deep.json", '{"a":' * 50_000 + "1" + "}" * 50_000),
    ("a record's value", "deep.json", '[{"sensor_id": ' + "[" * 100_000 + "]" * 100_000 + "}]"),
    ("JSON lines", "deep.jsonl", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + GOOD_RECORD + "\n"),
]


@pytest.mark.parametrize(("what", "name", "content"), NESTED_JSON_PROBES, ids=[p[0] for p in NESTED_JSON_PROBES])
def test_deeply_nested_json_is_one_line(tmp_path: Path, what: str, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    line = one_line_error(footfall("run", "--counts", str(path), "--lake", str(tmp_path / "lake")))
    assert line == f"error: {path}: JSON nested too deeply to be a record of counts or sensor locations"


def test_a_first_json_record_longer_than_64_kb_is_read(tmp_path: Path) -> None:
    record = json.loads(GOOD_RECORD) | {"sensor_name": "x" * (SNIFF_BYTES + 10)}
    path = tmp_path / "counts.json"
    path.write_text(json.dumps([record]))
    assert detect(path).format.name == "legacy_counts"
