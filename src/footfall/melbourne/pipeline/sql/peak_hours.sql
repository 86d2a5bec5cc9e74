-- Per location: the hour of day with the highest average pedestrians (the earliest on a tie).
WITH ranked AS (
    SELECT location_id, location, hour, avg_pedestrians,
           ROW_NUMBER() OVER (PARTITION BY location_id ORDER BY avg_pedestrians DESC, hour) AS n
    FROM hourly_profile
)
SELECT location_id, location, hour AS peak_hour, avg_pedestrians AS peak_avg_pedestrians
FROM ranked
WHERE n = 1
