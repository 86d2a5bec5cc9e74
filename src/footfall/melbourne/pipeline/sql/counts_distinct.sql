-- The usable rows of every publication in the changed months, exact duplicates folded into one row
-- with their number of copies, with the rank of the publication they came from.
SELECT r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, r.raw_id, f.file_rank, COUNT(*) AS copies
FROM counts_resolved AS r
JOIN counts_files AS f ON f.file_key = r.file_key
WHERE r.reason IS NULL
  AND CAST(EXTRACT(YEAR FROM r.ts) AS INTEGER) * 100 + CAST(EXTRACT(MONTH FROM r.ts) AS INTEGER)
      IN (SELECT month_key FROM changed_months)
GROUP BY r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, r.raw_id, f.file_rank
