"""Text in Rich markup and emoji codes, which footfall must print as it is, and a small lake whose sensors are
named with it."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from footfall.melbourne.generate import generate
from support.cli import footfall

MARKUP_PROBES = ["[bold]loud[/bold]", "x[/]", ":smile:", "[red]", "[link=http://e.org]y[/link]", ":thumbs_up:[/i]"]


def markup_lake(folder: Path) -> Path:
    """A small published lake under ``folder``, its sensors named with rich markup and emoji codes; its counts are
    ``folder / "counts.csv"``."""
    generate(folder / "counts.csv", fmt="archive", seed=3, sensors=len(MARKUP_PROBES), start=date(2021, 1, 1),
             end=date(2021, 1, 31), locations=folder / "sensors.csv")
    with (folder / "sensors.csv").open() as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    for row, name in zip(rows[1:], MARKUP_PROBES, strict=True):
        row[1] = name
    with (folder / "sensors.csv").open("w", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    done = footfall("run", "--counts", str(folder / "counts.csv"), "--sensors", str(folder / "sensors.csv"), "--lake",
                    str(folder / "lake"), env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    return folder / "lake"
