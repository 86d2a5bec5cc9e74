"""The report: one self-contained HTML file of the curated answers.

Plotly draws the charts; its JavaScript, the styles and the data are inlined, so the file opens
offline, can be mailed, and prints. The month and day selectors are a few lines of JavaScript over
inlined data rather than one chart per period, which keeps the file small.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from footfall.dag import load_pipeline
from footfall.errors import FootfallError
from footfall.extras import require
from footfall.lake.layout import answer, published
from footfall.lake.local import LocalLake
from footfall.melbourne.answers import unreadable
from footfall.melbourne.lockdowns import lockdowns
from footfall.melbourne.schema import PIPELINE_DIR
from footfall.output import check_target, replacing
from footfall.spec import PipelineSpec
from footfall.sql import literal

BUSIEST = 8
HEATMAP_LOCATIONS = 25


@dataclass(frozen=True)
class Chart:
    """A figure with the sentence that says how it was computed."""

    id: str
    title: str
    caption: str
    figure: dict[str, Any] | None  # None: rendered by the page's own script from inlined data


def reads(spec: PipelineSpec) -> list[str]:
    """The lake paths the report reads: the curated answers (Parquet) and the locations."""
    return [*(t.rel for t in published(spec) if t.zone == "curated" and t.format == "parquet"),
            answer(spec, "locations", "transformed").rel]


class Answers:
    """Read access to a lake's answers, found through the pipeline's outputs (the Melbourne pipeline's unless
    ``spec`` is given)."""

    def __init__(self, lake: LocalLake, spec: PipelineSpec | None = None) -> None:
        self.lake = lake
        self.spec = spec or load_pipeline(PIPELINE_DIR).spec
        self.con = duckdb.connect()

    def file(self, table: str, zone: str = "curated") -> Path:
        found = answer(self.spec, table, zone)
        return self.lake.path(found.zone, found.relpath)

    def has(self, table: str) -> bool:
        return self.file(table).exists()

    def rows(self, sql: str, table: str, zone: str = "curated") -> list[tuple[Any, ...]]:
        path = self.file(table, zone)
        if not path.exists():
            raise FootfallError(f"no {table} in this lake yet: run `footfall run` first", path=self.lake.root)
        try:
            return self.con.execute(sql.replace("{t}", f"read_parquet({literal(str(path))})")).fetchall()
        except duckdb.Error as e:
            raise unreadable(self.lake, e) from None


def _fig(data: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    base = {"margin": {"l": 60, "r": 20, "t": 10, "b": 50}, "font": {"family": "system-ui, sans-serif"},
            "paper_bgcolor": "white", "plot_bgcolor": "white", "height": 420}
    return {"data": data, "layout": {**base, **layout}}


def headline(a: Answers) -> dict[str, Any]:
    first, last, locations, hours = a.rows("SELECT MIN(first_ts), MAX(last_ts), COUNT(*), SUM(hours_reported) "
                                           "FROM {t}", "coverage")[0]
    quarantined = a.rows("SELECT COALESCE(SUM(rows_quarantined), 0) FROM {t}", "quarantine_summary")[0][0]
    best_day = a.rows("SELECT date, location, pedestrians FROM {t} ORDER BY pedestrians DESC, date, location_id "
                      "LIMIT 1", "daily_counts")
    best_month = a.rows("SELECT month, location, pedestrians FROM {t} ORDER BY pedestrians DESC, month, "
                        "location_id LIMIT 1", "monthly_counts")
    gaps = (a.rows("SELECT COUNT(*), COALESCE(SUM(hours), 0) FROM {t}", "data_gaps")[0]
            if a.has("data_gaps") else None)
    return {"first": str(first), "last": str(last), "locations": int(locations or 0), "hours": int(hours or 0),
            "quarantined": int(quarantined), "data_gaps": [int(v) for v in gaps] if gaps else None,
            "best_day": [str(v) for v in best_day[0]] if best_day else None,
            "best_month": [str(v) for v in best_month[0]] if best_month else None}


def selector_data(a: Answers) -> dict[str, Any]:
    by_month: dict[str, list[Any]] = {}
    for month, rank, loc, name, n in a.rows("SELECT month, rank, location_id, location, pedestrians FROM {t} "
                                            "ORDER BY month, rank, location_id", "top10_by_month"):
        by_month.setdefault(month, []).append([rank, loc, name, n])
    by_day: dict[str, list[Any]] = {}
    for day, rank, loc, name, n in a.rows("SELECT CAST(date AS VARCHAR), rank, location_id, location, pedestrians "
                                          "FROM {t} ORDER BY date, rank, location_id", "top10_by_day"):
        by_day.setdefault(day, []).append([rank, loc, name, n])
    return {"month": by_month, "day": by_day}


def history_chart(a: Answers) -> Chart:
    """Every month the lake holds is drawn: a month with no neighbour is a marker (a line segment of one point
    draws nothing), a month in which some days have no data at all is an open marker, and the data gaps of a
    day or more are grey bands beside the lockdowns' red ones."""
    rows = a.rows(f"""WITH busiest AS (SELECT location_id FROM {{t}} GROUP BY location_id
                       ORDER BY SUM(pedestrians) DESC, location_id LIMIT {BUSIEST})
                     SELECT m.location || ' (' || m.location_id || ')', m.month, m.pedestrians
                     FROM {{t}} m JOIN busiest USING (location_id) ORDER BY 1, m.month""", "monthly_counts")
    series: dict[str, dict[str, int]] = {}
    for name, month, n in rows:
        series.setdefault(name, {})[month] = n
    every = months_between(min(rows, key=lambda r: r[1])[1], max(rows, key=lambda r: r[1])[1]) if rows else []
    partial = partial_months(a)
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": d.start.isoformat(), "x1": d.end.isoformat(),
               "y0": 0, "y1": 1, "fillcolor": "#d62728", "opacity": 0.12, "line": {"width": 0},
               "name": f"lockdown {d.number}"} for d in lockdowns()]
    shapes += gap_bands(a)
    data = []
    for n, values in series.items():
        ys = [values.get(m) for m in every]
        data.append({"type": "scatter", "mode": "lines+markers", "name": n, "connectgaps": False,
                     "x": [f"{m}-01" for m in every], "y": ys,
                     "text": [partial.get(m, "") if y is not None else "" for m, y in zip(every, ys, strict=True)],
                     "marker": {"size": [_marker_size(ys, i) for i in range(len(ys))],
                                "symbol": ["circle-open" if m in partial else "circle" for m in every]}})
    return Chart("history", "Monthly pedestrians at the busiest locations",
                 f"Sum of hourly counts per calendar month for the {BUSIEST} locations with the most pedestrians "
                 "over the whole history; red bands are Melbourne's six lockdowns. A month without data is a "
                 "gap in the line, not an interpolation; a month with no neighbour is a marker, and an open "
                 "marker is a month with days of no data at all (its total covers only the days it holds). "
                 "Grey bands are data gaps: a day or more in which the city as a whole reported nothing, or "
                 "far fewer sensors than usual.",
                 _fig(data, {"shapes": shapes, "xaxis": {"title": {"text": "Month"}},
                             "yaxis": {"title": {"text": "Pedestrians per month"}}, "legend": {"orientation": "h"},
                             "height": 480}))


