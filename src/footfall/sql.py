"""SQL handling that every engine shares: parsing, dependency discovery, transpiling.

Steps are written once in DuckDB's dialect. Dependencies are read from the SQL itself through
sqlglot's scope traversal, so CTE names, subquery aliases and table functions never count as
tables, and a pipeline never declares an edge twice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.scope import traverse_scope

from footfall.errors import SqlError

DIALECT = "duckdb"

# Table functions that read the file system; their paths must stay inside the pipeline and the lake.
FILE_READERS = frozenset({
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_json_objects", "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects",
    "read_text", "read_blob", "read_duckdb", "glob", "sniff_csv", "parquet_metadata", "parquet_schema",
    "parquet_file_metadata", "parquet_kv_metadata", "parquet_full_metadata", "parquet_page_index",
    "parquet_bloom_probe", "read_single_csv_file"})
# Table functions that only generate rows. Any other (query(), enable_logging(), checkpoint(), ...) runs
# SQL the checks cannot see or acts on the database, so a step may not call it.
GENERATORS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree", "explode",
                        "explode_outer", "posexplode", "posexplode_outer", "inline", "inline_outer", "stack",
                        "json_tuple"})
# Spark reads a file given as a table name: parquet.`/path`, csv.`s3://...`.
SPARK_FILE_FORMATS = frozenset({"parquet", "csv", "json", "orc", "text", "avro", "delta", "binaryfile", "jdbc"})


def parse(sql: str, path: Path | str = "<sql>", dialect: str = DIALECT) -> exp.Query:
    """Parse exactly one SELECT statement in ``dialect``, naming file and line on failure."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        raise SqlError(f"SQL syntax error: {first.get('description', str(e))}", path=path,
                       line=first.get("line")) from None
    except (SqlglotError, ValueError) as e:
        raise SqlError(f"cannot parse as {dialect} SQL: {e}", path=path) from None
    if len(statements) != 1:
        raise SqlError(f"expected exactly one SELECT statement, found {len(statements)}", path=path,
                       line=_second_statement_line(sql, dialect))
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise SqlError(f"expected a SELECT statement, found {statement.key.upper()}", path=path,
                       line=_first_line(sql, dialect))
    return statement


def _tokens(sql: str, dialect: str) -> list[Token]:
    try:
        return Dialect.get_or_raise(dialect).tokenize(sql)
    except (SqlglotError, ValueError):
        return []


def _first_line(sql: str, dialect: str) -> int | None:
    tokens = _tokens(sql, dialect)
    return int(tokens[0].line) if tokens else None


def _second_statement_line(sql: str, dialect: str) -> int | None:
    """Where a file holding several statements starts its second one."""
    tokens = _tokens(sql, dialect)
    ends = [i for i, t in enumerate(tokens) if t.token_type == TokenType.SEMICOLON]
    for i in ends:
        rest = [t for t in tokens[i + 1:] if t.token_type != TokenType.SEMICOLON]
        if rest and any(t.token_type != TokenType.SEMICOLON for t in tokens[:i]):
            return int(rest[0].line)
    return None


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else node.key


def _path_arguments(func: exp.Expr) -> list[exp.Expr]:
    """The positional arguments of a table function (named options are not paths)."""
    args = [func.this] if isinstance(func.this, exp.Expression) else []
    args += [e for e in func.expressions if not isinstance(e, exp.EQ | exp.PropertyEQ | exp.Kwarg)]
    flat: list[exp.Expr] = []
    for arg in args:
        flat.extend(arg.expressions if isinstance(arg, exp.Array) else [arg])
    return flat


