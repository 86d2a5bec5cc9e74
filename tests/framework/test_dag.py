from __future__ import annotations

import pytest

from footfall.dag import load_pipeline
from footfall.errors import SpecError, SqlError

SPEC = "name: p\nsources:\n  raw: {path: data/raw.csv, root: pipeline, format: csv}\n"


def test_steps_run_after_what_they_read(make_pipeline) -> None:
    root = make_pipeline(SPEC, {
        "c": "select * from b join a using (k)",
        "b": "with x as (select * from a) select * from x",
        "a": "select * from raw",
    })
    pipeline = load_pipeline(root)
    assert pipeline.order == ("a", "b", "c")
    assert pipeline.steps["c"].depends_on == {"a", "b"}


def test_a_cycle_is_an_error_naming_the_steps(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select * from b", "b": "select * from a"})
    with pytest.raises(SqlError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        load_pipeline(root)


def test_unknown_table_is_an_error_naming_the_step_file(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select * from raw join nowhere using (k)"})
    with pytest.raises(SqlError, match=r"step .a. reads unknown table .nowhere.") as info:
        load_pipeline(root)
    assert info.value.path.endswith("sql/a.sql")


def test_step_settings_without_sql_file_are_an_error(make_pipeline) -> None:
    root = make_pipeline(SPEC + "steps:\n  ghost: {materialize: view}\n", {})
    with pytest.raises(SpecError, match=r"no sql/ghost\.sql"):
        load_pipeline(root)


def test_output_of_unknown_table_is_an_error(make_pipeline) -> None:
    root = make_pipeline(SPEC + "outputs:\n  - {table: nope, zone: curated}\n", {})
    with pytest.raises(SpecError, match="unknown table 'nope'"):
        load_pipeline(root)


def test_engine_override_file_replaces_the_transpiled_sql(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select 1 as x from raw", "a.spark": "SELECT 2 AS x FROM raw"})
    step = load_pipeline(root).steps["a"]
    assert step.sql("spark") == "SELECT 2 AS x FROM raw"
    assert "1 AS x" in step.sql("duckdb")


def test_a_step_edited_between_two_loads_is_read_anew(make_pipeline) -> None:
    root = make_pipeline(SPEC, {"a": "select * from raw", "b": "select * from raw"})
    assert load_pipeline(root).steps["b"].depends_on == {"raw"}
    (root / "sql" / "b.sql").write_text("select * from a", encoding="utf-8")
    again = load_pipeline(root)
    assert again.steps["b"].depends_on == {"a"}
    assert again.order == ("a", "b")


def test_the_same_text_is_checked_again_where_its_path_now_leads(make_pipeline, tmp_path) -> None:
    """Parsing is shared between loads of the same text; where a path leads is not, as a link can move."""
    outside = tmp_path / "elsewhere"
    root = make_pipeline(SPEC, {})
    (root / "data").mkdir(exist_ok=True)
    link = root / "data" / "link"
    link.symlink_to(root / "data")
    (root / "sql" / "a.sql").write_text(f"select * from read_csv('{link}/raw.csv')", encoding="utf-8")
    assert load_pipeline(root).steps["a"].depends_on == frozenset()
    link.unlink()
    outside.mkdir()
    link.symlink_to(outside)
    with pytest.raises(SqlError, match="outside the pipeline"):
        load_pipeline(root)
