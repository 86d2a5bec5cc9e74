"""Split an archive-format file into its history and its last month (for the incremental benchmark)."""

from __future__ import annotations

import duckdb

STAMP = "'%B %d, %Y %I:%M:%S %p'"


def split(source: str, history: str, month: str) -> str:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    rel = "read_csv(?, all_varchar = true, header = true)"
    last = con.execute(f"SELECT max(strftime(strptime(Date_Time, {STAMP}), '%Y-%m')) FROM {rel}", [source]).fetchone()
    for target, op in ((history, "<>"), (month, "=")):
        con.execute(f"COPY (SELECT * FROM {rel} WHERE strftime(strptime(Date_Time, {STAMP}), '%Y-%m') {op} ?) "
                    f"TO '{target}' (HEADER, FORMAT csv)", [source, last[0] if last else None])
    return str(last[0]) if last else ""
