-- Outages: runs of missing hours of a location, in hours the city reported (sensor_gaps: its gaps cut to
-- the held periods, outside data gaps), that are at least a day long (24 hours) and at least twice the
-- location's median gap, so a sensor that routinely skips a few night hours is judged against its own
-- habit. A sensor that stops for good is not an outage here: coverage.last_ts shows where it ends.
WITH normal AS (
    SELECT location_id, MEDIAN(hours) AS median_gap_hours
    FROM sensor_gaps
    GROUP BY location_id
)
SELECT g.location_id,
       l.location,
       g.start_ts,
       g.end_ts,
       g.hours,
       CAST(g.start_ts AS DATE) AS start_date,
       CAST(g.end_ts AS DATE) AS end_date
FROM sensor_gaps AS g
JOIN normal AS n ON n.location_id = g.location_id
JOIN locations AS l ON l.location_id = g.location_id
WHERE g.hours >= 24 AND g.hours >= 2 * n.median_gap_hours
