-- Outages: runs of missing hours between two reported hours of a location that are at least a day
-- long (24 hours) and at least twice the location's median gap, so a sensor that routinely skips a
-- few night hours is judged against its own habit. A sensor that stops for good is not an outage
-- here: coverage.last_ts shows where it ends.
WITH normal AS (
    SELECT location_id, MEDIAN(hours) AS median_gap_hours
    FROM sensor_runs
    WHERE kind = 'gap'
    GROUP BY location_id
)
SELECT r.location_id,
       l.location,
       r.start_ts,
       r.end_ts,
       r.hours,
       CAST(r.start_ts AS DATE) AS start_date,
       CAST(r.end_ts AS DATE) AS end_date
FROM sensor_runs AS r
JOIN normal AS n ON n.location_id = r.location_id
JOIN locations AS l ON l.location_id = r.location_id
WHERE r.kind = 'gap' AND r.hours >= 24 AND r.hours >= 2 * n.median_gap_hours