def _marker_size(ys: list[Any], i: int) -> int:
    """Large where a month has no neighbour with data (nothing else draws it), small elsewhere."""
    alone = (i == 0 or ys[i - 1] is None) and (i == len(ys) - 1 or ys[i + 1] is None)
    return 8 if alone else 4


def partial_months(a: Answers) -> dict[str, str]:
    """The months with days on which no location reported (before the data starts, after it ends, in a data
    gap), each with how many of its days the lake holds."""
    rows = a.rows("""SELECT STRFTIME(date, '%Y-%m') AS month, COUNT(DISTINCT date),
                            DAY(LAST_DAY(MIN(date)))
                     FROM {t} GROUP BY 1 HAVING COUNT(DISTINCT date) < DAY(LAST_DAY(MIN(date)))""",
                  "daily_counts")
    return {month: f"partial month: {held} of {days} days with data" for month, held, days in rows}


GAP_BAND_HOURS = 24


def gap_bands(a: Answers) -> list[dict[str, Any]]:
    """The data gaps of a day or more as grey bands (a shorter one is thinner than a pixel at this scale)."""
    if not a.has("data_gaps"):
        return []
    return [{"type": "rect", "xref": "x", "yref": "paper", "x0": str(start), "x1": str(end), "y0": 0, "y1": 1,
             "fillcolor": "#7f7f7f", "opacity": 0.25, "line": {"width": 0}, "name": "data gap"}
            for start, end in a.rows(f"SELECT start_ts, end_ts + INTERVAL 1 HOUR FROM {{t}} "
                                     f"WHERE hours >= {GAP_BAND_HOURS} ORDER BY start_ts", "data_gaps")]


def months_between(first: str, last: str) -> list[str]:
    """Every YYYY-MM from ``first`` to ``last``, so a month without data is a hole in a line, not a segment.

    >>> months_between("2019-11", "2020-02")
    ['2019-11', '2019-12', '2020-01', '2020-02']
    """
    year, month = int(first[:4]), int(first[5:7])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


