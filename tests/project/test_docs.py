"""The docs tell the truth: every command and flag they show exists, and every diagram parses."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from support.cli import footfall

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", ROOT / "RELIABILITY.md", *(ROOT / "docs").glob("*.md")])
MERMAID = ROOT / ".tools" / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[tuple[Path, str]]:
    return [(doc, m.group(2)) for doc in DOCS for m in FENCE.finditer(doc.read_text())
            if m.group(1) == language]


def documented_commands() -> list[tuple[Path, list[str]]]:
    """Every `footfall ...` line in a shell block, continuation lines joined."""
    found = []
    for doc, body in blocks("sh"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("footfall "):
                found.append((doc, shlex.split(line)[1:]))
    return found


def command_path(args: list[str]) -> list[str]:
    path = []
    for arg in args:
        if arg.startswith("-"):
            break
        path.append(arg)
        if arg not in ("pipeline", "catalog"):
            break
    return path


def help_text(path: tuple[str, ...]) -> str:
    done = footfall(*path, "--help", env={"COLUMNS": "200", "TERM": "dumb"})
    assert done.returncode == 0, f"`footfall {' '.join(path)} --help` failed: {done.stderr}"
    return done.stdout


def test_the_docs_show_commands() -> None:
    commands = {tuple(command_path(args)) for _, args in documented_commands()}
    assert {("run",), ("top",), ("pipeline", "run")} <= commands


def test_every_documented_command_and_flag_exists() -> None:
    helps: dict[tuple[str, ...], str] = {}
    for doc, args in documented_commands():
        path = tuple(command_path(args))
        if path not in helps:
            helps[path] = help_text(path)
        for flag in (a.split("=")[0] for a in args if a.startswith("--")):
            assert flag in helps[path], f"{doc.name}: `footfall {' '.join(path)}` has no {flag}"


@pytest.mark.infra
@pytest.mark.browser
def test_every_mermaid_diagram_parses(tmp_path: Path) -> None:
    diagrams = [(doc.name, body) for doc, body in blocks("mermaid")]
    assert diagrams, "the docs have diagrams"
    chromium = shutil.which("chromium")
    if not chromium or not MERMAID.exists():
        pytest.skip("needs chromium and mermaid from npm (make test installs both)")
    page = tmp_path / "mermaid.html"
    page.write_text(f"""<html><body><pre id="out">pending</pre>
<script src="{MERMAID.as_uri()}"></script><script>
mermaid.initialize({{startOnLoad: false}});
(async () => {{
  const results = [];
  for (const d of {json.dumps([body for _, body in diagrams])}) {{
    try {{ await mermaid.parse(d); results.push("ok"); }}
    catch (e) {{ results.push(String(e.message || e).split("\\n").slice(0, 3).join(" ")); }}
  }}
  document.getElementById("out").textContent = JSON.stringify(results);
}})();
</script></body></html>""")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
                           "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    assert match and match.group(1) != "pending", done.stderr[-2000:]
    results = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    failures = [(name, r) for (name, _), r in zip(diagrams, results, strict=True) if r != "ok"]
    assert failures == []


@pytest.mark.slow
def test_the_offline_examples_run(tmp_path: Path) -> None:
    pipeline = ROOT / "src" / "footfall" / "melbourne" / "pipeline"
    for args in (["pipeline", "validate", str(pipeline)], ["pipeline", "plan", str(pipeline)]):
        done = footfall(*args)
        assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_the_athena_examples_run_on_the_published_tables(tmp_path: Path) -> None:
    """Each query in docs/s3.md, transpiled from Athena's dialect by sqlglot, runs on the tables a run publishes,
    named as the catalog names them (so every table and column it uses exists)."""
    import duckdb
    import sqlglot
    from support.synthetic import make_rows, write_archive

    from footfall.lake.local import LocalLake
    from footfall.melbourne.run import pipeline, run
    from footfall.sql import literal, quote

    write_archive(make_rows(), tmp_path / "archive.csv")
    lake = LocalLake.at(tmp_path / "lake")
    run(lake, [str(tmp_path / "archive.csv")])
    the_pipeline = pipeline()
    con = duckdb.connect()
    for out in the_pipeline.spec.outputs:
        if out.format == "parquet":
            path = lake.path(out.zone, out.relpath)
            files = f"{path}/**/*.parquet" if out.partition_by else str(path)
            con.execute(f"CREATE VIEW {quote(Path(out.relpath).stem)} AS SELECT * FROM read_parquet("
                        f"{literal(files)}, hive_partitioning = {bool(out.partition_by)})")
    for name, view in the_pipeline.views.items():
        con.execute(f"CREATE VIEW {quote(name)} AS {view.sql('duckdb')}")
    queries = [q for _, body in blocks("sql") for q in sqlglot.parse(body, read="athena") if q is not None]
    assert len(queries) >= 5
    for query in queries:
        con.execute(query.sql("duckdb")).fetchall()
