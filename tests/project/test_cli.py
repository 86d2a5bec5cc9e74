from __future__ import annotations

from pathlib import Path

from support.cli import footfall

from footfall import __version__


def test_version_and_help() -> None:
    assert footfall("--version").stdout.strip() == f"footfall {__version__}"
    helptext = footfall("--help").stdout
    for command in ("pipeline", "run", "top"):
        assert command in helptext


def test_user_errors_print_one_line_without_traceback(make_pipeline) -> None:
    root = make_pipeline("name: p\n", {"a": "select * frm nothing"})
    done = footfall("pipeline", "validate", str(root))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {root}/sql/a.sql:1: SQL syntax error")


def test_debug_shows_the_traceback(make_pipeline) -> None:
    root = make_pipeline("name: p\n", {"a": "select * frm nothing"})
    done = footfall("--debug", "pipeline", "validate", str(root))
    assert done.returncode != 0
    assert "Traceback" in done.stderr


def test_failed_check_exits_3_and_publishes_nothing(make_pipeline, tmp_path: Path) -> None:
    root = make_pipeline(
        "name: p\nsteps:\n  a: {checks: [{range: {column: x, max: 1}}]}\n"
        "outputs:\n  - {table: a, zone: curated, format: csv}\n",
        {"a": "select 2 as x"})
    done = footfall("pipeline", "run", str(root), "--lake", str(tmp_path / "lake"))
    assert done.returncode == 3
    assert "error: check a: range(x in [-inf, 1]) failed: 1 offending row(s), e.g. x=2" in done.stderr
    assert not (tmp_path / "lake/curated/a.csv").exists()


def test_plan_prints_steps_in_run_order(make_pipeline) -> None:
    root = make_pipeline("name: p\n", {"b": "select * from a", "a": "select 1 as x"})
    lines = footfall("pipeline", "plan", str(root)).stdout.splitlines()
    assert lines == ["  1. a (table) <- -", "  2. b (table) <- a"]