def check_reads(query: exp.Expr, path: Path | str, roots: Sequence[Path]) -> None:
    """Refuse a query that would read files outside ``roots`` or call a table function that is not a plain
    reader or generator. Paths must be string literals so this check sees them; the engine's own sandbox
    (DuckDB) or this check alone (Spark) stops whatever a literal cannot show."""
    for table in query.find_all(exp.Table):
        func = table.this
        line = (func.meta.get("line") if isinstance(func, exp.Expression) else None) or table.meta.get("line")
        if isinstance(func, exp.Func):
            name = _function_name(func)
            if name in GENERATORS:
                continue
            if name not in FILE_READERS:
                raise SqlError(f"table function {name}() is not allowed: a query reads tables, files "
                               "(read_csv, read_parquet, ...) or generated rows (range, unnest, ...)",
                               path=path, line=line)
            arguments = _path_arguments(func)
            if not arguments:
                raise SqlError(f"{name}() needs a path", path=path, line=line)
            for arg in arguments:
                if not (isinstance(arg, exp.Literal) and arg.is_string):
                    raise SqlError(f"{name}() must be given its path as a string literal, not "
                                   f"{arg.sql(DIALECT)[:60]}", path=path, line=line)
                outside = escapes(arg.this, roots)
                if outside:
                    raise SqlError(f"{name}({arg.this!r}) reads {outside}", path=path, line=line)
        elif table.args.get("db") is not None and table.text("db").lower() in SPARK_FILE_FORMATS:
            outside = escapes(table.name, roots)
            if outside:
                raise SqlError(f"{table.text('db')}.`{table.name}` reads {outside}", path=path, line=line)


def escapes(text: str, roots: Sequence[Path]) -> str | None:
    """Why a file path given in SQL would leave ``roots``, or None when it stays inside.

    A relative path may not climb (``..``) or start at a home folder (``~``); the engine resolves it
    against the working folder, which its sandbox confines. An absolute path must lie in a root once
    symbolic links are resolved.

    >>> escapes("data/x.csv", [Path("/p")]) is None, escapes("/p/data/*.csv", [Path("/p")]) is None
    (True, True)
    >>> escapes("/etc/passwd", [Path("/p")])
    'outside the pipeline and the lake'
    >>> escapes("https://example.com/x.csv", [Path("/p")])
    'a URL; only local files inside the pipeline or the lake can be read'
    """
    if "://" in text or text.split(":", 1)[0].lower() in ("http", "https", "s3", "gs", "gcs", "az", "azure",
                                                           "abfss", "hf", "r2", "file", "hdfs"):
        return "a URL; only local files inside the pipeline or the lake can be read"
    posix = PurePosixPath(text.replace("\\", "/"))
    if text.startswith("~") or ".." in posix.parts:
        return "outside the pipeline and the lake ('..' and '~' are not allowed)"
    if not posix.is_absolute():
        return None
    resolved = Path(os.path.realpath(text))
    for root in roots:
        real = Path(os.path.realpath(root))
        if resolved == real or real in resolved.parents:
            return None
    return "outside the pipeline and the lake"


def dependencies(query: exp.Expr) -> frozenset[str]:
    """Tables a query reads, without CTEs, subquery aliases or table functions.

    >>> sorted(dependencies(parse('''
    ...     with recent as (select * from counts where ts > '2020-01-01')
    ...     select * from recent r join locations l using (location_id)
    ...     where exists (select 1 from holidays h where h.date = r.date)
    ... ''')))
    ['counts', 'holidays', 'locations']
    >>> sorted(dependencies(parse("select * from read_csv('x.csv'), range(3) t(i)")))
    []
    """
    tables: set[str] = set()
    for scope in traverse_scope(query):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                tables.add(source.name.lower())
    return frozenset(tables)


def transpile(query: exp.Expr, dialect: str) -> str:
    """Render a parsed query for an engine's dialect."""
    return query.sql(dialect=dialect, pretty=True)


def quote(name: str, dialect: str = DIALECT) -> str:
    """Quote an identifier for a dialect.

    >>> quote("rank")
    '"rank"'
    """
    return exp.to_identifier(name, quoted=True).sql(dialect)


def literal(value: str | int | float | bool | None, dialect: str = DIALECT) -> str:
    """Render a Python scalar as a SQL literal, escaping as the dialect requires.

    >>> literal("it's")
    "'it''s'"
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return exp.Literal.number(value).sql(dialect)
    return exp.Literal.string(value).sql(dialect)
