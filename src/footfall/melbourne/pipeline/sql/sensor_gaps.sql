-- Each location's missing hours that the city did not miss: every gap of sensor_runs cut to the held
-- periods (a gap across a data gap becomes its pieces before and after it; one inside a data gap, none).
SELECT r.location_id,
       GREATEST(r.start_ts, p.start_ts) AS start_ts,
       LEAST(r.end_ts, p.end_ts) AS end_ts,
       CAST((EPOCH(LEAST(r.end_ts, p.end_ts)) - EPOCH(GREATEST(r.start_ts, p.start_ts))) / 3600 AS BIGINT) + 1
           AS hours
FROM sensor_runs AS r
JOIN held_periods AS p ON p.start_ts <= r.end_ts AND p.end_ts >= r.start_ts
WHERE r.kind = 'gap'
