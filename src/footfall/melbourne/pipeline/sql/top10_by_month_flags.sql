-- The companion of top10_by_month: the ranked rows whose location has flagged days in that month, how
-- many, and of which kinds.
WITH per_month AS (
    SELECT location_id,
           STRFTIME(date, '%Y-%m') AS month,
           COUNT(*) AS flagged_days,
           MAX(CASE WHEN flags LIKE '%outage%' THEN 1 ELSE 0 END) AS outage,
           MAX(CASE WHEN flags LIKE '%flatline%' THEN 1 ELSE 0 END) AS flatline,
           MAX(CASE WHEN flags LIKE '%level shift%' THEN 1 ELSE 0 END) AS level_shift
    FROM flagged_days
    GROUP BY location_id, STRFTIME(date, '%Y-%m')
)
SELECT t.month,
       t.rank,
       t.location_id,
       t.location,
       t.pedestrians,
       p.flagged_days,
       CONCAT_WS(', ', CASE WHEN p.outage = 1 THEN 'outage' END, CASE WHEN p.flatline = 1 THEN 'flatline' END,
                 CASE WHEN p.level_shift = 1 THEN 'level shift' END) AS flags
FROM top10_by_month AS t
JOIN per_month AS p ON p.location_id = t.location_id AND p.month = t.month
