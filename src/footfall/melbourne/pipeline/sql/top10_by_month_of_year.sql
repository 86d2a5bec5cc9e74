-- The pooled reading of "by month": per calendar month (1 = January .. 12), the locations with the
-- highest average monthly pedestrians over every year in which they reported in that month.
WITH per_month AS (
    SELECT location_id,
           CAST(SUBSTR(month, 6, 2) AS INTEGER) AS month_of_year,
           AVG(pedestrians) AS avg_monthly,
           COUNT(*) AS months_reported
    FROM monthly_counts
    GROUP BY location_id, CAST(SUBSTR(month, 6, 2) AS INTEGER)
),
ranked AS (
    SELECT *, RANK() OVER (PARTITION BY month_of_year ORDER BY avg_monthly DESC) AS rank
    FROM per_month
)
SELECT r.month_of_year,
       CASE r.month_of_year WHEN 1 THEN 'January' WHEN 2 THEN 'February' WHEN 3 THEN 'March'
           WHEN 4 THEN 'April' WHEN 5 THEN 'May' WHEN 6 THEN 'June' WHEN 7 THEN 'July'
           WHEN 8 THEN 'August' WHEN 9 THEN 'September' WHEN 10 THEN 'October'
           WHEN 11 THEN 'November' ELSE 'December' END AS month_name,
       r.rank,
       r.location_id,
       l.location,
       ROUND(r.avg_monthly, 2) AS avg_monthly_pedestrians,
       r.months_reported
FROM ranked AS r
JOIN locations AS l ON l.location_id = r.location_id
WHERE r.rank <= 10
