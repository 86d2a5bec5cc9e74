-- The usable rows of every publication, exact duplicates folded into one row with their number of
-- copies. file_rank orders publications: the newer publication system (generation) first, then the
-- file landed last.
WITH files AS (
    SELECT file_id, ROW_NUMBER() OVER (ORDER BY generation, published, file_id) AS file_rank
    FROM (SELECT DISTINCT file_id, generation, published FROM raw_counts) AS f
)
SELECT r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, r.raw_id, r.file_id, r.source,
       f.file_rank, COUNT(*) AS copies
FROM raw_counts AS r
JOIN files AS f ON f.file_id = r.file_id
WHERE r.reason IS NULL
GROUP BY r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, r.raw_id, r.file_id, r.source,
         f.file_rank
