-- The city hour by hour: for every reported hour and for the first and last hour of every stretch in
-- which no location reported, how many locations reported in it (sensors_reporting), in the week before
-- it (sensors_before: any hour of [ts - 168 h, ts - 1 h]) and in the week after it (sensors_after: any
-- hour of [ts + 1 h, ts + 168 h]). data_gaps.sql judges the hours from these counts.
-- The week counts come from a sweep over where they change, so nothing is expanded hour by hour: a
-- location is in the week before every hour from its first reported hour + 1 h to its last + 168 h, and in
-- the week after from its first - 168 h to its last - 1 h, except inside its gaps of a week or more (a gap
-- of missing hours s..e takes it out of the week before from s + 168 h to e + 1 h, and out of the week after
-- from s - 1 h to e - 168 h). At one hour, changes apply before the hour is read.
WITH reported AS (
    SELECT ts, COUNT(*) AS sensors_reporting
    FROM hourly_counts
    GROUP BY ts
),
neighbours AS (
    SELECT ts, LAG(ts) OVER (ORDER BY ts) AS previous_ts
    FROM reported
),
points AS (
    SELECT ts, sensors_reporting FROM reported
    UNION ALL
    SELECT previous_ts + INTERVAL 1 HOUR AS ts, 0 AS sensors_reporting
    FROM neighbours
    WHERE ts > previous_ts + INTERVAL 1 HOUR
    UNION ALL
    SELECT ts - INTERVAL 1 HOUR AS ts, 0 AS sensors_reporting
    FROM neighbours
    WHERE ts > previous_ts + INTERVAL 2 HOUR
),
spans AS (
    SELECT location_id, MIN(ts) AS first_ts, MAX(ts) AS last_ts
    FROM hourly_counts
    GROUP BY location_id
),
long_gaps AS (
    SELECT start_ts, end_ts
    FROM sensor_runs
    WHERE kind = 'gap' AND hours >= 168
),
changes AS (
    SELECT first_ts + INTERVAL 1 HOUR AS ts, 1 AS before_change, 0 AS after_change FROM spans
    UNION ALL
    SELECT last_ts + INTERVAL 169 HOUR AS ts, -1 AS before_change, 0 AS after_change FROM spans
    UNION ALL
    SELECT first_ts - INTERVAL 168 HOUR AS ts, 0 AS before_change, 1 AS after_change FROM spans
    UNION ALL
    SELECT last_ts AS ts, 0 AS before_change, -1 AS after_change FROM spans
    UNION ALL
    SELECT start_ts + INTERVAL 168 HOUR AS ts, -1 AS before_change, 0 AS after_change FROM long_gaps
    UNION ALL
    SELECT end_ts + INTERVAL 2 HOUR AS ts, 1 AS before_change, 0 AS after_change FROM long_gaps
    UNION ALL
    SELECT start_ts - INTERVAL 1 HOUR AS ts, 0 AS before_change, -1 AS after_change FROM long_gaps
    UNION ALL
    SELECT end_ts - INTERVAL 167 HOUR AS ts, 0 AS before_change, 1 AS after_change FROM long_gaps
),
timeline AS (
    SELECT ts, 0 AS is_point, SUM(before_change) AS before_change, SUM(after_change) AS after_change,
           CAST(NULL AS BIGINT) AS sensors_reporting
    FROM changes
    GROUP BY ts
    UNION ALL
    SELECT ts, 1 AS is_point, 0 AS before_change, 0 AS after_change, sensors_reporting
    FROM points
),
swept AS (
    SELECT ts,
           is_point,
           sensors_reporting,
           SUM(before_change) OVER (ORDER BY ts, is_point ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS sensors_before,
           SUM(after_change) OVER (ORDER BY ts, is_point ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS sensors_after
    FROM timeline
)
SELECT ts,
       CAST(sensors_reporting AS BIGINT) AS sensors_reporting,
       CAST(sensors_before AS BIGINT) AS sensors_before,
       CAST(sensors_after AS BIGINT) AS sensors_after
FROM swept
WHERE is_point = 1
