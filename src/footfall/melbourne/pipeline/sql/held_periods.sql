-- The hours the lake holds: every hour from its first reported hour to its last that is not in a data
-- gap, as runs (start_ts, end_ts, inclusive). Sensor faults are judged only inside these.
WITH bounds AS (
    SELECT MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM city_hours
),
edges AS (
    SELECT start_ts, end_ts FROM data_gaps
    UNION ALL
    SELECT first_ts - INTERVAL 1 HOUR AS start_ts, first_ts - INTERVAL 1 HOUR AS end_ts FROM bounds
    UNION ALL
    SELECT last_ts + INTERVAL 1 HOUR AS start_ts, last_ts + INTERVAL 1 HOUR AS end_ts FROM bounds
),
between_edges AS (
    SELECT LAG(end_ts) OVER (ORDER BY start_ts) + INTERVAL 1 HOUR AS start_ts,
           start_ts - INTERVAL 1 HOUR AS end_ts
    FROM edges
)
SELECT start_ts, end_ts
FROM between_edges
WHERE start_ts <= end_ts
