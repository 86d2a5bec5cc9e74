-- The whole hourly table: the published months that nothing new touched, and the rebuilt ones.
SELECT location_id, ts, date, hour, direction_1, direction_2, pedestrians, source, year, month
FROM hourly_previous
WHERE year * 100 + month NOT IN (SELECT month_key FROM changed_months)
UNION ALL
SELECT location_id, ts, date, hour, direction_1, direction_2, pedestrians, source, year, month
FROM hourly_changes
