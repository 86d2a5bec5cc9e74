"""What the command line prints, and how: progress and notes to stderr, answers to stdout, so output can be
piped. Everything goes through :func:`line`: user text (paths, URLs, names, messages) literally, never read
as rich markup or emoji codes, and with secrets masked."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

from footfall.errors import FootfallError, os_reason
from footfall.redact import redact
from footfall.runner import Event, RunResult

out = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
Part = str | tuple[str, str]


def line(*parts: Part) -> Text:
    """What every message is made of: text exactly as given, secrets masked; a (text, style) pair is styled."""
    return Text.assemble(*(redact(p) if isinstance(p, str) else (redact(p[0]), p[1]) for p in parts))


def note(text: str, style: str = "") -> None:
    """One indented line of what the work did (fetched, pulled, pushed), on stderr."""
    err.print(line("  ", (text, style)))


class Progress:
    """A spinner naming the work under way (on a terminal), over one line per finished piece of work."""

    def __init__(self) -> None:
        self.status = err.status("starting", spinner="dots")

    def __enter__(self) -> Progress:
        self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.status.stop()

    def __call__(self, event: Event) -> None:
        if event.kind == "begin":
            self.status.update(line(f"{event.detail} {event.name}"))
        else:
            print_event(event)


def print_event(event: Event) -> None:
    """One progress line per parsed file, source and step; checks only when they do not pass, outputs
    and passed checks in the closing summary."""
    if event.kind == "begin":
        return
    if event.kind == "check":
        if event.detail != "passed":
            colour = "red" if event.detail == "failed" else "yellow"
            err.print(line("  ", (f"{event.detail:<7}", colour), f" {event.name} ({event.rows} offending)"))
        return
    if event.kind == "output":
        return
    rows = "" if event.rows is None else f"{event.rows:>12,} rows"
    err.print(line(f"  {event.kind:<7} {event.name:<40} {rows:>18} {event.seconds:>7.2f}s  ", (event.detail, "dim")))


def summary_line(result: RunResult) -> str:
    if result.unchanged:
        return "nothing new since the last run: no step ran, the published outputs stand"
    passed = sum(1 for c in result.checks if c.passed)
    return (f"{len(result.published)} output(s) published, {passed}/{len(result.checks)} check(s) passed, "
            f"{len(result.warnings)} warning(s)")


@contextmanager
def download_bars() -> Iterator[Callable[[str], Callable[[int, int | None], None]]]:
    """A rich progress bar per download: bytes, rate, time left. Nothing is drawn until the first bar, so
    work that downloads nothing prints exactly what it would without bars."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    bars = Progress(TextColumn("  {task.description}", markup=False), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True)

    def factory(label: str) -> Callable[[int, int | None], None]:
        if not bars.live.is_started:
            bars.start()
        task = bars.add_task(redact(label), total=None)

        def update(done: int, total: int | None) -> None:
            bars.update(task, completed=done, total=total)

        return update

    try:
        yield factory
    finally:
        if bars.live.is_started:
            bars.stop()


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: str, title: str = "") -> None:
    """Rows as a rich table for people, or CSV / JSON for scripts."""
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        import json

        out.print_json(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str))
    elif fmt == "table":
        from rich.table import Table

        table = Table(title=Text(title))
        for c in columns:
            table.add_column(Text(c), justify="right" if c in ("rank", "pedestrians", "location_id") else "left")
        for row in rows:
            table.add_row(*(Text(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) and columns[i] ==
                                 "pedestrians" else str(v)) for i, v in enumerate(row)))
        out.print(table)
    else:
        raise FootfallError(f"unknown format {fmt!r} (table, csv, json)")


def explain(error: Exception) -> tuple[str, int]:
    """One line and an exit code for any error that reaches the command line. A ``FootfallError`` or an OS
    error is the user's or the environment's; anything else is named as unexpected, a bug to report."""
    if isinstance(error, FootfallError):
        return _one_line(str(error)), error.exit_code
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return _one_line(f"{where}{os_reason(error)}"), 1
    first = next((t.strip() for t in str(error).splitlines() if t.strip()), "")
    if type(error).__module__.split(".")[0].lstrip("_") == "duckdb":
        return f"the engine failed: {first}", 1
    return (f"unexpected {type(error).__name__}: {first} (a bug in footfall: run again with --debug for the "
            "traceback)"), 1


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def interrupted(error: BaseException) -> bool:
    """Whether an exit came from a Ctrl-C nobody reported: Typer turns one into a silent exit 130."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, KeyboardInterrupt):
            return True
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    return False
