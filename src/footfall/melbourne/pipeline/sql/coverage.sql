-- Per location: the first and last hour reported, hours and days reported, and the share of the
-- hours between first and last that are present.
WITH spans AS (
    SELECT location_id,
           MIN(first_ts) AS first_ts,
           MAX(last_ts) AS last_ts,
           CAST(SUM(hours_reported) AS BIGINT) AS hours_reported,
           COUNT(*) AS days_reported
    FROM daily_totals
    GROUP BY location_id
)
SELECT s.location_id,
       l.location,
       s.first_ts,
       s.last_ts,
       s.hours_reported,
       s.days_reported,
       CAST((EPOCH(s.last_ts) - EPOCH(s.first_ts)) / 3600 AS BIGINT) + 1 AS hours_spanned,
       ROUND(CAST(s.hours_reported AS DOUBLE) * 100 / (CAST((EPOCH(s.last_ts) - EPOCH(s.first_ts)) / 3600 AS BIGINT) + 1),
             2)
           AS coverage_pct
FROM spans AS s
JOIN locations AS l ON l.location_id = s.location_id
