-- Every landed counts file with its publication rank: the newer publication system (generation)
-- ranks higher, then the file landed last.
SELECT file_key, file_id, format AS source, generation, landed_at, origin,
       ROW_NUMBER() OVER (ORDER BY generation, landed_at, file_id) AS file_rank
FROM landed_counts