HEALTH_COLOURS = {"outage": "#7f7f7f", "flatline": "#ff7f0e", "level shift": "#9467bd"}


def health_chart(a: Answers) -> Chart:
    """Each finding as a bar from its first to its last day, one row per location that has any."""
    events = []
    for kind, table, columns in (("outage", "outages", "start_ts, end_ts"),
                                 ("flatline", "flatlines", "start_ts, end_ts"),
                                 ("level shift", "level_shifts", "week_start, week_end + 1")):
        if a.has(table):
            events += [(kind, *r) for r in a.rows(f"SELECT location || ' (' || location_id || ')', {columns} "
                                                 "FROM {t} ORDER BY location_id, 2", table)]
    caption = ("Outages (24 hours or more missing, beyond the location's usual gaps), flatlines (24 hours or more "
               "of one count where people normally pass) and level-shift weeks (the weekday-hour profile off its "
               "trailing 8 weeks by more than 5 robust deviations and 50%), as defined in docs/definitions.md, "
               "judged only over the hours the lake holds: grey bands are data gaps (the city as a whole did not "
               "report), listed once in data_gaps and never as a sensor's outage.")
    if not events:
        return Chart("sensor-health", "Sensor health", caption + " None was found in this data.", None)
    data = []
    for kind, colour in HEALTH_COLOURS.items():
        mine = [e for e in events if e[0] == kind]
        if not mine:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        for _, name, start, end in mine:
            xs += [str(start), str(end), None]
            ys += [name, name, None]
        data.append({"type": "scatter", "mode": "lines+markers", "name": kind, "x": xs, "y": ys,
                     "connectgaps": False, "line": {"color": colour, "width": 10}, "marker": {"size": 6}})
    names = {e[1] for e in events}
    return Chart("sensor-health", "Sensor health", caption,
                 _fig(data, {"shapes": gap_bands(a), "xaxis": {"title": {"text": "Date"}, "type": "date"},
                             "yaxis": {"automargin": True, "type": "category"}, "legend": {"orientation": "h"},
                             "height": max(260, 28 * len(names) + 140)}))


def health_rows(a: Answers) -> list[list[Any]]:
    """The locations whose health row reports any finding, worst first."""
    if not a.has("sensor_health"):
        return []
    return [list(r) for r in a.rows(
        "SELECT location_id, location, status, coverage_pct, outages, outage_hours, flatlines, flatline_hours, "
        "level_shift_weeks FROM {t} WHERE outages + flatlines + level_shift_weeks > 0 "
        "ORDER BY status = 'ok', outages + flatlines + level_shift_weeks DESC, location_id", "sensor_health")]


def ranked_bar(a: Answers, table: str, value: str, title: str, caption: str, axis: str) -> Chart:
    rows = a.rows(f"SELECT location || ' (' || location_id || ')', {value} FROM {{t}} ORDER BY rank, location_id",
                  table)
    if not rows:
        return Chart(table, title, caption + " No location meets the coverage rule in this data.", None)
    names = [r[0] for r in rows]
    values = [r[1] for r in rows]
    colours = ["#2ca02c" if v >= 0 else "#d62728" for v in values]
    data = [{"type": "bar", "orientation": "h", "x": values, "y": names, "marker": {"color": colours}}]
    return Chart(table, title, caption, _fig(data, {
        "xaxis": {"title": {"text": axis}}, "yaxis": {"autorange": "reversed", "automargin": True},
        "height": max(320, 22 * len(rows) + 80)}))


def heatmap_chart(a: Answers) -> Chart:
    rows = a.rows(f"""WITH busiest AS (SELECT location_id FROM {{t}} GROUP BY location_id
                       ORDER BY SUM(avg_pedestrians) DESC, location_id LIMIT {HEATMAP_LOCATIONS})
                     SELECT p.location || ' (' || p.location_id || ')', p.hour, p.avg_pedestrians
                     FROM {{t}} p JOIN busiest USING (location_id) ORDER BY 1, p.hour""", "hourly_profile")
    names = sorted({r[0] for r in rows})
    grid = {(r[0], r[1]): r[2] for r in rows}
    z = [[grid.get((n, h)) for h in range(24)] for n in names]
    data = [{"type": "heatmap", "x": list(range(24)), "y": names, "z": z, "colorscale": "YlOrRd", "reversescale": True,
             "colorbar": {"title": {"text": "Avg pedestrians / hour"}}}]
    return Chart("peak-hours", "Peak hours",
                 f"Average pedestrians in each hour of the day (local time) over every hour reported, for the "
                 f"{HEATMAP_LOCATIONS} busiest locations.",
                 _fig(data, {"xaxis": {"title": {"text": "Hour of day"}, "dtick": 1},
                             "yaxis": {"automargin": True}, "height": max(360, 20 * len(names) + 100)}))


