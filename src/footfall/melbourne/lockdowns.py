"""Melbourne's lockdowns, from the pipeline's seed file: the answers, the generator and the report read the
same rows, so the report's shading cannot drift from the calendar the answers use."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache

from footfall.melbourne.schema import PIPELINE_DIR

SEED = PIPELINE_DIR / "seeds" / "lockdowns.csv"


@dataclass(frozen=True)
class Lockdown:
    """One stay-at-home order; ``end`` is its last day (inclusive)."""

    number: int
    start: date
    end: date


@cache
def lockdowns() -> tuple[Lockdown, ...]:
    """Every lockdown, in the order of the seed file."""
    with SEED.open(newline="", encoding="utf-8") as handle:
        return tuple(Lockdown(int(row["lockdown"]), date.fromisoformat(row["start_date"]),
                              date.fromisoformat(row["end_date"])) for row in csv.DictReader(handle))
