-- Spark has no ISODOW (and sqlglot maps it to a wrong offset): WEEKDAY is 0 = Monday.
WITH per_weekday AS (
  SELECT
    location_id,
    WEEKDAY(date) + 1 AS weekday,
    AVG(pedestrians) AS avg_daily,
    COUNT(*) AS days_reported
  FROM daily_counts
  GROUP BY
    location_id,
    WEEKDAY(date) + 1
), ranked AS (
  SELECT
    *,
    RANK() OVER (PARTITION BY weekday ORDER BY avg_daily DESC) AS rank
  FROM per_weekday
)
SELECT
  r.weekday,
  CASE r.weekday
    WHEN 1
    THEN 'Monday'
    WHEN 2
    THEN 'Tuesday'
    WHEN 3
    THEN 'Wednesday'
    WHEN 4
    THEN 'Thursday'
    WHEN 5
    THEN 'Friday'
    WHEN 6
    THEN 'Saturday'
    ELSE 'Sunday'
  END AS weekday_name,
  r.rank,
  r.location_id,
  l.location,
  ROUND(r.avg_daily, 2) AS avg_daily_pedestrians,
  r.days_reported
FROM ranked AS r
JOIN locations AS l
  ON l.location_id = r.location_id
WHERE
  r.rank <= 10
