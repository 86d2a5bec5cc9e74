"""What `footfall query` can read: the lake's tables, by name, and no other file, by any route.

Files holding a sentinel are planted where a query might reach them: the working folder's `.tmp/` (DuckDB's
default temporary folder, which it allows whatever `allowed_directories` says), the lake's landing zone, a
parsed file that is no table, a table that is not queried, the folder of the queried table itself, and the
folder beside the lake. Every route is tried on each: DuckDB's file readers, SQL run from a string, statement
forms that read a path (`SUMMARIZE`, `DESCRIBE`, `FROM '<path>'`), CTEs, subqueries, lambdas, PIVOT."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.cli import footfall

from footfall import query, readonly
from footfall.dag import Pipeline
from footfall.errors import FootfallError, SqlError
from footfall.lake.local import LocalLake

SENTINEL = "SENTINEL_7f3a"
ROUTES = [
    "select * from read_csv('{p}')",
    "select * from read_csv_auto('{p}')",
    "select * from read_csv(['{p}'])",
    "select * from read_parquet('{p}')",
    "select * from parquet_scan('{p}')",
    "select * from read_json_auto('{p}')",
    "select * from read_ndjson_objects('{p}')",
    "select content from read_text('{p}')",
    "select content from read_blob('{p}')",
    "select * from sniff_csv('{p}')",
    "select * from parquet_metadata('{p}')",
    "select * from glob('{d}/*')",
    "select * from query('select * from read_csv(''{p}'')')",
    "select * from query_table('{p}')",
    "select * from json_execute_serialized_sql(json_serialize_sql('select * from read_csv(''{p}'')'))",
    "select json_serialize_sql('select * from read_csv(''{p}'')')",
    "summarize '{p}'",
    "describe '{p}'",
    "from '{p}'",
    "select * from '{p}'",
    'select * from "{p}"',
    "summarize select * from read_csv('{p}')",
    "describe select * from '{p}'",
    "with x as (select * from read_csv('{p}')) select * from x",
    'select * from (with "{p}" as (select 1) select * from "{p}")',
    "select * from shops where exists (select * from read_csv('{p}'))",
    "select (select count(*) from '{p}') as n from shops",
    "select * from shops, lateral (select * from read_csv('{p}'))",
    "from read_csv('{p}') select *",
    "select list_transform([1], lambda x: (select count(*) from read_csv('{p}'))) as l",
    "pivot read_csv('{p}') on column0 in ('x') using count(*)",
    "unpivot '{p}' on column0 into name k value v",
    "select * from system.main.read_csv('{p}')",
    "select * from shops union all select * from read_csv('{p}')",
    "create view v as select * from read_csv('{p}')",
    "copy (select * from read_csv('{p}')) to '/dev/stdout'",
    "select current_setting('temp_directory')",
    "select * from duckdb_settings()",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, shops_dir: Path) -> dict[str, Path]:
    """A lake with one table, ``shops``, and a sentinel file in every place a query must not read."""
    root = tmp_path_factory.mktemp("sandbox")
    lake = root / "lake"
    LocalLake.at(lake).ensure()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 1::BIGINT AS shop_id, 'Bourke Street' AS shop) TO "
                f"'{lake / 'transformed' / 'shops.parquet'}' (FORMAT parquet)")
    where = {"the working folder's .tmp": root / "work" / ".tmp" / "secret.csv",
             "the landing zone": lake / "landing" / "sales" / "secret.csv",
             "a parsed file that is no table": lake / "transformed" / "scratch" / "secret.parquet",
             "a table not queried": lake / "curated" / "monthly_totals.parquet",
             "the queried table's folder": lake / "transformed" / "secret.csv",
             "beside the lake": root / "secret.csv"}
    for path in where.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            path.write_text(f"column0\n{SENTINEL}\n")
        else:
            con.execute(f"COPY (SELECT '{SENTINEL}' AS column0) TO '{path}' (FORMAT parquet)")
    con.close()
    return {"lake": lake, "work": root / "work", "pipeline": shops_dir, **where}


PLACES = ["the working folder's .tmp", "the landing zone", "a parsed file that is no table", "a table not queried",
          "the queried table's folder", "beside the lake"]
# The working folder's .tmp runs in the quick suite; every other place with the slow ones.
BY_PLACE = [PLACES[0], *(pytest.param(p, marks=pytest.mark.slow) for p in PLACES[1:])]


def ask(planted: dict[str, Path], *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``footfall query *args`` on the planted lake, as the shops pipeline's."""
    return footfall("query", *args, "--lake", str(planted["lake"]), "--pipeline", str(planted["pipeline"]), **kwargs)


