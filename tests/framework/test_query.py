"""`footfall query`: read-only SQL over a pipeline's tables by name, on a local and an S3 lake (the framework's
own shops pipeline; the Melbourne questions are in tests/melbourne/test_questions.py)."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from support.cli import footfall

from footfall import query, readonly
from footfall.dag import Pipeline
from footfall.errors import SqlError
from footfall.lake.local import LocalLake

QUESTION = ("select shop, sum(amount) from daily_sales_named where day = '2024-03-31' group by 1 "
            "order by 2 desc limit 5")
REFUSED = {
    "copy (select 1) to 'x.csv'": "COPY is refused",
    "attach 'other.db' as other": "ATTACH is refused",
    "install httpfs": "INSTALL is refused",
    "load httpfs": "LOAD is refused",
    "create table t as select 1": "CREATE is refused",
    "insert into top_shops values (1)": "INSERT is refused",
    "update shops set shop = 'x'": "UPDATE is refused",
    "delete from shops": "DELETE is refused",
    "drop view shops": "DROP is refused",
    "set enable_external_access = true": "SET is refused",
    "pragma version": "PRAGMA is refused",
    "call pragma_version()": "CALL is refused",
    "export database '/tmp/x'": "EXPORT is refused",
    "select 1; drop table top_shops": "DROP is refused",
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
    "pivot top_shops on rank using sum(total)": "a PIVOT must list its values",
    "select current_setting('temp_directory')": "current_setting() is refused",
    "select * from duckdb_settings()": "duckdb_settings() is refused",
    "summarize '/etc/passwd'": "unknown table '/etc/passwd'",
    "with \"x.csv\" as (select 1) select * from \"x.csv\"": "name a CTE with letters, digits and _ only",
    "select main.abs(1)": "by their plain names",
}



def ask(pipeline: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``footfall query *args`` as the shops pipeline's."""
    return footfall("query", *args, "--pipeline", str(pipeline), **kwargs)


def test_a_question_answers_from_the_tables_and_views_by_name(shop_lake: Path, shops_dir: Path) -> None:
    done = ask(shops_dir, QUESTION, "--lake", str(shop_lake), "--format", "csv")
    assert done.returncode == 0, done.stderr
    daily = shop_lake / "transformed" / "daily_sales"
    expected = duckdb.sql(f"""
        SELECT s.shop, SUM(d.amount) FROM read_parquet('{daily}/**/*.parquet', hive_partitioning = true) d
        JOIN read_parquet('{shop_lake / "transformed" / "shops.parquet"}') s USING (shop_id)
        WHERE d.day = DATE '2024-03-31' GROUP BY 1 ORDER BY 2 DESC LIMIT 5""").fetchall()
    rows = list(csv.reader(done.stdout.splitlines()))
    assert rows[0] == ["shop", "sum(amount)"]
    assert [(r[0], int(r[1])) for r in rows[1:]] == [(name, int(n)) for name, n in expected]
    assert len(rows) == 4


@pytest.mark.slow
def test_an_s3_lake_gives_the_identical_answer_reading_only_the_tables_named(
        shops_dir: Path, shop_lake: Path, s3: SimpleNamespace, tmp_path: Path) -> None:
    import httpx

    pushed = footfall("pipeline", "run", str(shops_dir), "--lake", s3.uri)
    assert pushed.returncode == 0, pushed.stderr
    httpx.post(f"{s3.endpoint}/moto-api/recorder/reset-recording").raise_for_status()
    httpx.post(f"{s3.endpoint}/moto-api/recorder/start-recording").raise_for_status()
    try:
        for fmt in ("csv", "json", "table"):
            local = ask(shops_dir, QUESTION, "--lake", str(shop_lake), "--format", fmt)
            remote = ask(shops_dir, QUESTION, "--lake", s3.uri, "--format", fmt)
            assert remote.returncode == 0, remote.stderr
            assert remote.stdout == local.stdout and local.stdout.count("\n") >= 4
    finally:
        httpx.post(f"{s3.endpoint}/moto-api/recorder/stop-recording").raise_for_status()
    recording = httpx.get(f"{s3.endpoint}/moto-api/recorder/download-recording").text
    gets = {httpx.URL(e["url"]).path for e in map(json.loads, recording.splitlines()) if e["method"] == "GET"}
    read = {tuple(path.split("/")[3:5]) for path in gets if path.endswith(".parquet")}
    assert read == {("transformed", "daily_sales"), ("transformed", "shops.parquet")}


