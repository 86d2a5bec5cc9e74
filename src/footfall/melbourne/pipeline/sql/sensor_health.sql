-- One row per location: its coverage, and how many outages, flatlines and level-shift weeks it had over
-- the whole history and in the last 90 days the lake holds (findings that end on or after the first of
-- the 90 latest dates with an hour outside every data gap: a stretch the lake has no data for is not part
-- of "the last 90 days"). status is 'check' when any finding falls in those 90 days, else 'ok'.
WITH held_dates AS (
    SELECT DISTINCT CAST(c.ts AS DATE) AS date
    FROM city_hours AS c
    WHERE c.sensors_reporting > 0
      AND NOT EXISTS (SELECT 1 FROM data_gaps AS g WHERE c.ts BETWEEN g.start_ts AND g.end_ts)
),
latest AS (
    SELECT date, ROW_NUMBER() OVER (ORDER BY date DESC) AS position
    FROM held_dates
),
bounds AS (
    SELECT MIN(date) AS recent_start FROM latest WHERE position <= 90
),
events AS (
    SELECT e.location_id,
           e.kind,
           CASE WHEN e.end_date >= b.recent_start THEN 1 ELSE 0 END AS recent
    FROM sensor_events AS e
    CROSS JOIN bounds AS b
),
hours AS (
    SELECT location_id, 'outage' AS kind, hours FROM outages
    UNION ALL
    SELECT location_id, 'flatline' AS kind, hours FROM flatlines
),
per_location AS (
    SELECT location_id,
           SUM(CASE WHEN kind = 'outage' THEN 1 ELSE 0 END) AS outages,
           SUM(CASE WHEN kind = 'flatline' THEN 1 ELSE 0 END) AS flatlines,
           SUM(CASE WHEN kind = 'level shift' THEN 1 ELSE 0 END) AS level_shift_weeks,
           SUM(CASE WHEN kind = 'outage' THEN recent ELSE 0 END) AS outages_90d,
           SUM(CASE WHEN kind = 'flatline' THEN recent ELSE 0 END) AS flatlines_90d,
           SUM(CASE WHEN kind = 'level shift' THEN recent ELSE 0 END) AS level_shift_weeks_90d
    FROM events
    GROUP BY location_id
),
per_location_hours AS (
    SELECT location_id,
           SUM(CASE WHEN kind = 'outage' THEN hours ELSE 0 END) AS outage_hours,
           SUM(CASE WHEN kind = 'flatline' THEN hours ELSE 0 END) AS flatline_hours
    FROM hours
    GROUP BY location_id
)
SELECT c.location_id,
       c.location,
       c.first_ts,
       c.last_ts,
       c.coverage_pct,
       CAST(COALESCE(p.outages, 0) AS BIGINT) AS outages,
       CAST(COALESCE(h.outage_hours, 0) AS BIGINT) AS outage_hours,
       CAST(COALESCE(p.flatlines, 0) AS BIGINT) AS flatlines,
       CAST(COALESCE(h.flatline_hours, 0) AS BIGINT) AS flatline_hours,
       CAST(COALESCE(p.level_shift_weeks, 0) AS BIGINT) AS level_shift_weeks,
       CAST(COALESCE(p.outages_90d, 0) AS BIGINT) AS outages_90d,
       CAST(COALESCE(p.flatlines_90d, 0) AS BIGINT) AS flatlines_90d,
       CAST(COALESCE(p.level_shift_weeks_90d, 0) AS BIGINT) AS level_shift_weeks_90d,
       CASE WHEN COALESCE(p.outages_90d, 0) + COALESCE(p.flatlines_90d, 0) + COALESCE(p.level_shift_weeks_90d, 0) > 0
            THEN 'check' ELSE 'ok' END AS status
FROM coverage AS c
LEFT JOIN per_location AS p ON p.location_id = c.location_id
LEFT JOIN per_location_hours AS h ON h.location_id = c.location_id
