-- Per location: average daily pedestrians on the days it reported in 2019 (the baseline) against
-- the days it reported during the six lockdowns, and the change in percent. Only locations that
-- reported on at least half the days of each (183 of 2019's 365; half the lockdown days) are ranked;
-- rank 1 is the largest decline.
WITH baseline AS (
    SELECT location_id, AVG(pedestrians) AS avg_daily, COUNT(*) AS days_reported
    FROM daily_counts
    WHERE date >= DATE '2019-01-01' AND date <= DATE '2019-12-31'
    GROUP BY location_id
),
during AS (
    SELECT d.location_id, AVG(d.pedestrians) AS avg_daily, COUNT(*) AS days_reported
    FROM daily_counts AS d
    JOIN lockdown_periods AS p ON d.date >= p.start_date AND d.date <= p.end_date
    GROUP BY d.location_id
),
eligible AS (
    SELECT b.location_id,
           b.avg_daily AS baseline_avg,
           w.avg_daily AS lockdown_avg,
           b.days_reported AS baseline_days,
           w.days_reported AS lockdown_days,
           (w.avg_daily - b.avg_daily) * 100.0 / b.avg_daily AS change_pct
    FROM baseline AS b
    JOIN during AS w ON w.location_id = b.location_id
    WHERE b.days_reported * 2 >= 365
      AND w.days_reported * 2 >= (SELECT SUM(days) FROM lockdown_periods)
      AND b.avg_daily > 0
)
SELECT RANK() OVER (ORDER BY e.change_pct ASC) AS rank,
       e.location_id,
       l.location,
       ROUND(e.baseline_avg, 2) AS baseline_avg_daily,
       ROUND(e.lockdown_avg, 2) AS lockdown_avg_daily,
       ROUND(e.change_pct, 2) AS change_pct,
       e.baseline_days,
       e.lockdown_days
FROM eligible AS e
JOIN locations AS l ON l.location_id = e.location_id
