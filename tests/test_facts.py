"""Each Melbourne fact is defined in one place and every reader derives it from there."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb

from footfall.engines.duckdb import DuckDBEngine
from footfall.generate import generate
from footfall.lake import Lake
from footfall.melbourne.lockdowns import SEED, lockdowns
from footfall.melbourne.report import Answers, history_chart
from footfall.melbourne.run import PIPELINE_DIR, pipeline, run

SRC = Path(__file__).resolve().parents[1] / "src" / "footfall"


def sources_mentioning(pattern: str) -> list[str]:
    """The files under src/footfall (code, SQL, YAML, seeds) whose text matches ``pattern``."""
    found = re.compile(pattern)
    return sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and found.search(p.read_text(encoding="utf-8", errors="replace")))


def test_the_lockdown_calendar_is_written_only_in_the_seed_file() -> None:
    days = "|".join(re.escape(d.isoformat()) for x in lockdowns() for d in (x.start, x.end))
    assert len(lockdowns()) == 6
    assert sources_mentioning(days) == [str(SEED.relative_to(SRC))]


def test_the_pipeline_reads_the_lockdown_seed_the_python_side_reads() -> None:
    source = pipeline().spec.sources["lockdowns"]
    assert (PIPELINE_DIR / source.path).resolve() == SEED.resolve()
    engine = DuckDBEngine(threads=1)
    engine.register_source("lockdowns", [str(SEED)], source)
    _, rows = engine.query((PIPELINE_DIR / "sql" / "lockdown_periods.sql").read_text())
    assert rows == [(d.number, d.start, d.end, (d.end - d.start).days + 1) for d in lockdowns()]


def test_the_report_shades_the_lockdowns_the_answers_use(tmp_path: Path) -> None:
    generate(tmp_path / "counts.csv", sensors=2, start=date(2020, 3, 1), end=date(2020, 3, 31))
    lake = Lake.at(tmp_path / "lake")
    run(lake, [str(tmp_path / "counts.csv")])
    shapes = history_chart(Answers(lake)).figure["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [(d.start.isoformat(), d.end.isoformat()) for d in lockdowns()]


def test_generated_counts_fall_during_a_lockdown_and_not_outside(tmp_path: Path) -> None:
    first = lockdowns()[0]
    generate(tmp_path / "counts.csv", fmt="ods-csv", sensors=1, start=first.start.replace(day=1), end=first.start)
    inside, before = duckdb.connect().execute(f"""SELECT AVG(pedestriancount) FILTER (sensing_date >= '{first.start}'),
                                           AVG(pedestriancount) FILTER (sensing_date < '{first.start}')
                                    FROM read_csv('{tmp_path / "counts.csv"}', delim=';')""").fetchone()
    assert inside < before * 0.5
