-- For each date, every location ranked 10 or better (ties at the edge can give more than 10 rows).
SELECT date, rank, location_id, location, pedestrians
FROM daily_counts
WHERE rank <= 10
