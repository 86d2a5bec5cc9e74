-- For each month, every location ranked 10 or better (ties at the edge can give more than 10 rows).
SELECT month, rank, location_id, location, pedestrians
FROM monthly_counts
WHERE rank <= 10
