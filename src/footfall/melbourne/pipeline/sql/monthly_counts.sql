-- Pedestrians per location per calendar month (YYYY-MM), with days and hours reported and the
-- location's rank in that month (RANK: ties share a rank).
WITH monthly AS (
    SELECT location_id,
           STRFTIME(date, '%Y-%m') AS month,
           CAST(SUM(pedestrians) AS BIGINT) AS pedestrians,
           COUNT(*) AS days_reported,
           CAST(SUM(hours_reported) AS BIGINT) AS hours_reported
    FROM daily_counts
    GROUP BY location_id, STRFTIME(date, '%Y-%m')
)
SELECT m.month,
       RANK() OVER (PARTITION BY m.month ORDER BY m.pedestrians DESC) AS rank,
       m.location_id,
       l.location,
       m.pedestrians,
       m.days_reported,
       m.hours_reported
FROM monthly AS m
JOIN locations AS l ON l.location_id = m.location_id