def map_chart(a: Answers) -> Chart:
    daily = a.file("daily_counts")
    rows = a.rows(f"""SELECT l.location, l.latitude, l.longitude, AVG(d.pedestrians)
                      FROM {{t}} l JOIN read_parquet({literal(str(daily))}) d USING (location_id)
                      WHERE l.latitude IS NOT NULL AND l.longitude IS NOT NULL
                      GROUP BY l.location_id, l.location, l.latitude, l.longitude ORDER BY l.location_id""",
                  "locations", zone="transformed")
    if not rows:
        return Chart("map", "Where the sensors are", "No location in this data has coordinates.", None)
    top = max(r[3] for r in rows) or 1
    data = [{"type": "scatter", "mode": "markers", "x": [r[2] for r in rows], "y": [r[1] for r in rows],
             "text": [f"{r[0]}: {r[3]:,.0f} a day" for r in rows], "hoverinfo": "text",
             "marker": {"size": [6 + 34 * (r[3] / top) ** 0.5 for r in rows], "color": "#1f77b4", "opacity": 0.6,
                        "line": {"width": 1, "color": "#0b3d66"}}}]
    return Chart("map", "Where the sensors are",
                 "Each sensor at its coordinates (no map tiles), sized by its average daily pedestrians over the "
                 "days it reported.",
                 _fig(data, {"xaxis": {"title": {"text": "Longitude (°E)"}},
                             "yaxis": {"title": {"text": "Latitude (°)"}, "scaleanchor": "x", "scaleratio": 1.26},
                             "height": 560}))


def charts(a: Answers) -> list[Chart]:
    return [
        Chart("top-month", "Top 10 locations by month",
              "Pedestrians per location summed over every hour of the chosen calendar month; RANK() by that "
              "total (ties share a rank).", None),
        Chart("top-day", "Top 10 locations by day",
              "Pedestrians per location summed over every hour of the chosen calendar date; RANK() by that total "
              "(ties share a rank).", None),
        history_chart(a),
        ranked_bar(a, "lockdown_impact", "change_pct", "Lockdown impact",
                   "Average daily pedestrians during the six lockdowns against 2019, in percent; locations that "
                   "reported on at least half the days of both.", "Change in average daily pedestrians (%)"),
        ranked_bar(a, "growth_last_year", "growth_pct", "Growth over the last year",
                   "Average daily pedestrians over the last 12 complete months against the 12 before, in "
                   "percent; locations that reported on at least 183 days of both.",
                   "Growth in average daily pedestrians (%)"),
        heatmap_chart(a),
        map_chart(a),
        health_chart(a),
    ]


def build(lake: LocalLake, spec: PipelineSpec | None = None) -> str:
    """The whole report as one HTML string."""
    plotly = require("report", "plotly.offline", "the HTML report")
    a = Answers(lake, spec)
    head = headline(a)
    charts_list = charts(a)
    payload = {"charts": {c.id: c.figure for c in charts_list if c.figure}, "top": selector_data(a)}
    sections = "\n".join(_section(c, health_rows(a) if c.id == "sensor-health" else None) for c in charts_list)
    best_day = head["best_day"]
    best_month = head["best_month"]
    cards = [("First hour", head["first"]), ("Last hour", head["last"]), ("Locations", f"{head['locations']:,}"),
             ("Location-hours", f"{head['hours']:,}"), ("Quarantined rows", f"{head['quarantined']:,}")]
    if head["data_gaps"]:
        cards.append(("Data gaps", f"{head['data_gaps'][0]:,} ({head['data_gaps'][1]:,} hours)"))
    if best_day:
        cards.append(("Busiest day ever", f"{best_day[1]}, {best_day[0]}: {int(best_day[2]):,}"))
    if best_month:
        cards.append(("Busiest month ever", f"{best_month[1]}, {best_month[0]}: {int(best_month[2]):,}"))
    card_html = "".join(f'<div class="card"><div class="k">{html.escape(k)}</div>'
                        f'<div class="v">{html.escape(v)}</div></div>' for k, v in cards)
    data_json = json.dumps(payload, separators=(",", ":"), default=str).replace("</", "<\\/")
    return TEMPLATE.format(plotly=plotly.get_plotlyjs(), cards=card_html, sections=sections, data=data_json,
                           style=STYLE, script=SCRIPT)


