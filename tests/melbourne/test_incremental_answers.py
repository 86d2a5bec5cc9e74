"""The whole-history answers on a lake that grows: daily totals are kept per month, a run rebuilds only the
months its new files touch, and the answers are byte for byte those of one run over everything."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from footfall.lake.local import LocalLake
from footfall.melbourne.generate import generate
from footfall.melbourne.run import run

START, END = date(2019, 1, 1), date(2019, 4, 30)
MONTHS = [date(2019, m, 1).strftime("%B") for m in range(1, 13)]
NOT_COUNTED = {"resolution_summary.csv"}  # counts the publications, which differ by design


def curated(lake: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv")) if p.name not in NOT_COUNTED}


def differing(lake: Path, expected: Path) -> list[str]:
    mine, theirs = curated(lake), curated(expected)
    assert set(mine) == set(theirs) and len(theirs) >= 18
    return [name for name, body in mine.items() if body != theirs[name]]


def split_csv(source: Path, folder: Path, month: Callable[[dict[str, str]], str]) -> dict[str, Path]:
    """One file per calendar month of a CSV export (``month`` tells a row's), in time order."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        months: dict[str, list[dict[str, str]]] = {}
        for row in reader:
            months.setdefault(month(row), []).append(row)
    files = {}
    for key in sorted(months):
        path = folder / f"{source.stem}-{key}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(months[key])
        files[key] = path
    return files


def archive_month(row: dict[str, str]) -> str:
    return f"{row['Year']}-{MONTHS.index(row['Month']) + 1:02d}"


def daily_totals(lake: Path, where: str) -> list[tuple]:
    return duckdb.execute(f"SELECT location_id, date, pedestrians, hours_reported FROM read_parquet("
                          f"'{lake}/transformed/daily_totals/*/*/*.parquet', hive_partitioning = true) "
                          f"WHERE {where} ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four generated months as an archive export: the history (January to March), then April."""
    folder = tmp_path_factory.mktemp("generated")
    rows = folder / "counts.csv"
    generate(rows, seed=11, sensors=6, start=START, end=END, fmt="rows-csv")
    months = split_csv(rows, folder, archive_month)
    history = folder / "history.csv"
    _concat([months[m] for m in ("2019-01", "2019-02", "2019-03")], history)
    one_shot = folder / "one-shot"
    run(LocalLake.at(one_shot), [str(history), str(months["2019-04"])])
    return {"history": history, "april": months["2019-04"], "one_shot": one_shot, "folder": folder}


def _concat(parts: list[Path], target: Path) -> None:
    with target.open("w", newline="", encoding="utf-8") as out:
        for i, part in enumerate(parts):
            lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])


@pytest.mark.slow
def test_history_then_one_month_gives_the_answers_of_one_run_over_both(generated: dict, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(generated["history"])])
    run(LocalLake.at(lake), [str(generated["april"])])
    assert differing(lake, generated["one_shot"]) == []


@pytest.mark.slow
def test_a_run_carries_the_untouched_months_over_and_rebuilds_only_the_new_one(generated: dict,
                                                                                tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(generated["history"])])
    january = next((lake / "transformed/daily_totals/year=2019").glob("month=1/*.parquet"))
    con = duckdb.connect()  # a mark that only a carried-over month keeps
    con.execute(f"CREATE TABLE marked AS SELECT * REPLACE (pedestrians + 1000000 AS pedestrians) "
                f"FROM read_parquet('{january}')")
    january.unlink()
    con.execute(f"COPY marked TO '{january}' (FORMAT parquet)")
    run(LocalLake.at(lake), [str(generated["april"])])

    one_shot = generated["one_shot"]
    marked = daily_totals(lake, "month = 1")
    assert marked and all(p >= 1_000_000 for _, _, p, _ in marked)
    assert daily_totals(lake, "month > 1") == daily_totals(one_shot, "month > 1") != []
    january_days = duckdb.execute(f"SELECT MIN(pedestrians) FROM read_csv('{lake}/curated/daily_counts.csv') "
                                  "WHERE date < DATE '2019-02-01'").fetchone()
    assert january_days is not None and january_days[0] >= 1_000_000  # the answers read the kept totals


@pytest.mark.slow
def test_a_lake_published_before_the_daily_totals_existed_rebuilds_them_whole(generated: dict,
                                                                               tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(generated["history"])])
    for table in ("daily_totals", "hour_of_day_totals"):  # as a lake published before these tables existed
        published = lake / "transformed" / table
        assert published.is_symlink()
        published.unlink()
    run(LocalLake.at(lake), [str(generated["april"])])
    assert differing(lake, generated["one_shot"]) == []
    assert daily_totals(lake, "month = 1") == daily_totals(generated["one_shot"], "month = 1") != []


@pytest.mark.slow
def test_a_month_published_again_replaces_the_earlier_publication_as_in_one_run(generated: dict,
                                                                                 tmp_path: Path) -> None:
    """A later publication of March (every count one higher) wins over the history's March: run after the
    history, it gives what one run over both gives."""
    republished = tmp_path / "march-again.csv"
    with generated["history"].open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        march = [r for r in reader if archive_month(r) == "2019-03"]
    assert march, "the history holds March"
    with republished.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows({**r, "Hourly_Counts": str(int(r["Hourly_Counts"]) + 1)} for r in march)
    one_shot = tmp_path / "one-shot"
    run(LocalLake.at(one_shot), [str(generated["history"]), str(republished)])
    lake = tmp_path / "lake"
    run(LocalLake.at(lake), [str(generated["history"])])
    before = daily_totals(lake, "month = 3")
    run(LocalLake.at(lake), [str(republished)])
    assert daily_totals(lake, "month = 3") != before
    assert differing(lake, one_shot) == []


@pytest.mark.slow
def test_on_the_real_export_each_new_month_gives_the_answers_of_one_run(real: Path, tmp_path: Path) -> None:
    source = real / "ods_counts_export_labels_2025-10_5000.csv"
    months = split_csv(source, tmp_path, lambda row: row["Sensing_Date"][:7])
    assert len(months) >= 3
    one_shot = tmp_path / "one-shot"
    run(LocalLake.at(one_shot), [str(source)])
    lake = tmp_path / "lake"
    for path in months.values():
        run(LocalLake.at(lake), [str(path)])
    assert differing(lake, one_shot) == []
    assert daily_totals(lake, "true") == daily_totals(one_shot, "true") != []


@pytest.mark.slow
def test_running_again_with_the_same_files_builds_nothing_and_says_so(generated: dict, tmp_path: Path) -> None:
    from support.cli import footfall

    lake = tmp_path / "lake"
    first = footfall("run", "--counts", str(generated["history"]), "--lake", str(lake))
    assert first.returncode == 0, first.stderr
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (lake / "curated").glob("*")}
    again = footfall("run", "--counts", str(generated["history"]), "--lake", str(lake))
    assert again.returncode == 0, again.stderr
    assert "nothing new since the last run: no step ran" in again.stderr
    assert not re.search(r"^\s+(step|check|output|publish)\s", again.stderr, re.MULTILINE)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (lake / "curated").glob("*")} == before
    forced = footfall("run", "--counts", str(generated["history"]), "--lake", str(lake), "--rebuild")
    assert forced.returncode == 0 and "nothing new" not in forced.stderr
    assert re.search(r"^\s+step\s+daily_totals\s", forced.stderr, re.MULTILINE)
    assert curated(lake) == {name: body for name, (body, _) in before.items() if name.endswith(".csv")
                             and name not in NOT_COUNTED}
