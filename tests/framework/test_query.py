"""`footfall query`: read-only SQL over the lake's tables by name, on a local and an S3 lake."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow.parquet as pq
import pytest
from support.cli import footfall

from footfall import query, readonly
from footfall.dag import Pipeline
from footfall.errors import SqlError
from footfall.lake import Lake
from footfall.melbourne.generate import generate
from footfall.melbourne.run import pipeline, run

DONE_WHEN = ("select location, sum(pedestrians) from hourly_counts_located where date = '2019-12-31' group by 1 "
             "order by 2 desc limit 5")
REFUSED = {
    "copy (select 1) to 'x.csv'": "COPY is refused",
    "attach 'other.db' as other": "ATTACH is refused",
    "install httpfs": "INSTALL is refused",
    "load httpfs": "LOAD is refused",
    "create table t as select 1": "CREATE is refused",
    "insert into top10_by_day values (1)": "INSERT is refused",
    "update locations set location = 'x'": "UPDATE is refused",
    "delete from locations": "DELETE is refused",
    "drop view locations": "DROP is refused",
    "set enable_external_access = true": "SET is refused",
    "pragma version": "PRAGMA is refused",
    "call pragma_version()": "CALL is refused",
    "export database '/tmp/x'": "EXPORT is refused",
    "select 1; drop table top10_by_day": "DROP is refused",
    "select * from query('select 1')": "query() is refused",
    "select * from read_csv('/etc/passwd')": "read_csv() is refused",
    "select content from read_text('/etc/hostname')": "read_text() is refused",
    "select * from glob('/etc/*')": "glob() is refused",
    "select * from read_parquet(['lake/curated/x.parquet', 's3://bucket/x.parquet'])": "read_parquet() is refused",
    "select * from read_json_auto(getenv('HOME'))": "read_json_auto() is refused",
    "select * from '/etc/passwd'": "unknown table '/etc/passwd'",
    "select * from \"secrets.csv\"": "unknown table 'secrets.csv'",
    "select * from other.main.t": "plain names",
    "select 1; select 2": "one statement at a time",
    "pivot top10_by_day on rank using sum(pedestrians)": "a PIVOT must list its values",
    "select current_setting('temp_directory')": "current_setting() is refused",
    "select * from duckdb_settings()": "duckdb_settings() is refused",
    "summarize '/etc/passwd'": "unknown table '/etc/passwd'",
    "with \"x.csv\" as (select 1) select * from \"x.csv\"": "name a CTE with letters, digits and _ only",
    "select main.abs(1)": "by their plain names",
}



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
    run(Lake.at(inputs / "lake"), [str(inputs / "counts.csv")], [str(inputs / "sensors.csv")])
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
def test_an_s3_lake_gives_the_identical_answer_reading_only_the_tables_named(
        inputs: Path, lake: Path, s3: SimpleNamespace, tmp_path: Path) -> None:
    pushed = footfall("run", "--lake", s3.uri, "--counts", str(inputs / "counts.csv"), "--sensors",
                      str(inputs / "sensors.csv"), env={"FOOTFALL_CACHE": str(tmp_path / "writer")})
    assert pushed.returncode == 0, pushed.stderr
    reader = tmp_path / "reader"
    for fmt in ("csv", "json", "table"):
        local = footfall("query", DONE_WHEN, "--lake", str(lake), "--format", fmt)
        remote = footfall("query", DONE_WHEN, "--lake", s3.uri, "--format", fmt, env={"FOOTFALL_CACHE": str(reader)})
        assert remote.returncode == 0, remote.stderr
        assert remote.stdout == local.stdout and local.stdout.count("\n") >= 6
    pulled = {p.relative_to(next(reader.glob("lakes/*"))).parts[:2] for p in reader.rglob("*.parquet")}
    assert pulled == {("transformed", "hourly_counts"), ("transformed", "locations.parquet")}


@pytest.mark.slow
def test_a_writing_statement_is_refused_in_one_line_before_it_runs(lake: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(lake) for p in lake.rglob("*"))
    for sql in ("copy (select * from locations) to 'stolen.csv'", "attach 'stolen.db' as s"):
        done = footfall("query", sql, "--lake", str(lake), cwd=tmp_path)
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1 and "refused" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.relative_to(lake) for p in lake.rglob("*")) == before


@pytest.mark.parametrize("sql", sorted(REFUSED))
def test_the_guard_refuses(sql: str, melbourne: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(readonly.QueryRefused, match=REFUSED[sql].replace("(", r"\(").replace(")", r"\)")):
        readonly.parse_read_only(sql, melbourne)


def test_the_guard_lets_queries_over_the_tables_through(melbourne: Pipeline) -> None:
    for sql in (DONE_WHEN, "with t as (select * from outages) select count(*) from t", "describe locations",
                "summarize daily_counts", "select * from top10_by_day union all select * from top10_by_day",
                "pivot top10_by_day on rank in (1, 2) using sum(pedestrians) group by date",
                "unpivot (select date, rank, pedestrians from top10_by_day) on rank, pedestrians into name k value v",
                "from locations select location", "select unnest([1, 2]) as u, * from range(3)",
                "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r"):
        readonly.parse_read_only(sql, melbourne)


def test_the_connection_itself_refuses_files_outside_the_tables_and_config_changes(lake: Path,
                                                                                  melbourne: Pipeline) -> None:
    """Defence in depth: even SQL that got past the parser cannot read elsewhere or unlock the connection."""
    tables = readonly.needed(melbourne, ["locations"])
    con = query.connect(Lake.at(lake), melbourne, tables)
    try:
        assert con.execute("SELECT COUNT(*) FROM locations").fetchone()[0] == 10
        for sql in ("SELECT * FROM read_text('/etc/hostname')",
                    f"SELECT * FROM read_parquet('{lake / 'curated' / 'coverage.parquet'}')",
                    "SET enable_external_access = true", "INSTALL httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    finally:
        con.close()


def test_tables_lists_every_table_with_columns_and_row_counts(lake: Path) -> None:
    done = footfall("query", "--tables", "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    lines = {line.split(" ", 1)[0]: line for line in done.stdout.splitlines()}
    locations = duckdb.sql(f"SELECT COUNT(*) FROM '{lake / 'transformed' / 'locations.parquet'}'").fetchall()[0][0]
    assert f"({locations:,} rows)" in lines["locations"] and "location_id bigint" in lines["locations"]
    assert "(view)" in lines["hourly_counts_located"]
    assert {"hourly_counts", "top10_by_day", "sensor_health", "outages", "level_shifts"} <= set(lines)


@pytest.mark.slow
def test_csv_json_and_parquet_answers_agree(lake: Path, tmp_path: Path) -> None:
    sql = "select date, rank, location_id, pedestrians from top10_by_day order by date, rank, location_id"
    as_csv = list(csv.DictReader(footfall("query", sql, "--lake", str(lake), "--format", "csv").stdout.splitlines()))
    as_json = json.loads(footfall("query", sql, "--lake", str(lake), "--format", "json").stdout)
    written = footfall("query", sql, "--lake", str(lake), "--format", "parquet", "--out", str(tmp_path / "a.parquet"))
    assert written.returncode == 0, written.stderr
    as_parquet = pq.read_table(tmp_path / "a.parquet").to_pylist()
    assert len(as_csv) == len(as_json) == len(as_parquet) > 100
    assert [(r["date"], int(r["pedestrians"])) for r in as_csv] == [(r["date"], r["pedestrians"]) for r in as_json] \
        == [(str(r["date"]), r["pedestrians"]) for r in as_parquet]
    assert footfall("query", sql, "--lake", str(lake), "--format", "csv", "--out",
                    str(tmp_path / "a.csv")).returncode == 0
    assert list(csv.DictReader((tmp_path / "a.csv").open())) == as_csv
    refused = footfall("query", sql, "--lake", str(lake), "--format", "parquet")
    assert refused.returncode == 1 and refused.stderr.strip() == "error: --format parquet needs --out FILE"


@pytest.mark.slow
def test_bad_sql_is_one_line_with_its_position(lake: Path) -> None:
    syntax = footfall("query", "select from where", "--lake", str(lake))
    assert syntax.returncode == 1 and syntax.stderr.count("\n") == 1
    assert "syntax error at line 1, column" in syntax.stderr
    binder = footfall("query", "select no_such_column from locations", "--lake", str(lake))
    assert binder.returncode == 1 and binder.stderr.count("\n") == 1 and "Traceback" not in binder.stderr
    assert "no_such_column" in binder.stderr and "(line 1)" in binder.stderr
    missing = footfall("query", "select * from nowhere", "--lake", str(lake))
    assert missing.returncode == 1 and "unknown table 'nowhere'" in missing.stderr


@pytest.mark.slow
def test_a_long_query_shows_a_spinner_and_ctrl_c_cancels_it_cleanly(lake: Path) -> None:
    """On a terminal: the spinner with the elapsed time appears, then Ctrl-C stops DuckDB and exits 130."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "footfall", "query",
                                "select sum(hash(i)) from range(1000000000000) t(i)", "--lake", str(lake)],
                               stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "200"})
    os.close(follower)
    seen = b""
    try:
        while b"Ctrl-C cancels" not in seen:
            ready, _, _ = select.select([leader], [], [], 120)
            assert ready, f"no spinner: {seen[-500:]!r}"
            seen += os.read(leader, 4096)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 130
        while select.select([leader], [], [], 1)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        process.kill()
        os.close(leader)
    text = seen.decode(errors="replace")
    assert re.search(r"querying .* \d+\.\ds \(Ctrl-C cancels\)", text)
    assert "query cancelled" in text and "Traceback" not in text


def test_the_shell_answers_each_statement_and_goes_on_after_a_refusal(lake: Path) -> None:
    done = footfall("query", "--lake", str(lake), "--format", "csv",
                    input="select count(*) as n\nfrom locations;\ndrop table locations;\nselect 42 as answer;\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "10", "answer", "42"]
    assert done.stderr.strip().splitlines() == [
        "error: footfall query is read-only: DROP is refused (only SELECT, WITH, DESCRIBE, SUMMARIZE)"]


def test_a_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    Lake.at(tmp_path / "empty").ensure()
    done = footfall("query", "select * from locations", "--lake", str(tmp_path / "empty"))
    assert done.returncode == 1 and "no locations in this lake yet" in done.stderr


def test_syntax_errors_carry_line_and_column(melbourne: Pipeline) -> None:
    with pytest.raises(SqlError, match="line 2, column"):
        readonly.parse_read_only("select 1\nfrom from", melbourne)


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
