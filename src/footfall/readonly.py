"""What ``footfall query`` may read: the pipeline's outputs as tables by name, its views, and nothing that
writes or leaves the lake. A statement is refused in one line before it runs.

Checked twice over, by two parsers. sqlglot refuses anything but a query; the SQL it regenerates, which is
what DuckDB runs, is then parsed by DuckDB itself (``json_serialize_sql``, which parses and never binds), so
every table and function is seen under the name DuckDB will resolve, whatever form the statement takes
(``SUMMARIZE '<file>'``, ``DESCRIBE``, ``PIVOT``, FROM-first, a CTE, a subquery, a lambda). A table must be a
lake table, a view or a CTE in scope; a table function must be one that only generates rows; every other
function must be on the allow list (``query_functions.txt``), so one that runs SQL from a string, reads a
file or a setting, or one a newer DuckDB adds, is refused until it is reviewed.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from footfall.dag import Pipeline
from footfall.errors import FootfallError, SqlError
from footfall.lake.layout import Table, by_name, outputs
from footfall.sql import DIALECT

READ_ONLY = (exp.Query, exp.Describe, exp.Summarize, exp.Pivot)
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})  # they only generate rows
SQL_RUNNERS = frozenset({"query", "query_table", "json_execute_serialized_sql"})  # they run SQL from a string
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# json.loads recurses once a level; DuckDB's parse tree of its deepest expression (1,000 levels) is ~3,000 deep.
JSON_DEPTH = 5_000
TOO_DEEP = ("the query is nested too deeply to check (brackets or subqueries dozens deep): flatten it, e.g. name "
            "the subqueries in a WITH clause")
WRITE_WORDS = frozenset({"COPY", "ATTACH", "DETACH", "INSTALL", "LOAD", "CREATE", "INSERT", "UPDATE", "DELETE",
                         "DROP", "ALTER", "SET", "RESET", "PRAGMA", "CALL", "EXPORT", "IMPORT", "USE", "CHECKPOINT",
                         "VACUUM", "TRUNCATE", "MERGE", "BEGIN", "COMMIT", "ROLLBACK", "PREPARE", "EXECUTE"})

class QueryRefused(FootfallError):
    """The statement would write, leave the lake, or read what is not a lake table."""


def lake_tables(pipeline: Pipeline) -> dict[str, Table]:
    """Every output of the pipeline by its table name (:func:`footfall.lake.layout.by_name`)."""
    return by_name(outputs(pipeline.spec))


def needed(pipeline: Pipeline, names: Iterable[str]) -> list[Table]:
    """The lake tables behind ``names``, views expanded to the tables they read."""
    tables = lake_tables(pipeline)
    result: dict[str, Table] = {}
    for name in names:
        if name in pipeline.views:
            result.update({d: tables[d] for d in pipeline.views[name].depends_on if d in tables})
        elif name in tables:
            result[name] = tables[name]
    return list(result.values())


def known_names(pipeline: Pipeline) -> list[str]:
    return sorted({*lake_tables(pipeline), *pipeline.views})


def reads(pipeline: Pipeline, statement: exp.Expr | None = None) -> tuple[str, ...]:
    """The lake paths a reader needs for ``statement`` (every table's without one: a shell, a listing)."""
    tables = lake_tables(pipeline).values() if statement is None else needed(pipeline, referenced(statement))
    return tuple(t.prefix for t in tables)


# -- the guard ---------------------------------------------------------------------------------------


def parse_read_only(sql: str, pipeline: Pipeline) -> exp.Expr:
    """The one statement of ``sql``, or a one-line refusal of what it would do, before anything runs."""
    try:
        return _parse_read_only(sql, pipeline)
    except RecursionError:  # sqlglot parses and prints by recursion, a level of nesting taking ~20 frames
        raise QueryRefused(TOO_DEEP) from None


def _parse_read_only(sql: str, pipeline: Pipeline) -> exp.Expr:
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "falling back to a Command" warning: the refusal says it in one line
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as e:
        _refuse_by_first_word(sql)
        first = e.errors[0] if e.errors else {}
        raise SqlError(f"SQL syntax error at line {first.get('line', '?')}, column {first.get('col', '?')}: "
                       f"{first.get('description', 'cannot parse')}") from None
    except TokenError as e:
        raise SqlError(f"SQL syntax error: {e}") from None
    finally:
        quiet.setLevel(level)
    if not statements:
        raise SqlError("no SQL statement given")
    for statement in statements:
        _refuse_writes(statement)
    if len(statements) > 1:
        raise QueryRefused(f"one statement at a time: found {len(statements)}")
    statement = statements[0]
    check_names(runnable(statement), set(known_names(pipeline)))
    return statement


def _refuse_by_first_word(sql: str) -> None:
    """A statement sqlglot cannot parse (EXPORT DATABASE, ...) is still refused by what it starts with."""
    try:
        tokens = sqlglot.tokenize(sql, read=DIALECT)
    except TokenError:
        return
    word = tokens[0].text.upper() if tokens else ""
    if word in WRITE_WORDS:
        raise QueryRefused(_refusal(word))


def _refusal(word: str) -> str:
    if word == "COPY":
        return "footfall query is read-only: COPY is refused (give --out FILE and footfall writes the answer)"
    return f"footfall query is read-only: {word} is refused (only SELECT, WITH, DESCRIBE, SUMMARIZE)"


def _refuse_writes(statement: exp.Expr) -> None:
    if not isinstance(statement, READ_ONLY):
        word = str(statement.this).upper() if isinstance(statement, exp.Command) else statement.key.upper()
        raise QueryRefused(_refusal(word.split()[0] if word.split() else "this statement"))
    for node in statement.walk():
        if isinstance(node, exp.Into) or (isinstance(node, exp.Select) and node.args.get("into")):
            raise QueryRefused(_refusal("SELECT INTO"))


# -- what DuckDB will resolve ------------------------------------------------------------------------


@functools.cache
def allowed_functions() -> frozenset[str]:
    """The functions a query may call, by DuckDB's name (``unnest`` also in a select list)."""
    text = resources.files("footfall").joinpath("query_functions.txt").read_text(encoding="utf-8")
    names = {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return frozenset(names | {"unnest"})


@dataclass(frozen=True)
class Names:
    """What a statement reads and calls, as DuckDB's parser sees it."""

    tables: frozenset[str]  # table names read, lower case, without the CTEs in scope where they are read
    functions: tuple[str, ...]  # every function called, operators included, in the statement's order
    table_functions: tuple[str, ...]  # functions in FROM
    qualified: tuple[str, ...]  # a table or function named with a schema or catalog
    ctes: frozenset[str]


@functools.cache
def _parser() -> tuple[duckdb.DuckDBPyConnection, threading.Lock]:
    """One connection that can read nothing, kept for parsing (opening one costs more than a parse)."""
    con = duckdb.connect(config={"enable_external_access": False, "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute("SET lock_configuration = true")
    return con, threading.Lock()


@functools.lru_cache(maxsize=64)
def names_in(sql: str) -> Names:
    """Parse ``sql`` with DuckDB and collect its names."""
    con, lock = _parser()
    with lock:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    text = str(row[0]) if row else ""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, JSON_DEPTH))
    try:
        tree = json.loads(text)
    except RecursionError:
        raise QueryRefused(TOO_DEEP) from None
    finally:
        sys.setrecursionlimit(limit)
    if tree.get("error"):
        raise _unparsed(str(tree.get("error_message", "cannot parse")))
    if len(tree.get("statements", ())) != 1:
        raise QueryRefused(f"one statement at a time: found {len(tree.get('statements', ()))}")
    return _collect(tree["statements"])


def _unparsed(message: str) -> FootfallError:
    deep = too_deep_expression(message)
    if deep:
        return QueryRefused(deep)
    if "Only SELECT statements" in message:
        return QueryRefused("footfall query runs one SELECT, and DuckDB reads this as more (a PIVOT must list its "
                            "values: PIVOT t ON col IN ('a', 'b') USING ...)")
    return SqlError(f"SQL syntax error: {message.splitlines()[0]}")


def too_deep_expression(message: str) -> str | None:
    """DuckDB's error on its expression depth limit, said without its hint to raise the limit (footfall refuses
    SET); None for any other message."""
    depth = re.search(r"[Mm]ax expression depth limit of (\d+) exceeded", message)
    if not depth:
        return None
    return (f"an expression in the query is nested more than {int(depth.group(1)):,} levels deep (DuckDB's limit): "
            "shorten it, e.g. compute parts of it in a WITH clause, or add many terms with list_sum([...])")


def _collect(statements: list[Any]) -> Names:
    """Walk DuckDB's parse tree (by hand, not by recursion: a tree can be deep), keeping each CTE's name in
    scope below the query that defines it."""
    tables: set[str] = set()
    functions: list[str] = []
    table_functions: list[str] = []
    qualified: list[str] = []
    ctes: set[str] = set()
    stack: list[tuple[Any, frozenset[str], bool]] = [(statements, frozenset(), False)]
    while stack:
        node, scope, in_from = stack.pop()
        if isinstance(node, list):
            stack.extend((item, scope, False) for item in reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        defined = {str(e.get("key", "")).lower() for e in (node.get("cte_map") or {}).get("map") or ()}
        ctes |= defined
        scope = scope | defined
        kind = node.get("type")
        if kind in ("BASE_TABLE", "SHOW_REF") and node.get("table_name"):
            name = str(node["table_name"])
            if node.get("schema_name") or node.get("catalog_name"):
                qualified.append(".".join(str(p) for p in (node.get("catalog_name"), node.get("schema_name"), name)
                                          if p))
            elif name.lower() not in scope:
                tables.add(name.lower())
        if "function_name" in node:
            name = str(node["function_name"]).lower()
            if node.get("schema") or node.get("catalog"):
                qualified.append(".".join(str(p) for p in (node.get("catalog"), node.get("schema"), name) if p))
            (table_functions if in_from else functions).append(name)
        stack.extend((value, scope, kind == "TABLE_FUNCTION" and key == "function")
                     for key, value in reversed(node.items()))
    return Names(frozenset(tables), tuple(functions), tuple(table_functions), tuple(qualified), frozenset(ctes))


def check_names(sql: str, known: set[str]) -> None:
    """Refuse ``sql`` (one statement as DuckDB will run it) unless it reads only ``known`` tables and CTEs and
    calls only allowed functions."""
    found = names_in(sql)
    if found.qualified:
        raise QueryRefused(f"{found.qualified[0]}: only the lake's tables can be read and functions called, by "
                           "their plain names")
    odd = sorted(n for n in found.ctes if not PLAIN_NAME.fullmatch(n))
    if odd:  # a name like a file's would be read as the file wherever DuckDB does not see the CTE
        raise QueryRefused(f"WITH {odd[0]!r}: name a CTE with letters, digits and _ only")
    runner = next((n for n in (*found.table_functions, *found.functions) if n in SQL_RUNNERS), None)
    if runner:
        raise QueryRefused(f"{runner}() is refused: it runs SQL from a string")
    table_function = next((n for n in found.table_functions if n not in TABLE_FUNCTIONS), None)
    if table_function:
        raise QueryRefused(f"{table_function}() is refused: a query reads the lake's tables by name (footfall "
                           f"query --tables lists them); the only table functions are "
                           f"{', '.join(sorted(TABLE_FUNCTIONS))}")
    function = next((n for n in found.functions if n not in allowed_functions()), None)
    if function:
        raise QueryRefused(f"{function}() is refused: footfall query calls only functions that compute on their "
                           "arguments (none that takes SQL text or reads files, settings or the log)")
    unknown = sorted(found.tables - known)
    if unknown:
        raise QueryRefused(f"unknown table {unknown[0]!r} (tables: {', '.join(sorted(known))})")


def referenced(statement: exp.Expr) -> set[str]:
    """Every table name the statement reads, as DuckDB resolves it, without the CTEs in scope."""
    return set(names_in(runnable(statement)).tables)


def runnable(statement: exp.Expr) -> str:
    """The SQL DuckDB runs for ``statement``: printed once, when it is checked, and kept with it (printing
    again, from a deeper stack, could fail where the check did not)."""
    text = statement.meta.get("footfall_sql")
    if text is None:
        text = statement.meta["footfall_sql"] = statement.sql(DIALECT)
    return text
