-- Data gaps: runs of two or more hours in which the city as a whole reported far fewer locations than
-- usual, so that no single sensor is to blame. An hour of the lake's span is a data-gap hour when no
-- location reported in it, or when fewer than half of the usual locations did; the usual number is the
-- smaller of the locations that reported in the week before the hour and in the week after it (the
-- smaller, so that sensors retired or installed together around an hour do not make it look empty).
-- A single hour is never a data gap: the hour daylight saving skips is absent at every sensor.
-- city_hours.sql holds a row for every hour with a report and for both ends of every stretch without
-- one, so consecutive data-gap rows there are one run of data-gap hours.
WITH judged AS (
    SELECT ts,
           sensors_reporting,
           sensors_before,
           sensors_after,
           CASE WHEN sensors_reporting = 0 OR sensors_reporting * 2 < LEAST(sensors_before, sensors_after)
                THEN 1 ELSE 0 END AS in_gap
    FROM city_hours
),
marked AS (
    SELECT ts, sensors_reporting, sensors_before, sensors_after, in_gap,
           CASE WHEN in_gap = 1 AND COALESCE(LAG(in_gap) OVER (ORDER BY ts), 0) = 0 THEN 1 ELSE 0 END AS new_run
    FROM judged
),
numbered AS (
    SELECT ts, sensors_reporting, sensors_before, sensors_after, in_gap,
           SUM(new_run) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_no
    FROM marked
),
runs AS (
    SELECT MIN(ts) AS start_ts,
           MAX(ts) AS end_ts,
           ARG_MIN(sensors_before, ts) AS sensors_before,
           ARG_MAX(sensors_after, ts) AS sensors_after,
           MAX(sensors_reporting) AS most_reporting,
           SUM(sensors_reporting) AS location_hours
    FROM numbered
    WHERE in_gap = 1
    GROUP BY run_no
)
SELECT start_ts,
       end_ts,
       CAST((EPOCH(end_ts) - EPOCH(start_ts)) / 3600 AS BIGINT) + 1 AS hours,
       CAST(start_ts AS DATE) AS start_date,
       CAST(end_ts AS DATE) AS end_date,
       sensors_before,
       sensors_after,
       CAST(most_reporting AS BIGINT) AS most_reporting,
       CAST(location_hours AS BIGINT) AS location_hours
FROM runs
WHERE end_ts > start_ts
