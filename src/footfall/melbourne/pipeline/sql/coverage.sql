-- Per location: the first and last hour reported, hours and days reported, and the share of the
-- hours between first and last that are present. data_gap_hours: the hours of that span in data gaps (the
-- city as a whole did not report); coverage_held_pct: the share of the span's other hours that are present
-- (hours missing there are sensor_gaps', every other missing hour is in a data gap).
WITH spans AS (
    SELECT location_id,
           MIN(first_ts) AS first_ts,
           MAX(last_ts) AS last_ts,
           CAST(SUM(hours_reported) AS BIGINT) AS hours_reported,
           COUNT(*) AS days_reported
    FROM daily_totals
    GROUP BY location_id
),
in_gaps AS (
    SELECT s.location_id,
           SUM(CAST((EPOCH(LEAST(s.last_ts, g.end_ts)) - EPOCH(GREATEST(s.first_ts, g.start_ts))) / 3600 AS BIGINT)
               + 1) AS data_gap_hours
    FROM spans AS s
    JOIN data_gaps AS g ON g.start_ts <= s.last_ts AND g.end_ts >= s.first_ts
    GROUP BY s.location_id
),
missing AS (
    SELECT location_id, SUM(hours) AS hours_missing
    FROM sensor_gaps
    GROUP BY location_id
),
measured AS (
    SELECT s.location_id,
           s.first_ts,
           s.last_ts,
           s.hours_reported,
           s.days_reported,
           CAST((EPOCH(s.last_ts) - EPOCH(s.first_ts)) / 3600 AS BIGINT) + 1 AS hours_spanned,
           CAST(COALESCE(i.data_gap_hours, 0) AS BIGINT) AS data_gap_hours,
           COALESCE(m.hours_missing, 0) AS hours_missing
    FROM spans AS s
    LEFT JOIN in_gaps AS i ON i.location_id = s.location_id
    LEFT JOIN missing AS m ON m.location_id = s.location_id
)
SELECT m.location_id,
       l.location,
       m.first_ts,
       m.last_ts,
       m.hours_reported,
       m.days_reported,
       m.hours_spanned,
       ROUND(CAST(m.hours_reported AS DOUBLE) * 100 / m.hours_spanned, 2) AS coverage_pct,
       m.data_gap_hours,
       ROUND(CAST(m.hours_spanned - m.data_gap_hours - m.hours_missing AS DOUBLE) * 100
             / NULLIF(m.hours_spanned - m.data_gap_hours, 0), 2) AS coverage_held_pct
FROM measured AS m
JOIN locations AS l ON l.location_id = m.location_id
