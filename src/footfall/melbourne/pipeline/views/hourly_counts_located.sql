-- The typed hourly counts joined to their location's current name, sensor code and coordinates:
-- the table most ad hoc questions start from, without a copy of the data.
SELECT h.location_id,
       l.location,
       l.sensor_code,
       h.ts,
       h.date,
       h.hour,
       h.pedestrians,
       h.direction_1,
       h.direction_2,
       l.latitude,
       l.longitude,
       h.source,
       h.year,
       h.month
FROM hourly_counts AS h
LEFT JOIN locations AS l ON l.location_id = h.location_id
