-- Every input row that was not used, with the reason and the file it came from: rows that could not
-- be read (one entry each) and the extra copies of exact duplicate rows (one entry per duplicated row,
-- `input_rows` = its extra copies; the row itself counts once in hourly_counts).
SELECT f.file_id, f.source, r.reason, r.raw_id, r.raw_location_id, r.raw_time, r.raw_count, r.raw_line,
       1 AS input_rows
FROM raw_counts AS r
JOIN counts_files AS f ON f.file_key = r.file_key
WHERE r.reason IS NOT NULL
UNION ALL
SELECT f.file_id, f.source, 'exact duplicate of another row' AS reason, d.raw_id,
       CAST(d.location_id AS VARCHAR) AS raw_location_id, CAST(d.ts AS VARCHAR) AS raw_time,
       CAST(d.pedestrians AS VARCHAR) AS raw_count, CAST(NULL AS VARCHAR) AS raw_line, d.copies - 1 AS input_rows
FROM counts_distinct AS d
JOIN counts_files AS f ON f.file_rank = d.file_rank
WHERE d.copies > 1
