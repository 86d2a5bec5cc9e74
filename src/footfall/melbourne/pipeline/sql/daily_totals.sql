-- Every location's daily totals over the whole history: the published months nothing touched, and the
-- rebuilt ones. The whole-history answers (daily and monthly ranks, coverage, growth, lockdowns) read
-- this table, a 24th of the hourly rows, instead of the hourly table.
SELECT location_id, date, pedestrians, hours_reported, first_ts, last_ts, year, month
FROM daily_previous
WHERE year * 100 + month NOT IN (SELECT month_key FROM changed_months)
UNION ALL
SELECT location_id, date, pedestrians, hours_reported, first_ts, last_ts, year, month
FROM daily_changes
