-- Per location and hour of day (0-23): average pedestrians over the hours it reported (the sum over
-- the count, from the per-month totals of hour_of_day_totals: the same value AVG gives over the hours).
SELECT h.location_id,
       l.location,
       h.hour,
       ROUND(CAST(SUM(h.pedestrians) AS DOUBLE) / SUM(h.hours_reported), 2) AS avg_pedestrians,
       CAST(SUM(h.hours_reported) AS BIGINT) AS hours_reported
FROM hour_of_day_totals AS h
JOIN locations AS l ON l.location_id = h.location_id
GROUP BY h.location_id, l.location, h.hour
