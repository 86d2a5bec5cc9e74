-- Flatlines: runs of at least 24 consecutive reported hours that all carry the same count (zero, or
-- any one value), at locations that normally see people: a median day of at least 24 pedestrians.
-- Overlapping 24-hour windows of one value (sensor_runs, kind 'flat') merge into one run. Only windows
-- wholly inside the hours the lake holds (held_periods) count: in a data gap the city is not reporting.
WITH windows AS (
    SELECT r.location_id, r.end_ts, r.pedestrians
    FROM sensor_runs AS r
    JOIN held_periods AS p ON p.start_ts <= r.start_ts AND r.end_ts <= p.end_ts
    WHERE r.kind = 'flat'
),
marked AS (
    SELECT location_id, end_ts, pedestrians,
           CASE WHEN LAG(end_ts) OVER (PARTITION BY location_id ORDER BY end_ts) = end_ts - INTERVAL 1 HOUR
                     AND LAG(pedestrians) OVER (PARTITION BY location_id ORDER BY end_ts) = pedestrians
                THEN 0 ELSE 1 END AS new_run
    FROM windows
),
numbered AS (
    SELECT location_id, end_ts, pedestrians,
           SUM(new_run) OVER (PARTITION BY location_id ORDER BY end_ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS run_no
    FROM marked
),
runs AS (
    SELECT location_id,
           MIN(end_ts) - INTERVAL 23 HOUR AS start_ts,
           MAX(end_ts) AS end_ts,
           COUNT(*) + 23 AS hours,
           MIN(pedestrians) AS pedestrians
    FROM numbered
    GROUP BY location_id, run_no
),
busy AS (
    SELECT location_id
    FROM daily_counts
    GROUP BY location_id
    HAVING MEDIAN(pedestrians) >= 24
)
SELECT r.location_id,
       l.location,
       r.start_ts,
       r.end_ts,
       r.hours,
       r.pedestrians,
       CAST(r.start_ts AS DATE) AS start_date,
       CAST(r.end_ts AS DATE) AS end_date
FROM runs AS r
JOIN busy AS b ON b.location_id = r.location_id
JOIN locations AS l ON l.location_id = r.location_id
