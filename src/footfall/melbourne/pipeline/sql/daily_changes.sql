-- Per location and calendar date, for the months this run rebuilds: pedestrians (all directions), the
-- hours that reported, and the first and last of them. A date lies in one month, so a month's rows are
-- complete from that month's hours alone; the months nothing touched keep the rows the last run
-- published (daily_totals). A first run, or a lake whose last run kept no daily rows, aggregates every
-- month of the hourly table.
WITH refresh AS (
    SELECT (SELECT COUNT(*) FROM daily_previous) = 0 AS rebuild_all
),
hours AS (
    SELECT location_id, ts, date, pedestrians, year, month FROM hourly_changes
    UNION ALL
    SELECT h.location_id, h.ts, h.date, h.pedestrians, h.year, h.month
    FROM hourly_previous AS h
    CROSS JOIN refresh AS r
    WHERE r.rebuild_all AND h.year * 100 + h.month NOT IN (SELECT month_key FROM changed_months)
)
SELECT location_id,
       date,
       CAST(SUM(pedestrians) AS BIGINT) AS pedestrians,
       COUNT(*) AS hours_reported,
       MIN(ts) AS first_ts,
       MAX(ts) AS last_ts,
       year,
       month
FROM hours
GROUP BY location_id, date, year, month
