"""Parsing one generated archive-format file: the parse alone (landed first, then parsed, each timed in process,
on a connection set up as a run's) and the whole ``footfall run``, each in its own process (wall time, peak
RSS). ``--compare SRC`` alternates every measurement with another checkout's ``src`` folder (the code before a
change), so both are measured on the same machine under the same load; the 1-minute load average is noted
beside each run, as the machine may be shared.

    python bench/bench_parse.py --rows 1000000 --rows 6000000 [--repeat 3] [--compare OTHER/src]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from run import PY, footfall, generate, measure

PARSE = """
import json, sys, time
from pathlib import Path
from footfall.engines.duckdb import connect
from footfall.lake import Lake
from footfall.melbourne.landing import land_file, stage_file
source, root, out = map(Path, sys.argv[1:4])
lake = Lake.at(root)
lake.ensure()
landing = time.perf_counter()
landed, _ = land_file(lake, source, "counts")
landing = time.perf_counter() - landing
with connect(temp_dir=root / "_spill") as con:
    started, cpu = time.perf_counter(), time.process_time()
    staged = stage_file(con, lake, landed)
    out.write_text(json.dumps({"parse": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                               "land": landing, "rows": staged.rows}))
"""


def one(data: Path, work: Path, src: str | None) -> dict[str, float]:
    """Parse alone, then the whole run, with ``src`` first on the import path (None: this checkout)."""
    env = {"PYTHONPATH": src} if src else None
    lake, timing = work / "lake", work / "parse.json"
    shutil.rmtree(lake, ignore_errors=True)
    load = os.getloadavg()[0]
    parse_process = measure([PY, "-c", PARSE, str(data), str(lake), str(timing)], env=env)
    shutil.rmtree(lake, ignore_errors=True)
    whole = measure(footfall("run", "--counts", str(data), "--lake", str(lake)), env=env)
    shutil.rmtree(lake, ignore_errors=True)
    parsed = json.loads(timing.read_text())
    return {"load": load, "land": parsed["land"], "parse": parsed["parse"], "parse_cpu": parsed["cpu"],
            "parse_wall": parse_process.seconds, "parse_peak": parse_process.peak_mb, "run_wall": whole.seconds,
            "run_cpu": whole.cpu_seconds, "run_peak": whole.peak_mb, "load_after": os.getloadavg()[0]}


COLUMNS = {"land": "land (s)", "parse": "parse (s)", "parse_cpu": "parse CPU (s)", "parse_wall": "parse process (s)",
           "parse_peak": "parse process peak (MB)", "run_wall": "footfall run (s)", "run_cpu": "run CPU (s)",
           "run_peak": "run peak (MB)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows to generate (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", help="another checkout's src folder, measured alternately as 'before'")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "footfall-bench-parse")
    args = parser.parse_args()
    versions = {"before": str(Path(args.compare).resolve()), "after": None} if args.compare else {"this": None}
    for rows in args.rows or [1_000_000]:
        args.work.mkdir(parents=True, exist_ok=True)
        data = args.work / f"archive-{rows}.csv"
        if not data.exists():
            generate(data, rows)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
        for i in range(args.repeat):
            for name, src in versions.items():
                runs[name].append(one(data, args.work, src))
                shown = ", ".join(f"{label} {runs[name][-1][key]:.2f}" for key, label in COLUMNS.items())
                print(f"{rows:,} rows, {name}, run {i + 1}: {shown}, load {runs[name][-1]['load']:.1f} -> "
                      f"{runs[name][-1]['load_after']:.1f}", flush=True)
        print(f"\n| {rows:,} rows (median of {args.repeat}) | {' | '.join(COLUMNS.values())} | load (1 min) |")
        print("|---|" + "---:|" * len(COLUMNS) + "---|")
        for name, measured in runs.items():
            med = {key: statistics.median(r[key] for r in measured) for key in COLUMNS}
            loads = ", ".join(f"{r['load']:.1f}" for r in measured)
            cells = " | ".join(f"{med[key]:,.0f}" if key.endswith("peak") else f"{med[key]:.2f}" for key in COLUMNS)
            print(f"| {name} | {cells} | {loads} |")
        print()


if __name__ == "__main__":
    main()
