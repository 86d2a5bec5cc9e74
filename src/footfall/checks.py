"""Data checks: each one is a query for the rows that break it, so a failure can show them.

Names come validated from the spec and are quoted for the engine's dialect; values become SQL
literals; custom checks are parsed as a single SELECT. Nothing from YAML is spliced raw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from footfall import sql as sqlmod
from footfall.engines import Engine
from footfall.spec import Check


def offending_rows_sql(table: str, check: Check, dialect: str = sqlmod.DIALECT) -> str:
    """A SELECT returning the rows of ``table`` that violate ``check``.

    >>> print(offending_rows_sql("t", Check(unique=["a", "b"])))
    SELECT "a", "b", COUNT(*) AS n FROM "t" GROUP BY "a", "b" HAVING COUNT(*) > 1
    >>> print(offending_rows_sql("t", Check(range={"column": "n", "min": 0})))
    SELECT * FROM "t" WHERE "n" < 0
    """
    t = sqlmod.quote(table, dialect)
    condition = row_condition(check, dialect)
    if condition is not None:
        return f"SELECT * FROM {t} WHERE {condition}"
    if check.unique is not None:
        cols = ", ".join(sqlmod.quote(c, dialect) for c in check.unique)
        return f"SELECT {cols}, COUNT(*) AS n FROM {t} GROUP BY {cols} HAVING COUNT(*) > 1"
    if check.row_count is not None:
        return f"SELECT COUNT(*) AS row_count FROM {t} HAVING {_count_bounds(check)}"
    assert check.sql is not None
    return sqlmod.transpile(sqlmod.parse(check.sql, f"check on {table}"), dialect)


def row_condition(check: Check, dialect: str = sqlmod.DIALECT) -> str | None:
    """The condition a single row breaks, for the checks that judge rows one by one; None for the others.

    >>> row_condition(Check(not_null=["a", "b"]))
    '"a" IS NULL OR "b" IS NULL'
    """
    if check.not_null is not None:
        return " OR ".join(f"{sqlmod.quote(c, dialect)} IS NULL" for c in check.not_null)
    if check.accepted_values is not None:
        col = sqlmod.quote(check.accepted_values.column, dialect)
        values = ", ".join(sqlmod.literal(v, dialect) for v in check.accepted_values.values)
        return f"{col} IS NOT NULL AND {col} NOT IN ({values})"
    if check.range is not None:
        col = sqlmod.quote(check.range.column, dialect)
        bounds = [f"{col} < {sqlmod.literal(check.range.min, dialect)}"] if check.range.min is not None else []
        if check.range.max is not None:
            bounds.append(f"{col} > {sqlmod.literal(check.range.max, dialect)}")
        return " OR ".join(bounds) or "FALSE"
    return None


def _count_bounds(check: Check) -> str:
    assert check.row_count is not None
    bounds = []
    if check.row_count.min is not None:
        bounds.append(f"COUNT(*) < {int(check.row_count.min)}")
    if check.row_count.max is not None:
        bounds.append(f"COUNT(*) > {int(check.row_count.max)}")
    return " OR ".join(bounds) or "FALSE"


def violations_sql(table: str, checks: Sequence[Check], dialect: str = sqlmod.DIALECT) -> str:
    """One query, one row: column ``v<i>`` is how many rows break ``checks[i]`` (as many as
    :func:`offending_rows_sql` returns). The row-by-row checks and the row count share one scan of the
    table; a uniqueness or custom check is a one-row aggregate of its own. The one-row parts are stacked
    (``UNION ALL``, each part's other columns NULL) and folded by ``MAX``: no join, so Spark runs no
    broadcast for them, and an engine that pays per job runs one query per table instead of one per check.

    >>> print(violations_sql("t", [Check(row_count={"min": 1})]))
    SELECT MAX(v0) AS v0 FROM (SELECT CAST(CASE WHEN COUNT(*) < 1 THEN 1 ELSE 0 END AS BIGINT) AS v0 FROM "t") AS parts
    """
    t = sqlmod.quote(table, dialect)
    scanned: dict[int, str] = {}
    aggregated: list[int] = []
    for i, check in enumerate(checks):
        condition = row_condition(check, dialect)
        if condition is not None:
            scanned[i] = f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"
        elif check.row_count is not None:
            scanned[i] = f"CASE WHEN {_count_bounds(check)} THEN 1 ELSE 0 END"
        else:
            aggregated.append(i)
    parts = [(scanned, t)] if scanned else []
    parts += [({i: "COUNT(*)"}, f"({offending_rows_sql(table, checks[i], dialect)}) AS offending") for i in aggregated]

    def part(counted: dict[int, str], source: str) -> str:
        columns = ", ".join(f"CAST({counted.get(i, 'NULL')} AS BIGINT) AS v{i}" for i in range(len(checks)))
        return f"SELECT {columns} FROM {source}"

    stacked = " UNION ALL ".join(part(counted, source) for counted, source in parts)
    return f"SELECT {', '.join(f'MAX(v{i}) AS v{i}' for i in range(len(checks)))} FROM ({stacked}) AS parts"


def all_violations_sql(groups: Sequence[tuple[str, Sequence[Check]]], dialect: str = sqlmod.DIALECT) -> str:
    """Every table's :func:`violations_sql` in one query: one row per table, column ``part`` its index in
    ``groups``, then its counts ``v0`` .. (NULL past its own checks). For an engine that pays per job: all of
    a run's checks are one job.

    >>> print(all_violations_sql([("a", [Check(row_count={"min": 1})]), ("b", [])]))  # doctest: +ELLIPSIS
    SELECT 0 AS part, v0 FROM (SELECT MAX(v0) AS v0 FROM (...) AS parts) AS counted0
    """
    width = max((len(checks) for _, checks in groups), default=0)
    selects = []
    for j, (table, checks) in enumerate(groups):
        if not checks:
            continue
        padding = [f"v{i}" if i < len(checks) else f"CAST(NULL AS BIGINT) AS v{i}" for i in range(width)]
        selects.append(f"SELECT {j} AS part, {', '.join(padding)} FROM ({violations_sql(table, checks, dialect)}) "
                       f"AS counted{j}")
    return " UNION ALL ".join(selects)


def describe(table: str, check: Check) -> str:
    """A short human name for a check, used in progress lines and errors.

    >>> describe("counts", Check(not_null=["ts"]))
    'counts: not_null(ts)'
    """
    if check.name:
        return f"{table}: {check.name}"
    details: dict[str, Callable[[], str]] = {
        "not_null": lambda: ", ".join(check.not_null or []),
        "unique": lambda: ", ".join(check.unique or []),
        "accepted_values": lambda: check.accepted_values.column if check.accepted_values else "",
        "range": lambda: _range_text(check),
        "row_count": lambda: _bounds_text(check.row_count.min, check.row_count.max) if check.row_count else "",
        "sql": lambda: "custom sql",
    }
    return f"{table}: {check.kind}({details[check.kind]()})"


def _range_text(check: Check) -> str:
    assert check.range is not None
    return f"{check.range.column} {_bounds_text(check.range.min, check.range.max)}"


def _bounds_text(low: int | float | None, high: int | float | None) -> str:
    return f"in [{'-inf' if low is None else low}, {'inf' if high is None else high}]"


@dataclass(frozen=True)
class CheckResult:
    table: str
    check: Check
    failures: int
    columns: list[str]
    sample: list[tuple[Any, ...]]

    @property
    def passed(self) -> bool:
        return self.failures == 0

    @property
    def blocking(self) -> bool:
        return not self.passed and self.check.severity == "error"

    def summary(self) -> str:
        head = f"check {describe(self.table, self.check)} failed: {self.failures} offending row(s)"
        if not self.sample:
            return head
        rows = "; ".join(", ".join(f"{c}={v}" for c, v in zip(self.columns, row, strict=False))
                         for row in self.sample)
        return f"{head}, e.g. {rows}"


def run_check(engine: Engine, table: str, check: Check, sample_size: int = 5) -> CheckResult:
    return run_checks(engine, table, [check], sample_size)[0]


def run_checks(engine: Engine, table: str, checks: Sequence[Check], sample_size: int = 5) -> list[CheckResult]:
    """Every check on ``table`` from one query (:func:`violations_sql`); offending rows are fetched only for
    the checks that failed."""
    if not checks:
        return []
    counts = engine.query(violations_sql(table, checks, engine.dialect))[1][0]
    return _results(engine, table, checks, counts, sample_size)


def run_all_checks(engine: Engine, groups: Sequence[tuple[str, Sequence[Check]]],
                   sample_size: int = 5) -> list[list[CheckResult]]:
    """Every check of every table in ``groups`` from one query (:func:`all_violations_sql`), the results
    in the order given, as :func:`run_checks` gives them table by table."""
    if not any(checks for _, checks in groups):
        return [[] for _ in groups]
    counted = {int(row[0]): row[1:] for row in engine.query(all_violations_sql(groups, engine.dialect))[1]}
    return [_results(engine, table, checks, counted[j], sample_size) if checks else []
            for j, (table, checks) in enumerate(groups)]


def _results(engine: Engine, table: str, checks: Sequence[Check], counts: Sequence[Any],
             sample_size: int) -> list[CheckResult]:
    results = []
    for check, found in zip(checks, counts[:len(checks)], strict=True):
        failures = int(found or 0)
        columns, sample = (engine.query(offending_rows_sql(table, check, engine.dialect), limit=sample_size)
                           if failures else ([], []))
        results.append(CheckResult(table, check, failures, columns, sample))
    return results