@pytest.mark.slow
def test_a_writing_statement_is_refused_in_one_line_before_it_runs(shop_lake: Path, shops_dir: Path,
                                                                    tmp_path: Path) -> None:
    lake = shop_lake
    before = sorted(p.relative_to(lake) for p in lake.rglob("*"))
    for sql in ("copy (select * from shops) to 'stolen.csv'", "attach 'stolen.db' as s"):
        done = ask(shops_dir, sql, "--lake", str(lake), cwd=tmp_path)
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1 and "refused" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.relative_to(lake) for p in lake.rglob("*")) == before


@pytest.mark.parametrize("sql", sorted(REFUSED))
def test_the_guard_refuses(sql: str, shops: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(readonly.QueryRefused, match=REFUSED[sql].replace("(", r"\(").replace(")", r"\)")):
        readonly.parse_read_only(sql, shops)


def test_the_guard_lets_queries_over_the_tables_through(shops: Pipeline) -> None:
    for sql in (QUESTION, "with t as (select * from monthly_totals) select count(*) from t", "describe shops",
                "summarize daily_sales", "select * from top_shops union all select * from top_shops",
                "pivot top_shops on rank in (1, 2) using sum(total) group by month",
                "unpivot (select month, rank, total from top_shops) on rank, total into name k value v",
                "from shops select shop", "select unnest([1, 2]) as u, * from range(3)",
                "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r"):
        readonly.parse_read_only(sql, shops)


def test_the_connection_itself_refuses_files_outside_the_tables_and_config_changes(shop_lake: Path,
                                                                                  shops: Pipeline) -> None:
    """Defence in depth: even SQL that got past the parser cannot read elsewhere or unlock the connection."""
    tables = readonly.needed(shops, ["shops"])
    con = query.open_tables(LocalLake.at(shop_lake), shops, tables)
    try:
        assert con.execute("SELECT COUNT(*) FROM shops").fetchone()[0] == 3
        for sql in ("SELECT * FROM read_text('/etc/hostname')",
                    f"SELECT * FROM read_parquet('{shop_lake / 'curated' / 'monthly_totals.parquet'}')",
                    "SET enable_external_access = true", "INSTALL httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
    finally:
        con.close()


def test_tables_lists_every_table_with_columns_and_row_counts(shop_lake: Path, shops_dir: Path) -> None:
    done = ask(shops_dir, "--tables", "--lake", str(shop_lake))
    assert done.returncode == 0, done.stderr
    lines = {line.split(" ", 1)[0]: line for line in done.stdout.splitlines()}
    daily = duckdb.sql(f"SELECT COUNT(*) FROM read_parquet('{shop_lake / 'transformed' / 'daily_sales'}/**/*.parquet')"
                       ).fetchall()[0][0]
    assert f"({daily:,} rows)" in lines["daily_sales"] and "shop_id bigint" in lines["daily_sales"]
    assert "(3 rows)" in lines["shops"]
    assert "(view)" in lines["daily_sales_named"]
    assert {"daily_sales", "shops", "monthly_totals", "top_shops"} <= set(lines)


@pytest.mark.slow
def test_csv_json_and_parquet_answers_agree(shop_lake: Path, shops_dir: Path, tmp_path: Path) -> None:
    lake = str(shop_lake)
    sql = "select day, shop_id, amount from daily_sales order by day, shop_id"
    as_csv = list(csv.DictReader(ask(shops_dir, sql, "--lake", lake, "--format", "csv").stdout.splitlines()))
    as_json = json.loads(ask(shops_dir, sql, "--lake", lake, "--format", "json").stdout)
    written = ask(shops_dir, sql, "--lake", lake, "--format", "parquet", "--out", str(tmp_path / "a.parquet"))
    assert written.returncode == 0, written.stderr
    as_parquet = pq.read_table(tmp_path / "a.parquet").to_pylist()
    assert len(as_csv) == len(as_json) == len(as_parquet) > 100
    assert [(r["day"], int(r["amount"])) for r in as_csv] == [(r["day"], r["amount"]) for r in as_json] \
        == [(str(r["day"]), r["amount"]) for r in as_parquet]
    assert ask(shops_dir, sql, "--lake", lake, "--format", "csv", "--out", str(tmp_path / "a.csv")).returncode == 0
    assert list(csv.DictReader((tmp_path / "a.csv").open())) == as_csv
    refused = ask(shops_dir, sql, "--lake", lake, "--format", "parquet")
    assert refused.returncode == 1 and refused.stderr.strip() == "error: --format parquet needs --out FILE"


@pytest.mark.slow
def test_bad_sql_is_one_line_with_its_position(shop_lake: Path, shops_dir: Path) -> None:
    lake = shop_lake
    syntax = ask(shops_dir, "select from where", "--lake", str(lake))
    assert syntax.returncode == 1 and syntax.stderr.count("\n") == 1
    assert "syntax error at line 1, column" in syntax.stderr
    binder = ask(shops_dir, "select no_such_column from shops", "--lake", str(lake))
    assert binder.returncode == 1 and binder.stderr.count("\n") == 1 and "Traceback" not in binder.stderr
    assert "no_such_column" in binder.stderr and "(line 1)" in binder.stderr
    missing = ask(shops_dir, "select * from nowhere", "--lake", str(lake))
    assert missing.returncode == 1 and "unknown table 'nowhere'" in missing.stderr


@pytest.mark.slow
def test_a_long_query_shows_a_spinner_and_ctrl_c_cancels_it_cleanly(shop_lake: Path, shops_dir: Path) -> None:
    """On a terminal: the spinner with the elapsed time appears, then Ctrl-C stops DuckDB and exits 130."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "footfall", "query",
                                "select sum(hash(i)) from range(1000000000000) t(i)", "--lake", str(shop_lake),
                                "--pipeline", str(shops_dir)],
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


def test_the_shell_answers_each_statement_and_goes_on_after_a_refusal(shop_lake: Path, shops_dir: Path) -> None:
    done = ask(shops_dir, "--lake", str(shop_lake), "--format", "csv",
               input="select count(*) as n\nfrom shops;\ndrop table shops;\nselect 42 as answer;\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "3", "answer", "42"]
    assert done.stderr.strip().splitlines() == [
        "error: footfall query is read-only: DROP is refused (only SELECT, WITH, DESCRIBE, SUMMARIZE)"]


def test_a_missing_table_is_a_clear_error(shops_dir: Path, tmp_path: Path) -> None:
    LocalLake.at(tmp_path / "empty").ensure()
    done = ask(shops_dir, "select * from shops", "--lake", str(tmp_path / "empty"))
    assert done.returncode == 1 and "no shops in this lake yet" in done.stderr


def test_syntax_errors_carry_line_and_column(shops: Pipeline) -> None:
    with pytest.raises(SqlError, match="line 2, column"):
        readonly.parse_read_only("select 1\nfrom from", shops)


def test_an_answer_cannot_be_forged_into_the_lake_it_was_read_from(shop_lake: Path, shops_dir: Path,
                                                                   tmp_path: Path) -> None:
    """A query's --out over a curated table, over .published, over a CSV answer: refused, the lake unchanged."""
    lake = tmp_path / "lake"
    shutil.copytree(shop_lake, lake, symlinks=True)
    forged = "select month, rank, shop_id, 1 as total, 'FORGED' as note from top_shops"
    before = {p: p.read_bytes() for p in (lake / "curated").glob("*") if p.is_file()}
    marker = (lake / ".published").read_bytes()
    for target, fmt in ((lake / "curated" / "top_shops.parquet", "parquet"), (lake / ".published", "csv"),
                        (lake / "curated" / "monthly_totals.csv", "csv")):
        done = ask(shops_dir, forged, "--lake", str(lake), "--format", fmt, "--out", str(target))
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert f"is inside the lake at {lake}" in done.stderr
    assert {p: p.read_bytes() for p in (lake / "curated").glob("*") if p.is_file()} == before
    assert (lake / ".published").read_bytes() == marker
    read = ask(shops_dir, "select * from top_shops", "--lake", str(lake), "--format", "csv")
    assert read.returncode == 0 and "FORGED" not in read.stdout and read.stdout.count("\n") > 5