def _section(c: Chart, health: list[list[Any]] | None = None) -> str:
    controls = {"top-month": '<label>Month <select id="month-select"></select></label>',
                "top-day": '<label>Date <input type="date" id="day-select"></label>'}.get(c.id, "")
    table = f'<table class="top" id="{c.id}-table"></table>' if c.id.startswith("top-") else ""
    if health:
        head = ("Id", "Location", "Last 90 days", "Coverage %", "Outages", "Hours", "Flatlines", "Hours",
                "Level-shift weeks")
        table = (f'<table class="top" id="{c.id}-table"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                 + "".join("<tr>" + "".join(f'<td class="{"n" if isinstance(v, int | float) else ""}">'
                                             f"{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in health)
                 + "</table>")
    empty = "No sensor fault was found." if c.id == "sensor-health" else "Not enough data for this chart."
    body = (f'<div class="chart" id="chart-{c.id}"></div>' if c.figure or c.id.startswith("top-")
            else f'<p class="empty">{empty}</p>')
    return (f'<section id="{c.id}"><h2>{html.escape(c.title)}</h2>{controls}{body}{table}'
            f'<p class="how">{html.escape(c.caption)}</p></section>')


def write(lake: LocalLake, out: Path, spec: PipelineSpec | None = None) -> Path:
    """Write the report, built from one published run, beside its final name and move it into place when
    complete; a target that is not a regular file, or a missing folder, is refused before the (slow) build."""
    check_target(out, (lake.root,))
    text = lake.read(lambda: build(lake, spec))
    with replacing(out, (lake.root,)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;color:#222}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem .9rem;min-width:150px}
.card .k{font-size:.8rem;color:#666}.card .v{font-size:1.05rem;font-weight:600}
section{margin:2rem 0;break-inside:avoid} .how{color:#555;font-size:.9rem}
table.top{border-collapse:collapse;margin-top:.5rem;font-size:.9rem}
table.top td,table.top th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left}
table.top td.n{text-align:right} .empty{color:#a00}
@media print{.chart{page-break-inside:avoid} select,input{display:none}}
"""

SCRIPT = """
const DATA = JSON.parse(document.getElementById('report-data').textContent);
const LAYOUT = {margin:{l:220,r:20,t:10,b:50},height:420,font:{family:'system-ui, sans-serif'},
  xaxis:{title:{text:'Pedestrians'}},yaxis:{autorange:'reversed',automargin:true}};
for (const [id, fig] of Object.entries(DATA.charts)) {
  Plotly.newPlot('chart-' + id, fig.data, fig.layout, {responsive: true, displaylogo: false});
}
function showTop(kind, key) {
  const rows = DATA.top[kind][key] || [];
  const unit = kind === 'month' ? 'Pedestrians in the month' : 'Pedestrians on the day';
  Plotly.react('chart-top-' + kind, [{type:'bar',orientation:'h',x:rows.map(r => r[3]),
    y:rows.map(r => r[0] + '. ' + r[2]),marker:{color:'#1f77b4'}}],
    Object.assign({}, LAYOUT, {xaxis:{title:{text:unit}}}), {responsive:true, displaylogo:false});
  const table = document.getElementById('top-' + kind + '-table');
  table.innerHTML = '<tr><th>Rank</th><th>Location</th><th>Id</th><th>Pedestrians</th></tr>' +
    rows.map(r => '<tr><td>' + r[0] + '</td><td>' + String(r[2]).replace(/[<>&]/g, '') + '</td><td>' + r[1] +
      '</td><td class="n">' + Number(r[3]).toLocaleString('en-AU') + '</td></tr>').join('');
}
const months = Object.keys(DATA.top.month).sort();
const monthSelect = document.getElementById('month-select');
monthSelect.innerHTML = months.map(m => '<option>' + m + '</option>').join('');
monthSelect.value = months[months.length - 1];
monthSelect.onchange = () => showTop('month', monthSelect.value);
showTop('month', monthSelect.value);
const days = Object.keys(DATA.top.day).sort();
const daySelect = document.getElementById('day-select');
daySelect.min = days[0]; daySelect.max = days[days.length - 1]; daySelect.value = days[days.length - 1];
daySelect.onchange = () => showTop('day', daySelect.value);
showTop('day', daySelect.value);
"""

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Melbourne pedestrian counts</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style><script>{plotly}</script></head>
<body><h1>Melbourne pedestrian counts</h1>
<p class="sub">City of Melbourne Pedestrian Counting System, as computed by footfall.</p>
<div class="cards">{cards}</div>
{sections}
<script type="application/json" id="report-data">{data}</script>
<script>{script}</script>
</body></html>
"""
