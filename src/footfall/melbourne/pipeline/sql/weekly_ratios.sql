-- Each location's weekly ratio against its own trailing 8-week profile (level_shifts.sql says how and
-- why): the part of level shifts that reads the hourly table. A week's ratio depends only on the cells of
-- that week and the 8 before it, so the last run's ratios are kept except for the weeks that overlap a
-- changed month and the 8 weeks after each, which are recomputed from the cells of the weeks from 8
-- before the first changed month to 8 after the last (one range scan). A first run, a rebuilt hourly table or a lake without the last run's ratios recomputes all.
-- Weeks start on Monday 00:00 local time: week_no counts weeks from Monday 1969-12-29.
-- Both medians come from sorted rows, which DuckDB can spill, rather than from MEDIAN's in-memory state (a
-- windowed MEDIAN feeding a grouped one ran out of memory on 100 M rows): a cell's trailing weeks are its at
-- most 8 previous rows that lie within 8 weeks (LAG), and a week's ratio is its middle cell ratio or the mean
-- of the middle two, exactly what MEDIAN returns.
WITH refresh AS (
    SELECT (SELECT COUNT(*) FROM hourly_previous) = 0 OR (SELECT COUNT(*) FROM weekly_ratios_previous) = 0
               AS rebuild_all
),
changed_weeks AS (
    SELECT (CAST(EPOCH(CAST(MAKE_DATE(month_key // 100, month_key % 100, 1) AS TIMESTAMP)) AS BIGINT) // 3600 + 72)
               // 168 AS first_week,
           (CAST(EPOCH(CAST(MAKE_DATE(month_key // 100, month_key % 100, 1) AS TIMESTAMP) + INTERVAL 1 MONTH)
                 AS BIGINT) // 3600 + 71) // 168 AS last_week
    FROM changed_months
),
hours AS (
    SELECT location_id, pedestrians, CAST(EPOCH(ts) AS BIGINT) // 3600 + 72 AS hour_no
    FROM hourly_counts
),
cells AS (
    SELECT h.location_id,
           h.hour_no // 168 AS week_no,
           (h.hour_no % 168) // 6 AS cell,
           SUM(h.pedestrians) AS pedestrians
    FROM hours AS h
    CROSS JOIN refresh AS r
    CROSS JOIN (SELECT MIN(first_week) - 8 AS low, MAX(last_week) + 8 AS high FROM changed_weeks) AS b
    WHERE r.rebuild_all OR h.hour_no BETWEEN b.low * 168 AND b.high * 168 + 167
    GROUP BY h.location_id, h.hour_no // 168, (h.hour_no % 168) // 6
    HAVING COUNT(*) = 6
),
profiled AS (
    SELECT location_id,
           week_no,
           pedestrians,
           LIST_FILTER([
               CASE WHEN LAG(week_no, 1) OVER w >= week_no - 8 THEN LAG(pedestrians, 1) OVER w END,
               CASE WHEN LAG(week_no, 2) OVER w >= week_no - 8 THEN LAG(pedestrians, 2) OVER w END,
               CASE WHEN LAG(week_no, 3) OVER w >= week_no - 8 THEN LAG(pedestrians, 3) OVER w END,
               CASE WHEN LAG(week_no, 4) OVER w >= week_no - 8 THEN LAG(pedestrians, 4) OVER w END,
               CASE WHEN LAG(week_no, 5) OVER w >= week_no - 8 THEN LAG(pedestrians, 5) OVER w END,
               CASE WHEN LAG(week_no, 6) OVER w >= week_no - 8 THEN LAG(pedestrians, 6) OVER w END,
               CASE WHEN LAG(week_no, 7) OVER w >= week_no - 8 THEN LAG(pedestrians, 7) OVER w END,
               CASE WHEN LAG(week_no, 8) OVER w >= week_no - 8 THEN LAG(pedestrians, 8) OVER w END
           ], lambda c: c IS NOT NULL) AS trailing_counts
    FROM cells
    WINDOW w AS (PARTITION BY location_id, cell ORDER BY week_no)
),
trailing_medians AS (
    SELECT location_id, week_no, pedestrians, LIST_MEDIAN(trailing_counts) AS expected
    FROM profiled
    WHERE LEN(trailing_counts) >= 4
),
compared AS (
    SELECT location_id, week_no, CAST(pedestrians AS DOUBLE) / expected AS cell_ratio
    FROM trailing_medians
    WHERE expected >= 60
),
ranked AS (
    SELECT location_id,
           week_no,
           cell_ratio,
           ROW_NUMBER() OVER (PARTITION BY location_id, week_no ORDER BY cell_ratio) AS position,
           COUNT(*) OVER (PARTITION BY location_id, week_no) AS cells_compared
    FROM compared
),
recomputed AS (
    SELECT location_id,
           week_no,
           (MIN(cell_ratio) + MAX(cell_ratio)) / 2 AS ratio,
           ANY_VALUE(cells_compared) AS cells_compared
    FROM ranked
    WHERE cells_compared >= 8 AND position IN ((cells_compared + 1) // 2, cells_compared // 2 + 1)
    GROUP BY location_id, week_no
)
SELECT w.location_id, w.week_no, w.ratio, w.cells_compared
FROM recomputed AS w
CROSS JOIN refresh AS r
WHERE r.rebuild_all
   OR EXISTS (SELECT 1 FROM changed_weeks AS c WHERE w.week_no BETWEEN c.first_week AND c.last_week + 8)
UNION ALL
SELECT p.location_id, p.week_no, p.ratio, p.cells_compared
FROM weekly_ratios_previous AS p
CROSS JOIN refresh AS r
WHERE NOT r.rebuild_all
  AND NOT EXISTS (SELECT 1 FROM changed_weeks AS c WHERE p.week_no BETWEEN c.first_week AND c.last_week + 8)
