from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from footfall.dag import load_pipeline
from footfall.lint import lint

SPEC = "name: p\nsources:\n  t: {path: t.csv, root: pipeline, format: csv}\n"


@pytest.mark.parametrize(("sql", "construct"), [
    ("select id,\n  isodow(d) as w\nfrom t", "day of week"),
    ("select id,\n  dayofweek(d) as w\nfrom t", "day of week"),
    ("select id,\n  extract(dow from d) as w\nfrom t", "day of week"),
    ("select id,\n  date_diff('day', a, b) as n\nfrom t", "date_diff"),
    ("select id,\n  date_trunc('month', d) as m\nfrom t", "date_trunc"),
    ("select id\nfrom t\nqualify row_number() over (partition by id order by d) = 1", "QUALIFY"),
    ("select id,\n  * exclude (d)\nfrom t", "* EXCLUDE / REPLACE"),
    ("select id,\n  dayname(d) as n\nfrom t", "dayname / monthname"),
    ("select id,\n  monthname(d) as n\nfrom t", "dayname / monthname"),
    ("select id,\n  time_bucket(interval 1 hour, ts) as b\nfrom t", "time_bucket"),
    ("select id,\n  strftime(d, '%Y-%W') as w\nfrom t", "week or day-of-year format"),
    ("select id,\n  string_agg(name, ',' order by name) as n\nfrom t group by id", "ordered string aggregate"),
])
@pytest.mark.parametrize("engine", ["spark", "athena"])
def test_each_known_bad_construct_is_caught_on_its_line(make_pipeline, sql: str, construct: str,
                                                        engine: str) -> None:
    root = make_pipeline(SPEC, {"a": sql})
    findings = lint(load_pipeline(root), engine)
    assert [(f.construct, f.line) for f in findings] == [(construct, 2 if "qualify" not in sql else 3)]
    assert findings[0].path.endswith("sql/a.sql") and findings[0].suggestion


def test_portable_forms_pass(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select cast(date_trunc('month', d) as date) as m, strftime(d, '%Y-%m') as ym, "
                                      "array_to_string(array_sort(list(name)), ',') as n from t group by all"})
    assert lint(load_pipeline(root), "spark") == []


def test_an_engine_override_is_not_linted(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select isodow(d) as w from t", "a.spark": "SELECT WEEKDAY(d) + 1 AS w FROM t"})
    assert lint(load_pipeline(root), "spark") == []
    assert len(lint(load_pipeline(root), "athena")) == 1


def test_the_shops_pipeline_is_clean_for_spark(shops_dir: Path) -> None:
    assert lint(load_pipeline(shops_dir), "spark") == []


def test_the_lint_command_prints_one_line_per_finding_and_fails(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select id,\n  isodow(d) as w\nfrom t"})
    done = subprocess.run([sys.executable, "-m", "footfall", "pipeline", "lint", str(root), "--engine", "spark"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.strip().startswith(f"{root}/sql/a.sql:2: day of week: ")
    assert done.stdout.strip().count("\n") == 0
