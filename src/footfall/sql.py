"""SQL handling that every engine shares: parsing, dependency discovery, transpiling.

Steps are written once in DuckDB's dialect. Dependencies are read from the SQL itself through
sqlglot's scope traversal, so CTE names, subquery aliases and table functions never count as
tables, and a pipeline never declares an edge twice.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.scope import traverse_scope

from footfall.errors import SqlError

DIALECT = "duckdb"


def parse(sql: str, path: Path | str = "<sql>") -> exp.Query:
    """Parse one SELECT statement, naming file and line on failure."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        raise SqlError(f"SQL syntax error: {first.get('description', str(e))}", path=path,
                       line=first.get("line")) from None
    if len(statements) != 1:
        raise SqlError(f"expected exactly one SELECT statement, found {len(statements)}", path=path)
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise SqlError(f"expected a SELECT statement, found {statement.key.upper()}", path=path)
    return statement


def dependencies(query: exp.Expression) -> frozenset[str]:
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


def transpile(query: exp.Expression, dialect: str) -> str:
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
