from __future__ import annotations

import pytest

from footfall.checks import run_check
from footfall.engines.duckdb import DuckDBEngine
from footfall.spec import Check


@pytest.fixture(scope="module")
def engine():
    with DuckDBEngine(threads=1) as eng:
        eng.create("t", "select * from (values (1, 'a', 5), (2, 'b', -1), (2, null, 7)) v(id, kind, n)", "table")
        yield eng


@pytest.mark.parametrize(("check", "failures"), [
    (Check(not_null=["id"]), 0),
    (Check(not_null=["id", "kind"]), 1),
    (Check(unique=["kind"]), 0),
    (Check(unique=["id"]), 1),
    (Check(unique=["id", "kind"]), 0),
    (Check(accepted_values={"column": "kind", "values": ["a", "b"]}), 0),
    (Check(accepted_values={"column": "kind", "values": ["a"]}), 1),
    (Check(range={"column": "n", "min": -1, "max": 7}), 0),
    (Check(range={"column": "n", "min": 0}), 1),
    (Check(range={"column": "n", "max": 6}), 1),
    (Check(row_count={"min": 3, "max": 3}), 0),
    (Check(row_count={"min": 4}), 1),
    (Check(row_count={"max": 2}), 1),
    (Check(sql="select * from t where n < id"), 1),
    (Check(sql="select * from t where n > 100"), 0),
])
def test_each_check_kind_counts_offending_rows(engine, check: Check, failures: int) -> None:
    result = run_check(engine, "t", check)
    assert result.failures == failures
    assert result.passed is (failures == 0)
    assert len(result.sample) == min(failures, 5)


def test_failed_check_summary_shows_offending_rows(engine) -> None:
    result = run_check(engine, "t", Check(range={"column": "n", "min": 0}))
    assert result.blocking
    assert "1 offending row(s)" in result.summary()
    assert "n=-1" in result.summary()


def test_warn_severity_does_not_block(engine) -> None:
    result = run_check(engine, "t", Check(range={"column": "n", "min": 0}, severity="warn"))
    assert not result.passed and not result.blocking


def test_values_are_literals_not_sql(engine) -> None:
    check = Check(accepted_values={"column": "kind", "values": ["a') or ('1'='1"]})
    assert run_check(engine, "t", check).failures == 2


class CountingEngine(DuckDBEngine):
    """A real DuckDB engine that counts the queries it is asked to run."""

    def __init__(self) -> None:
        super().__init__(threads=1)
        self.queries: list[str] = []

    def query(self, sql, limit=None):
        self.queries.append(sql)
        return super().query(sql, limit)


def test_every_check_on_a_table_is_counted_by_one_query_with_each_checks_own_count() -> None:
    from footfall.checks import run_checks

    checks = [Check(not_null=["id", "kind"]), Check(unique=["id"]), Check(unique=["kind"]),
              Check(accepted_values={"column": "kind", "values": ["a"]}), Check(range={"column": "n", "min": 0}),
              Check(row_count={"min": 4}), Check(row_count={"max": 3}), Check(sql="select * from t where n < id")]
    with CountingEngine() as engine:
        engine.create("t", "select * from (values (1, 'a', 5), (2, 'b', -1), (2, null, 7)) v(id, kind, n)", "table")
        engine.queries.clear()
        results = run_checks(engine, "t", checks)
        assert [r.failures for r in results] == [1, 1, 0, 1, 1, 1, 0, 1]
        failed = sum(1 for r in results if r.failures)
        assert len(engine.queries) == 1 + failed, "one query for every count, then one per failed check's sample"
        assert [len(r.sample) for r in results] == [r.failures for r in results]
        engine.queries.clear()
        assert all(r.passed for r in run_checks(engine, "t", [Check(not_null=["id"]), Check(unique=["n"])]))
        assert len(engine.queries) == 1


def test_checks_on_an_empty_table_count_no_violation_but_its_row_count() -> None:
    from footfall.checks import run_checks

    with DuckDBEngine(threads=1) as engine:
        engine.create("e", "select 1 as id where false", "table")
        results = run_checks(engine, "e", [Check(not_null=["id"]), Check(row_count={"min": 1})])
    assert [r.failures for r in results] == [0, 1]


def test_every_tables_checks_are_counted_by_one_query_with_the_results_of_each_table_alone() -> None:
    from footfall.checks import run_all_checks, run_checks

    groups = [("t", [Check(unique=["id"]), Check(not_null=["kind"]), Check(row_count={"max": 2})]),
              ("none", []),
              ("u", [Check(sql="select * from u where n > 1")])]
    with CountingEngine() as engine:
        engine.create("t", "select * from (values (1, 'a'), (1, null), (2, 'b')) v(id, kind)", "table")
        engine.create("u", "select * from (values (1), (2), (3)) v(n)", "table")
        alone = [run_checks(engine, table, checks) for table, checks in groups]
        engine.queries.clear()
        together = run_all_checks(engine, groups)
        assert len(engine.queries) == 1 + 4, "one query for every count, then one per failed check's sample"
    assert [[r.failures for r in found] for found in together] == [[1, 1, 1], [], [2]]
    assert together == alone