def sql_for(route: str, path: Path) -> str:
    return route.format(p=path, d=path.parent)


@pytest.mark.parametrize("place", BY_PLACE)
def test_every_route_to_a_file_is_refused_before_anything_runs(place: str, planted: dict[str, Path],
                                                               shops: Pipeline) -> None:
    for route in ROUTES:
        for path in (planted[place], Path(os.path.relpath(planted[place], planted["work"]))):
            with pytest.raises(FootfallError) as refused:
                readonly.parse_read_only(sql_for(route, path), shops)
            assert isinstance(refused.value, readonly.QueryRefused | SqlError), (route, refused.value)
            assert "\n" not in str(refused.value) and SENTINEL not in str(refused.value)


@pytest.mark.parametrize("place", BY_PLACE)
def test_the_command_reads_no_planted_file(place: str, planted: dict[str, Path]) -> None:
    """Through the command, in one line each, the sentinel never printed (a representative route of each kind)."""
    for route in ("select * from json_execute_serialized_sql(json_serialize_sql('select * from read_csv(''{p}'')'))",
                  "summarize '{p}'", "from '{p}'", "select * from glob('{d}/*')",
                  "with x as (select * from read_text('{p}')) select * from x"):
        done = ask(planted, sql_for(route, planted[place]), "--format", "csv", cwd=planted["work"])
        assert done.returncode == 1, (route, done.stdout)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
        assert SENTINEL not in done.stdout + done.stderr


