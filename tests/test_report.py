"""The HTML report, opened in a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_melbourne import make_rows, write_archive

from footfall.lake import Lake
from footfall.melbourne.report import write
from footfall.melbourne.run import run

# each chart and the SVG mark that proves Plotly drew its data
CHARTS = {"top-month": 'class="point"', "top-day": 'class="point"', "history": 'class="js-line"',
          "lockdown_impact": 'class="point"', "growth_last_year": 'class="point"', "peak-hours": "<image",
          "map": 'class="point"'}
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    folder = tmp_path_factory.mktemp("report")
    write_archive(make_rows(), folder / "archive.csv")
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
    sensors = [str(shared / "ods_sensor_locations_export_2026-06.csv")] if shared.is_dir() else []
    lake = Lake.at(folder / "lake")
    run(lake, [str(folder / "archive.csv")], sensors)
    return write(lake, folder / "report.html")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (make test installs Debian's chromium package)")
    return found


def browse(path: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra,
                           path.as_uri()], capture_output=True, text=True, timeout=120)


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?://""", text)
    assert "Plotly" in text


def test_every_chart_renders_in_chromium_without_console_errors(report: Path, tmp_path: Path) -> None:
    assert_renders(report, tmp_path)


def assert_renders(report: Path, tmp_path: Path) -> None:
    done = browse(report, tmp_path, "--virtual-time-budget=10000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = done.stdout
    for chart, mark in CHARTS.items():
        match = re.search(rf'<div class="chart[^"]*" id="chart-{re.escape(chart)}".*?</section>', dom, re.S)
        assert match, f"chart {chart} is missing"
        assert 'class="main-svg"' in match.group(0), f"chart {chart} did not render"
        assert mark in match.group(0), f"chart {chart} drew no data"
        assert 'class="g-xtitle"' in match.group(0) and "<text" in match.group(0), f"chart {chart} has no axis title"
    for table in ("top-month-table", "top-day-table"):
        rows = re.search(rf'<table class="top" id="{table}">(.*?)</table>', dom, re.S)
        assert rows and rows.group(1).count("<tr>") >= 2, f"{table} is empty"


def test_screenshot_of_the_report(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = browse(report, tmp_path, "--virtual-time-budget=10000", "--window-size=1200,6000",
                  f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000


def test_the_report_builds_from_an_s3_lake(report: Path, s3, tmp_path: Path) -> None:
    """The same inputs published to S3 give the same report, read through the lake's pointer."""
    from footfall.melbourne.run import pipeline
    from footfall.s3 import working_copy

    inputs = report.parent
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
    sensors = [str(shared / "ods_sensor_locations_export_2026-06.csv")] if shared.is_dir() else []
    with working_copy(s3.uri, pipeline().spec, write=True) as remote:
        run(remote.work, [str(inputs / "archive.csv")], sensors)
    out = tmp_path / "from-s3.html"
    done = subprocess.run([sys.executable, "-m", "footfall", "report", "--lake", s3.uri, "--out", str(out)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FOOTFALL_CACHE": str(tmp_path / "reader")})
    assert done.returncode == 0, done.stderr
    assert out.read_text() == report.read_text()
    assert_renders(out, tmp_path)
