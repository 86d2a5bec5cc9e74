"""The HTML report, opened in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.cli import footfall
from support.synthetic import make_rows, write_archive

from footfall.lake.local import LocalLake
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
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
    sensors = [str(shared / "ods_sensor_locations_export_2026-06.csv")] if shared.is_dir() else []
    lake = LocalLake.at(folder / "lake")
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


@pytest.mark.browser
def test_every_chart_renders_in_chromium_without_console_errors(report: Path, tmp_path: Path) -> None:
    assert_renders(report, tmp_path)


def assert_renders(report: Path, tmp_path: Path, charts: dict[str, str] = CHARTS) -> None:
    done = browse(report, tmp_path, "--virtual-time-budget=10000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = done.stdout
    for chart, mark in charts.items():
        match = re.search(rf'<div class="chart[^"]*" id="chart-{re.escape(chart)}".*?</section>', dom, re.S)
        assert match, f"chart {chart} is missing"
        assert 'class="main-svg"' in match.group(0), f"chart {chart} did not render"
        assert mark in match.group(0), f"chart {chart} drew no data"
        assert 'class="g-xtitle"' in match.group(0) and "<text" in match.group(0), f"chart {chart} has no axis title"
    for table in ("top-month-table", "top-day-table"):
        rows = re.search(rf'<table class="top" id="{table}">(.*?)</table>', dom, re.S)
        assert rows and rows.group(1).count("<tr>") >= 2, f"{table} is empty"


@pytest.mark.browser
def test_screenshot_of_the_report(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = browse(report, tmp_path, "--virtual-time-budget=10000", "--window-size=1200,6000",
                  f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000


@pytest.mark.browser
def test_the_report_builds_from_an_s3_lake(report: Path, s3, tmp_path: Path) -> None:
    """The same inputs published to S3 give the same report, read through the lake's pointer."""
    inputs = report.parent
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
    sensors = [f"--sensors={shared / 'ods_sensor_locations_export_2026-06.csv'}"] if shared.is_dir() else []
    published = footfall("run", "--lake", s3.uri, "--counts", str(inputs / "archive.csv"), *sensors)
    assert published.returncode == 0, published.stderr
    out = tmp_path / "from-s3.html"
    done = footfall("report", "--lake", s3.uri, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == report.read_text()
    assert_renders(out, tmp_path)


def report_data(report: Path) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', report.read_text(), re.S)
    assert found
    return json.loads(found.group(1))


@pytest.mark.browser
def test_the_sensor_health_section_renders_the_planted_faults_in_chromium(tmp_path_factory: pytest.TempPathFactory,
                                                                            tmp_path: Path) -> None:
    from datetime import date

    from footfall.melbourne.generate import generate

    folder = tmp_path_factory.mktemp("faulty-report")
    generate(folder / "counts.csv", seed=5, sensors=12, start=date(2019, 1, 1), end=date(2019, 12, 31),
             locations=folder / "sensors.csv", faults=True)
    lake = LocalLake.at(folder / "lake")
    run(lake, [str(folder / "counts.csv")], [str(folder / "sensors.csv")])
    report = write(lake, folder / "report.html")
    traces = {t["name"]: t for t in report_data(report)["charts"]["sensor-health"]["data"]}
    assert set(traces) == {"outage", "flatline", "level shift"}
    assert {y for y in traces["outage"]["y"] if y} == {"Town Hall (West) (4)"}
    assert_renders(report, tmp_path, {"top-day": 'class="point"', "sensor-health": 'class="js-line"'})
    table = re.search(r'<table class="top" id="sensor-health-table">(.*?)</table>', report.read_text(), re.S)
    assert table and table.group(1).count("<tr>") == 5  # a header and the four faulty sensors


@pytest.mark.slow
def test_a_month_without_data_is_a_gap_in_the_history_line(tmp_path: Path) -> None:
    """A lake holding 2012-2015 and December 2020: the monthly lines stop in 2015 and pick up in 2020."""
    from datetime import date

    from footfall.melbourne.generate import generate

    generate(tmp_path / "old.csv", seed=1, sensors=3, start=date(2012, 1, 1), end=date(2015, 2, 28))
    generate(tmp_path / "new.csv", seed=2, sensors=3, start=date(2020, 12, 1), end=date(2020, 12, 31), fmt="ods-csv")
    lake = LocalLake.at(tmp_path / "lake")
    run(lake, [str(tmp_path / "old.csv"), str(tmp_path / "new.csv")])
    history = report_data(write(lake, tmp_path / "report.html"))["charts"]["history"]["data"]
    assert history
    for line in history:
        points = dict(zip(line["x"], line["y"], strict=True))
        assert line["connectgaps"] is False
        assert points["2015-02-01"] is not None and points["2020-12-01"] is not None
        hole = [m for m in line["x"] if "2015-03-01" <= m <= "2020-11-01"]
        assert len(hole) == 69 and all(points[m] is None for m in hole)


PROBE = """<script>
setTimeout(() => {
  const month = ms => new Date(ms).toISOString().slice(0, 7);
  const traces = [...document.querySelectorAll('#chart-history g.trace.scatter')].map(t => ({
    name: t.__data__[0].trace.name,
    points: [...t.querySelectorAll('path.point')].filter(p => p.getAttribute('d') && p.getAttribute('transform'))
      .map(p => ({month: month(p.__data__.x), size: p.__data__.mrc, fill: p.style.fill}))}));
  const shapes = document.querySelectorAll('#chart-history .shapelayer path').length;
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify({traces, shapes});
  document.body.appendChild(probe);
}, 2000);
</script></body>"""


@pytest.mark.browser
def test_the_monthly_chart_draws_every_month_the_lake_holds_in_chromium(tmp_path: Path) -> None:
    """Two disjoint periods, the first starting and ending mid-month, the second one lone month: Chromium draws a
    point at every month with data (the lone December too), open markers at the partial months, and the years
    between as one data-gap band; no sensor has an outage."""
    import html as html_module
    from datetime import date

    from footfall.melbourne.generate import generate

    generate(tmp_path / "old.csv", seed=1, sensors=3, start=date(2014, 6, 10), end=date(2015, 2, 14))
    generate(tmp_path / "new.csv", seed=2, sensors=3, start=date(2020, 12, 1), end=date(2020, 12, 31), fmt="ods-csv")
    lake = LocalLake.at(tmp_path / "lake")
    run(lake, [str(tmp_path / "old.csv"), str(tmp_path / "new.csv")])
    report = write(lake, tmp_path / "report.html")
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE))
    done = browse(probed, tmp_path, "--virtual-time-budget=10000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, "the probe did not run"
    drawn = json.loads(html_module.unescape(found.group(1)))

    held = [f"2014-{m:02d}" for m in range(6, 13)] + ["2015-01", "2015-02", "2020-12"]
    assert len(drawn["traces"]) == 3
    for trace in drawn["traces"]:
        points = {p["month"]: p for p in trace["points"]}
        assert sorted(points) == held, trace["name"]
        open_markers = {m for m, p in points.items() if p["fill"] == "none"}
        assert open_markers == {"2014-06", "2015-02"}, trace["name"]
        assert points["2020-12"]["size"] > points["2014-09"]["size"]  # the lone month stands out
    assert drawn["shapes"] == 6 + 1  # the lockdowns and one data gap

    figure = report_data(report)["charts"]["history"]
    gaps = [s for s in figure["layout"]["shapes"] if s["name"] == "data gap"]
    assert [(g["x0"], g["x1"]) for g in gaps] == [("2015-02-15 00:00:00", "2020-12-01 00:00:00")]
    assert {s["fillcolor"] for s in gaps}.isdisjoint(s["fillcolor"] for s in figure["layout"]["shapes"]
                                                     if s["name"].startswith("lockdown"))
    with (lake.root / "curated/outages.csv").open() as handle:
        assert handle.read().count("\n") == 1  # the header only: the hole is no sensor's outage
    assert "No sensor fault was found." in report.read_text()
