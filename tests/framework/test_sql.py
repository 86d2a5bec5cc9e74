from __future__ import annotations

import pytest

from footfall.errors import SqlError
from footfall.sql import dependencies, parse


@pytest.mark.parametrize(("sql", "expected"), [
    ("select * from a", {"a"}),
    ("select * from a join b on a.id = b.id left join c using (id)", {"a", "b", "c"}),
    ("select * from a x, b as y where x.id = y.id", {"a", "b"}),
    ("with t as (select * from a), u as (select * from t join b using (k)) select * from u", {"a", "b"}),
    ("select * from (select * from a) sub where k in (select k from b)", {"a", "b"}),
    ("select * from a where exists (select 1 from b where b.k = a.k)", {"a", "b"}),
    ("select * from a union all select * from b", {"a", "b"}),
    ("select * from read_parquet('x/*.parquet')", set()),
    ("select * from range(10) r(i) join a on a.i = r.i", {"a"}),
    ("select * from generate_series(1, 3)", set()),
    ("with recursive n(i) as (select 1 union all select i + 1 from n where i < 3) select * from n", set()),
    ("select * from A", {"a"}),
])
def test_dependencies_are_the_tables_a_query_reads(sql: str, expected: set[str]) -> None:
    assert dependencies(parse(sql)) == expected


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(SqlError) as info:
        parse("select a,\n  b\nfrom t where (", "sql/t.sql")
    assert info.value.path == "sql/t.sql"
    assert info.value.line == 3


@pytest.mark.parametrize("sql", ["select 1; select 2", "drop table a", ""])
def test_a_step_is_exactly_one_select(sql: str) -> None:
    with pytest.raises(SqlError):
        parse(sql, "sql/x.sql")
