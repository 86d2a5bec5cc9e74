-- Per location, month and hour of day (0-23), for the months this run rebuilds: the pedestrians summed
-- over the hours that reported and how many did, from which hourly_profile averages over any span of
-- months. As for daily_changes, untouched months keep the last run's rows (hour_of_day_totals).
WITH refresh AS (
    SELECT (SELECT COUNT(*) FROM hour_of_day_previous) = 0 AS rebuild_all
),
hours AS (
    SELECT location_id, hour, pedestrians, year, month FROM hourly_changes
    UNION ALL
    SELECT h.location_id, h.hour, h.pedestrians, h.year, h.month
    FROM hourly_previous AS h
    CROSS JOIN refresh AS r
    WHERE r.rebuild_all AND h.year * 100 + h.month NOT IN (SELECT month_key FROM changed_months)
)
SELECT location_id,
       hour,
       CAST(SUM(pedestrians) AS BIGINT) AS pedestrians,
       COUNT(*) AS hours_reported,
       year,
       month
FROM hours
GROUP BY location_id, hour, year, month
