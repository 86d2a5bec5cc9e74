"""What ``footfall query`` may read: the pipeline's outputs as tables by name, its views, and nothing that
writes or leaves the lake. A statement is parsed with sqlglot and refused in one line before it runs."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from footfall.dag import Pipeline
from footfall.errors import FootfallError, SqlError
from footfall.sql import DIALECT, FILE_READERS

READ_ONLY = (exp.Query, exp.Describe, exp.Summarize)
REFUSED_FUNCTIONS = frozenset({"query", "query_table"})  # they run SQL given as a string, past the parser
FILE_FUNCTIONS = FILE_READERS | {"from_csv_auto", "st_read"}
WRITE_WORDS = frozenset({"COPY", "ATTACH", "DETACH", "INSTALL", "LOAD", "CREATE", "INSERT", "UPDATE", "DELETE",
                         "DROP", "ALTER", "SET", "RESET", "PRAGMA", "CALL", "EXPORT", "IMPORT", "USE", "CHECKPOINT",
                         "VACUUM", "TRUNCATE", "MERGE", "BEGIN", "COMMIT", "ROLLBACK", "PREPARE", "EXECUTE"})

class QueryRefused(FootfallError):
    """The statement would write, leave the lake, or read what is not a lake table."""


@dataclass(frozen=True)
class LakeTable:
    """A pipeline output as a queryable table."""

    name: str
    zone: str
    relpath: str
    format: str
    directory: bool

    @property
    def rel(self) -> str:
        """The lake path a reader pulls: a file, or a folder prefix ending in ``/``."""
        return f"{self.zone}/{self.relpath}" + ("/" if self.directory else "")


def lake_tables(pipeline: Pipeline) -> dict[str, LakeTable]:
    """Every output by its table name; a table written as Parquet and CSV is read from the Parquet."""
    found: dict[str, LakeTable] = {}
    for out in sorted(pipeline.spec.outputs, key=lambda o: o.format != "parquet"):
        leaf = Path(out.relpath).name
        name = (leaf if out.partition_by else leaf.removesuffix(f".{out.format}")).lower()
        if name not in found:
            found[name] = LakeTable(name, out.zone, out.relpath, out.format, bool(out.partition_by))
    return found


def needed(pipeline: Pipeline, names: Iterable[str]) -> list[LakeTable]:
    """The lake tables behind ``names``, views expanded to the tables they read."""
    tables = lake_tables(pipeline)
    result: dict[str, LakeTable] = {}
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
    return tuple(t.rel for t in tables)


# -- the guard ---------------------------------------------------------------------------------------


def parse_read_only(sql: str, pipeline: Pipeline) -> exp.Expr:
    """The one statement of ``sql``, or a one-line refusal of what it would do, before anything runs."""
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
    known = set(known_names(pipeline))
    for name in referenced(statement):
        if name not in known:
            raise QueryRefused(f"unknown table {name!r} (tables: {', '.join(sorted(known))})")
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
        if isinstance(node, exp.Func) and function_name(node) in REFUSED_FUNCTIONS:
            raise QueryRefused(f"{function_name(node)}() is refused: it runs SQL from a string")


def function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def referenced(statement: exp.Expr) -> set[str]:
    """Every table name the statement reads, without its own CTEs; qualified names are refused."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    names: set[str] = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if table.args.get("db") or table.args.get("catalog"):
            raise QueryRefused(f"{table.sql(DIALECT)}: only the lake's tables can be read, by their plain names")
        if table.name.lower() not in ctes:
            names.add(table.name.lower())
    return names


def file_paths(statement: exp.Expr) -> Iterator[tuple[str, str]]:
    """(function, path) for every file a function of the statement would read; a path that is not a
    literal cannot be checked and is refused."""
    for node in statement.walk():
        if not isinstance(node, exp.Func):
            continue
        name = function_name(node)
        if not (name in FILE_FUNCTIONS or name.startswith("read_") or name.endswith("_scan")):
            continue
        first = node.this if isinstance(node.this, exp.Expression) else (node.expressions or [None])[0]
        values = first.expressions if isinstance(first, exp.Array) else [first]
        for value in values:
            if not (isinstance(value, exp.Literal) and value.is_string):
                raise QueryRefused(f"{name}(): give the file as a literal path inside the lake")
            yield name, value.this


def check_paths(statement: exp.Expr, root: Path) -> None:
    """Refuse file functions on paths outside the lake (relative paths are relative to the working directory,
    as DuckDB reads them)."""
    base = root.resolve()
    for name, text in file_paths(statement):
        inside = False
        if "://" not in text:
            fixed = text.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0]
            path = Path(os.path.normpath(Path.cwd() / fixed)).resolve()
            inside = path == base or base in path.parents
        if not inside:
            raise QueryRefused(f"{name}() reads {text!r}, outside the lake ({base})")
