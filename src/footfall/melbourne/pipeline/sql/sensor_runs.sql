-- The raw material of sensor health, in one pass over the hourly table per location in time order:
-- * kind 'gap': every run of missing hours between two reported hours (the hour after the last one
--   reported, the hour before the next, and how many hours are missing);
-- * kind 'flat': every 24 consecutive reported hours that all carry the same count (one row per such
--   window, at its last hour), which flatlines.sql merges into runs.
WITH ordered AS (
    SELECT location_id,
           ts,
           pedestrians,
           LAG(ts) OVER (PARTITION BY location_id ORDER BY ts) AS previous_ts,
           LAG(ts, 23) OVER (PARTITION BY location_id ORDER BY ts) AS window_start_ts,
           MIN(pedestrians) OVER (PARTITION BY location_id ORDER BY ts ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)
               AS window_min,
           MAX(pedestrians) OVER (PARTITION BY location_id ORDER BY ts ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)
               AS window_max
    FROM hourly_counts
)
SELECT location_id,
       'gap' AS kind,
       previous_ts + INTERVAL 1 HOUR AS start_ts,
       ts - INTERVAL 1 HOUR AS end_ts,
       CAST((EPOCH(ts) - EPOCH(previous_ts)) / 3600 AS BIGINT) - 1 AS hours,
       CAST(NULL AS BIGINT) AS pedestrians
FROM ordered
WHERE previous_ts IS NOT NULL AND ts > previous_ts + INTERVAL 1 HOUR
UNION ALL
SELECT location_id,
       'flat' AS kind,
       window_start_ts AS start_ts,
       ts AS end_ts,
       24 AS hours,
       pedestrians
FROM ordered
WHERE window_start_ts = ts - INTERVAL 23 HOUR AND window_min = window_max
