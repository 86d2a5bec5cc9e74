"""Parsing one generated archive-format file: the parse alone (landed first, then parsed and timed in process,
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
landed, _ = land_file(lake, source, "counts")
with connect(temp_dir=root / "_spill") as con:
    started, cpu = time.perf_counter(), time.process_time()
    staged = stage_file(con, lake, landed)
    out.write_text(json.dumps({"parse": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                               "rows": staged.rows}))
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
    return {"load": load, "parse": parsed["parse"], "parse_cpu": parsed["cpu"], "parse_wall": parse_process.seconds,
            "parse_peak": parse_process.peak_mb, "run_wall": whole.seconds, "run_cpu": whole.cpu_seconds,
            "run_peak": whole.peak_mb, "load_after": os.getloadavg()[0]}


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
                r = runs[name][-1]
                print(f"{rows:,} rows, {name}, run {i + 1}: parse {r['parse']:.2f} s (CPU {r['parse_cpu']:.2f} s; "
                      f"process {r['parse_wall']:.2f} s, {r['parse_peak']:.0f} MB), run {r['run_wall']:.2f} s "
                      f"(CPU {r['run_cpu']:.2f} s, {r['run_peak']:.0f} MB), load {r['load']:.1f} -> "
                      f"{r['load_after']:.1f}", flush=True)
        print(f"\n| {rows:,} rows | parse (s) | parse CPU (s) | parse process (s) | parse peak (MB) | "
              "footfall run (s) | run CPU (s) | run peak (MB) | load (1 min) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for name, measured in runs.items():
            med = {k: statistics.median(r[k] for r in measured) for k in measured[0]}
            loads = ", ".join(f"{r['load']:.1f}" for r in measured)
            print(f"| {name} | {med['parse']:.2f} | {med['parse_cpu']:.2f} | {med['parse_wall']:.2f} | "
                  f"{med['parse_peak']:.0f} | {med['run_wall']:.2f} | {med['run_cpu']:.2f} | {med['run_peak']:.0f} | "
                  f"{loads} |")
        print()


if __name__ == "__main__":
    main()
