-- The usable rows of every publication whose hour is repeated (repeated_hours), exact duplicates folded
-- into one row with their number of copies, with the rank of the publication they came from. An exact
-- duplicate repeats its hour, so no duplicate is missed.
SELECT r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, r.raw_id, f.file_rank, COUNT(*) AS copies
FROM counts_resolved AS r
JOIN repeated_hours AS k ON k.location_id = r.location_id AND k.ts = r.ts
JOIN counts_files AS f ON f.file_key = r.file_key
WHERE r.reason IS NULL
GROUP BY r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, r.raw_id, f.file_rank
