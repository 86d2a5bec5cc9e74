-- Per location: average daily pedestrians over the last 12 complete months of the data against
-- the 12 months before, and the growth in percent. A month is complete when the data runs to its
-- last hour. Only locations that reported on at least 183 days in each window are ranked; rank 1
-- is the largest growth.
WITH bounds AS (
    SELECT CAST(DATE_TRUNC('month', MAX(last_ts) + INTERVAL 1 HOUR) AS DATE) AS period_end
    FROM daily_totals
),
windows AS (
    SELECT period_end,
           CAST(period_end - INTERVAL 12 MONTH AS DATE) AS last_start,
           CAST(period_end - INTERVAL 24 MONTH AS DATE) AS prior_start
    FROM bounds
),
per_window AS (
    SELECT d.location_id,
           CASE WHEN d.date >= w.last_start THEN 'last' ELSE 'prior' END AS window_name,
           d.pedestrians
    FROM daily_counts AS d
    CROSS JOIN windows AS w
    WHERE d.date >= w.prior_start AND d.date < w.period_end
),
summary AS (
    SELECT location_id,
           AVG(CASE WHEN window_name = 'last' THEN pedestrians END) AS last_avg,
           AVG(CASE WHEN window_name = 'prior' THEN pedestrians END) AS prior_avg,
           CAST(SUM(CASE WHEN window_name = 'last' THEN pedestrians ELSE 0 END) AS BIGINT) AS last_total,
           CAST(SUM(CASE WHEN window_name = 'prior' THEN pedestrians ELSE 0 END) AS BIGINT) AS prior_total,
           COUNT(CASE WHEN window_name = 'last' THEN 1 END) AS last_days,
           COUNT(CASE WHEN window_name = 'prior' THEN 1 END) AS prior_days
    FROM per_window
    GROUP BY location_id
),
eligible AS (
    SELECT *, (last_avg - prior_avg) * 100.0 / prior_avg AS growth_pct
    FROM summary
    WHERE last_days >= 183 AND prior_days >= 183 AND prior_avg > 0
)
SELECT RANK() OVER (ORDER BY e.growth_pct DESC) AS rank,
       e.location_id,
       l.location,
       w.last_start AS period_start,
       CAST(w.period_end - INTERVAL 1 DAY AS DATE) AS period_end,
       ROUND(e.last_avg, 2) AS last_12m_avg_daily,
       ROUND(e.prior_avg, 2) AS prior_12m_avg_daily,
       ROUND(e.growth_pct, 2) AS growth_pct,
       e.last_total AS last_12m_total,
       e.prior_total AS prior_12m_total,
       e.last_days AS last_12m_days,
       e.prior_days AS prior_12m_days
FROM eligible AS e
CROSS JOIN windows AS w
JOIN locations AS l ON l.location_id = e.location_id
