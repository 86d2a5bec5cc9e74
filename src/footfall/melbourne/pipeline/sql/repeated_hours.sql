-- The (location, hour) keys that more than one usable row gives in the changed months: two publications
-- of the same hour, exact duplicate rows, or the hour repeated when daylight saving ends. Only these need
-- resolving; every other usable row is its hour as it stands. One aggregation of two columns, instead of
-- folding and ranking every row.
SELECT location_id, ts
FROM counts_resolved
WHERE reason IS NULL
  AND CAST(EXTRACT(YEAR FROM ts) AS INTEGER) * 100 + CAST(EXTRACT(MONTH FROM ts) AS INTEGER)
      IN (SELECT month_key FROM changed_months)
GROUP BY location_id, ts
HAVING COUNT(*) > 1
