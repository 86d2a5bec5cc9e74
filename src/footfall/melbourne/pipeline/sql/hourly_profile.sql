-- Per location and hour of day (0-23): average pedestrians over the hours it reported.
SELECT h.location_id,
       l.location,
       h.hour,
       ROUND(AVG(h.pedestrians), 2) AS avg_pedestrians,
       COUNT(*) AS hours_reported
FROM hourly_counts AS h
JOIN locations AS l ON l.location_id = h.location_id
GROUP BY h.location_id, l.location, h.hour
