-- Every location's per-month hour-of-day totals over the whole history (see hour_of_day_changes).
SELECT location_id, hour, pedestrians, hours_reported, year, month
FROM hour_of_day_previous
WHERE year * 100 + month NOT IN (SELECT month_key FROM changed_months)
UNION ALL
SELECT location_id, hour, pedestrians, hours_reported, year, month
FROM hour_of_day_changes
