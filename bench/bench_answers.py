"""The answers of this checkout beside another's: every curated CSV compared byte for byte, for each engine, on
the demo's data, the real samples in ``../shared/data/real`` and a generated input.

    python bench/bench_answers.py --compare /path/to/other/checkout/src [--rows 1000000] [--engines duckdb,spark]

A speed-up must not change an answer; this is how one is checked on more data than the tests hold. The other
checkout runs with its own ``src`` first on PYTHONPATH (the same installed packages). Each run is a process of
its own on a fresh local lake; Spark runs on ``local[2]``. Prints one Markdown row per input and engine and exits
with 1 when any curated file differs or is missing on one side.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import date
from pathlib import Path

from run import ROOT, footfall, generate, measure

SAMPLES = ROOT.parent / "shared" / "data" / "real"


def inputs(work: Path, rows: int) -> dict[str, tuple[list[str], list[str]]]:
    """Name -> (counts, sensors) for each input: the demo's three years, the real samples, ``rows`` generated."""
    demo, sensors = work / "demo-counts.csv", work / "demo-sensors.csv"
    if not demo.exists():
        measure(footfall("generate", "--format", "archive", "--seed", "2019", "--sensors", "40", "--start",
                         str(date(2019, 1, 1)), "--end", str(date(2021, 12, 31)), "--locations", str(sensors),
                         str(demo)))
    found = {"demo": ([str(demo)], [str(sensors)])}
    if SAMPLES.is_dir():
        files = sorted(SAMPLES.iterdir())
        found["real samples"] = ([str(p) for p in files if "sensor" not in p.name and p.suffix in (".csv", ".json")],
                                 [str(p) for p in files if "sensor" in p.name])
    else:
        print(f"no real samples at {SAMPLES}: that input is skipped", file=sys.stderr)
    generated = work / f"generated-{rows}.csv"
    if not generated.exists():
        generate(generated, rows)
    found[f"generated, {rows:,} rows"] = ([str(generated)], [])
    return found


def answers(lake: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((lake / "curated").glob("*.csv"))}


def run(src: Path | None, engine: str, counts: list[str], sensors: list[str], lake: Path) -> dict[str, bytes]:
    shutil.rmtree(lake, ignore_errors=True)
    args = ["run", "--lake", str(lake), "--engine", engine, *[a for c in counts for a in ("--counts", c)],
            *[a for s in sensors for a in ("--sensors", s)]]
    if engine == "spark":
        args += ["--spark-master", "local[2]"]
    measure(footfall(*args), env={"PYTHONPATH": str(src)} if src else None)
    return answers(lake)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare", type=Path, required=True, help="the other checkout's src folder")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--work", type=Path, default=Path("/tmp/footfall-bench-answers"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print("| input | engine | curated CSVs | identical | differ or missing |\n|---|---|---:|---:|---|", flush=True)
    failed = False
    for name, (counts, sensors) in inputs(args.work, args.rows).items():
        for engine in args.engines.split(","):
            this = run(None, engine, counts, sensors, args.work / "lake-this")
            other = run(args.compare, engine, counts, sensors, args.work / "lake-other")
            differ = sorted(n for n in this.keys() | other.keys() if this.get(n) != other.get(n))
            failed |= bool(differ) or not this
            same = len(this.keys() & other.keys()) - len([n for n in differ if n in this and n in other])
            print(f"| {name} | {engine} | {len(this)} | {same} | {', '.join(differ) or '–'} |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
