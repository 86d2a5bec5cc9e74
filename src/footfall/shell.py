"""``footfall query`` at work: one checked statement answered with a spinner, or a shell of them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from sqlglot import exp

from footfall import query
from footfall.console import err, line, render
from footfall.dag import Pipeline
from footfall.errors import FootfallError
from footfall.lake.local import LocalLake
from footfall.readonly import known_names, parse_read_only, runnable


def answer(lake: LocalLake, pipeline: Pipeline, statement: exp.Expr, fmt: str, out_path: Path | None) -> None:
    """Run one checked statement with a spinner (after half a second, on a terminal) and print or write it."""
    con = query.open_for(lake, pipeline, statement)
    sql = runnable(statement)
    status = err.status("", spinner="dots") if err.is_terminal else None

    def waiting(elapsed: float) -> None:
        if status is not None and elapsed >= 0.5:
            status.update(line(f"querying {lake} ... {elapsed:,.1f}s (Ctrl-C cancels)"))
            status.start()

    try:
        if fmt == "table" and out_path is None:
            limit = 1000
            found = query.run_cancellable(con, lambda: query.fetch(con, sql, limit), waiting)
            if status is not None:
                status.stop()
            render(found.columns, found.rows, "table")
            if found.more:
                err.print(line((f"  first {limit:,} rows shown: use --format csv or --out FILE for all", "dim")))
            return
        target = out_path.expanduser().absolute() if out_path else None
        rows = query.run_cancellable(con, lambda: query.write(con, sql, "csv" if fmt == "table" else fmt, target,
                                                                sys.stdout, (lake.root,)), waiting)
        if status is not None:
            status.stop()
        if target:
            err.print(line(("wrote", "green"), f" {target}: {rows:,} row(s)"))
    except KeyboardInterrupt:
        if status is not None:
            status.stop()
        err.print(line("query cancelled"))
        raise typer.Exit(130) from None
    finally:
        if status is not None:
            status.stop()
        con.close()


def shell(lake: LocalLake, pipeline: Pipeline, fmt: str) -> None:
    """Statements ended by ``;``, one answer each; an error or a refusal is one line and the shell goes on."""
    interactive = sys.stdin.isatty()

    def lines() -> Iterator[str]:
        while True:
            try:
                yield input("footfall> ") + "\n"
            except EOFError:
                return

    if interactive:
        err.print(line(f"tables: {', '.join(known_names(pipeline))}; Ctrl-D ends"))
    for text in query.statements_of(lines() if interactive else sys.stdin):
        try:
            statement = parse_read_only(text, pipeline)
            answer(lake, pipeline, statement, fmt, None)
        except FootfallError as e:
            err.print(line(("error:", "red"), f" {e}"))
        except typer.Exit:
            continue
