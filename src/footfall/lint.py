"""Portability lint: DuckDB SQL that sqlglot would carry to Spark or Athena as a silent wrong answer.

sqlglot's translation is best effort. The constructs below either change meaning on the way (day-of-week
numbering, date_diff's arguments, date_trunc's result type, format codes) or do not exist on Spark 3.3/3.5
and Athena; each finding names the file, the line and a portable form. A step with an override file for
the engine (``sql/<step>.<engine>.sql``) is not linted: its override is what runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlglot import exp

from footfall.dag import Pipeline, SqlStep

TARGETS = ("spark", "athena")
RISKY_FORMATS = re.compile(r"%[WUjuwVGg]")


@dataclass(frozen=True)
class Portability:
    path: str
    line: int
    construct: str
    message: str
    suggestion: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.construct}: {self.message} (use: {self.suggestion})"


@dataclass(frozen=True)
class Rule:
    construct: str
    matches: Callable[[exp.Expr], bool]
    message: str
    suggestion: str


def _star_modifiers(node: exp.Expr) -> bool:
    args = node.args
    return isinstance(node, exp.Star) and bool(args.get("except") or args.get("except_") or args.get("replace"))


def _extract_weekday(node: exp.Expr) -> bool:
    return isinstance(node, exp.Extract) and node.name.upper() in ("DOW", "ISODOW", "DAYOFWEEK", "WEEKDAY")


def _bare_date_trunc(node: exp.Expr) -> bool:
    if not isinstance(node, exp.DateTrunc | exp.TimestampTrunc):
        return False
    return not (isinstance(node.parent, exp.Cast) and node.parent.to.this in (exp.DataType.Type.DATE,
                                                                             exp.DataType.Type.TIMESTAMP))


def _risky_format(node: exp.Expr) -> bool:
    fmt = node.args.get("format")
    return isinstance(node, exp.TimeToStr | exp.StrToTime) and isinstance(fmt, exp.Literal) and bool(
        RISKY_FORMATS.search(fmt.this))


def _ordered_aggregate(node: exp.Expr) -> bool:
    return isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order)


RULES = (
    Rule("day of week", lambda n: isinstance(n, exp.DayOfWeek | exp.DayOfWeekIso) or _extract_weekday(n),
         "weekday numbering differs between engines (DuckDB Sunday = 0, Spark Sunday = 1, ISO Monday = 1) and "
         "sqlglot's translation of ISODOW is off",
         "an override sql/<step>.<engine>.sql: WEEKDAY(date) + 1 on Spark, day_of_week(date) on Athena"),
    Rule("date_diff", lambda n: isinstance(n, exp.DateDiff),
         "argument order and units differ (DuckDB date_diff(part, start, end), Spark datediff(end, start))",
         "compare dates directly, or EPOCH differences divided by 86400"),
    Rule("date_trunc", _bare_date_trunc,
         "DuckDB's date_trunc on a DATE returns a DATE, Spark's a TIMESTAMP",
         "CAST(DATE_TRUNC(...) AS DATE)"),
    Rule("QUALIFY", lambda n: isinstance(n, exp.Qualify), "Spark 3.3/3.5 and Athena have no QUALIFY",
         "a CTE with the window column and a WHERE on it"),
    Rule("* EXCLUDE / REPLACE", _star_modifiers, "Spark and Athena cannot exclude or replace columns of *",
         "list the columns"),
    Rule("dayname / monthname", lambda n: isinstance(n, exp.Dayname | exp.Monthname),
         "names differ in format or do not exist", "a CASE on the weekday or month number"),
    Rule("time_bucket", lambda n: isinstance(n, exp.DateBin) or (isinstance(n, exp.Anonymous) and n.name.upper()
                                                                  == "TIME_BUCKET"),
         "no equivalent on Spark 3.3/3.5", "DATE_TRUNC with a CAST, or arithmetic on EPOCH"),
    Rule("week or day-of-year format", _risky_format,
         "%W, %U, %j, %u, %w, %V, %G have no faithful Spark pattern", "EXTRACT of the part you need"),
    Rule("ordered string aggregate", _ordered_aggregate,
         "STRING_AGG ... ORDER BY becomes LISTAGG WITHIN GROUP, which Spark 3.3/3.5 cannot parse",
         "ARRAY_TO_STRING(ARRAY_SORT(LIST(x)), sep)"),
)


def lint(pipeline: Pipeline, engine: str) -> list[Portability]:
    """Every non-portable construct in the pipeline's steps for ``engine`` (spark or athena)."""
    if engine not in TARGETS:
        raise ValueError(f"unknown engine {engine!r} (lint targets: {', '.join(TARGETS)})")
    findings: list[Portability] = []
    for name in pipeline.order:
        step = pipeline.steps[name]
        if engine in step.overrides:
            continue
        findings.extend(lint_step(step))
    return sorted(findings, key=lambda f: (f.path, f.line, f.construct))


def lint_step(step: SqlStep) -> Iterator[Portability]:
    text = step.path.read_text(encoding="utf-8")
    for node in step.query.walk():
        for rule in RULES:
            if rule.matches(node):
                yield Portability(str(step.path), _line(node, text), rule.construct, rule.message, rule.suggestion)


def _line(node: exp.Expr, text: str) -> int:
    """The line of a node: from sqlglot's token positions when it kept them, else from its text."""
    lines = [int(n.meta["line"]) for n in node.walk() if getattr(n, "_meta", None) and n.meta.get("line")]
    if lines:
        return min(lines)
    for candidate in (node.sql("duckdb"), getattr(node, "key", "")):
        word = re.split(r"[\s(]", str(candidate).strip(), maxsplit=1)[0] if candidate else ""
        if word:
            found = re.search(re.escape(word), text, re.IGNORECASE)
            if found:
                return text.count("\n", 0, found.start()) + 1
    return 1