def test_the_connection_allows_only_the_tables_files_and_a_private_spill_folder(
        planted: dict[str, Path], shops: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(planted["work"])
    con = query.open_tables(LocalLake.at(planted["lake"]), shops, readonly.needed(shops, ["shops"]))
    try:
        folders, paths = con.execute("SELECT current_setting('allowed_directories'), "
                                     "current_setting('allowed_paths')").fetchone()
        spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        assert folders == [f"{spill}/"]
        assert paths == [str(planted["lake"] / "transformed" / "shops.parquet")]
        assert not spill.is_relative_to(planted["work"]) and not spill.is_relative_to(planted["lake"])
        assert stat.S_IMODE(spill.parent.stat().st_mode) == 0o700
        assert not spill.exists() or not any(spill.iterdir())  # DuckDB's own, made only when it spills
        assert con.execute("SELECT shop FROM shops").fetchall() == [("Bourke Street",)]
    finally:
        con.close()


@pytest.mark.parametrize("place", PLACES)
def test_the_connection_itself_cannot_read_any_file_but_the_queried_tables(
        place: str, planted: dict[str, Path], shops: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: SQL that got past the guard still cannot read the file, by path or relative path."""
    monkeypatch.chdir(planted["work"])
    con = query.open_tables(LocalLake.at(planted["lake"]), shops, readonly.needed(shops, ["shops"]))
    reader = "read_csv" if planted[place].suffix == ".csv" else "read_parquet"
    try:
        for path in (planted[place], Path(os.path.relpath(planted[place]))):
            for sql in (f"SELECT * FROM {reader}('{path}')", f"SUMMARIZE '{path}'", f"FROM '{path}'",
                        f"SELECT content FROM read_text('{path}')"):
                with pytest.raises(duckdb.Error) as failed:
                    con.execute(sql).fetchall()
                assert SENTINEL not in str(failed.value)
    finally:
        con.close()


def test_functions_sqlglot_types_are_checked_and_run_under_duckdb_s_names(planted: dict[str, Path]) -> None:
    """sqlglot turns these into its own nodes (TimeToStr, If, JSONExtract, ...); they pass and answer as DuckDB
    does on its own, given the user's text."""
    sql = ("select strftime(date '2020-01-02', '%Y') as y, date_trunc('month', date '2020-01-02') as m, "
           "if(shop_id = 1, 'one', 'other') as i, json_extract('{\"a\": 2}', '$.a') as j, epoch_ms(0) as e, "
           "array_length([1, 2]) as n, regexp_matches(shop, 'Bourke') as r, "
           "list_filter([1, 2], lambda x: x > 1) as f, shop ilike 'bourke%' as l, [x * 2 for x in [1, 2]] as c, "
           "unnest([7]) as u from shops")
    done = ask(planted, sql, "--format", "csv")
    assert done.returncode == 0, done.stderr
    con = duckdb.connect()
    con.execute(f"CREATE VIEW shops AS FROM '{planted['lake'] / 'transformed' / 'shops.parquet'}'")
    expected = [["" if v is None else str(v) for v in row] for row in con.execute(sql).fetchall()]
    con.close()
    assert list(csv.reader(done.stdout.splitlines()))[1:] == expected
    assert expected[0][:3] == ["2020", "2020-01-01 00:00:00", "one"] and expected[0][-1] == "7"


def test_the_allow_list_names_only_duckdb_functions_that_compute_on_their_arguments() -> None:
    con = duckdb.connect()
    kinds: dict[str, set[str]] = {}
    for name, kind in con.execute("SELECT DISTINCT function_name, function_type FROM duckdb_functions()").fetchall():
        kinds.setdefault(name, set()).add(kind)
    con.close()
    allowed = readonly.allowed_functions() - {"unnest"}
    assert allowed and all(kinds.get(n, set()) & {"scalar", "aggregate", "window", "macro"} for n in allowed), \
        sorted(n for n in allowed if not kinds.get(n, set()) & {"scalar", "aggregate", "window", "macro"})
    for name in ("json_serialize_sql", "json_deserialize_sql", "json_serialize_plan", "current_setting",
                 "write_log", "setval", "nextval", "pg_get_viewdef", "getenv", "query", "read_csv", "glob"):
        assert name not in allowed
    table_only = {n for n, k in kinds.items() if k <= {"table", "table_macro", "pragma"}}
    assert not allowed & table_only


@pytest.mark.parametrize(("sql", "says"), [
    ("select " + "(" * 3000 + "1" + ")" * 3000, "nested too deeply"),
    ("select * from " + "(select * from " * 400 + "shops" + ")" * 400, "nested too deeply"),
    pytest.param("select " + "(" * 120 + "1" + ")" * 120, "nested too deeply", marks=pytest.mark.slow),
    ("select " + "+".join(["1"] * 5000), "nested more than 1,000 levels deep"),
    pytest.param("select " + " || ".join(["'a'"] * 3000), "nested more than 1,000 levels deep",
                 marks=pytest.mark.slow),
], ids=["3000 brackets", "400 subqueries", "120 brackets", "5000 terms", "3000 concatenations"])
def test_a_query_nested_too_deeply_is_refused_in_one_line(sql: str, says: str, planted: dict[str, Path]) -> None:
    done = ask(planted, sql)
    assert done.returncode == 1, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr
    for wrong in ("RecursionError", "a bug in footfall", "SET max_expression_depth", "Traceback"):
        assert wrong not in done.stderr


def test_duckdb_s_depth_error_at_run_time_is_said_without_its_set_hint() -> None:
    con = duckdb.connect()
    try:
        with pytest.raises(duckdb.Error) as failed:
            con.execute("SELECT " + "+".join(["1"] * 5000))
    finally:
        con.close()
    assert "max_expression_depth" in str(failed.value)
    said = query.first_line(failed.value)
    assert "nested more than 1,000 levels deep" in said and "SET" not in said


def test_the_shell_goes_on_after_a_query_nested_too_deeply(planted: dict[str, Path]) -> None:
    deep = "select " + "(" * 3000 + "1" + ")" * 3000
    done = ask(planted, "--format", "csv", input=f"{deep};\nselect count(*) as n from shops;\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "1"]
    assert len(done.stderr.strip().splitlines()) == 1 and "nested too deeply" in done.stderr


def test_a_long_expression_within_duckdb_s_limit_still_answers(planted: dict[str, Path]) -> None:
    """The checks go as deep as DuckDB does: 900 terms (a parse tree ~2,700 levels deep) is checked and run."""
    done = ask(planted, "select " + "+".join(["1"] * 900) + " as n", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "900"]
