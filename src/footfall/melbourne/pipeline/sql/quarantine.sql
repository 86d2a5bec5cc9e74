-- Every input row that was not used, with the reason and the file it came from: rows that could not
-- be read (one entry each) and the extra copies of exact duplicate rows (one entry per duplicated row,
-- `input_rows` = its extra copies; the row itself counts once in hourly_counts).
SELECT file_id, source, reason, raw_id, raw_location_id, raw_time, raw_count, raw_line, 1 AS input_rows
FROM raw_counts
WHERE reason IS NOT NULL
UNION ALL
SELECT file_id, source, 'exact duplicate of another row' AS reason, raw_id,
       CAST(location_id AS VARCHAR) AS raw_location_id, CAST(ts AS VARCHAR) AS raw_time,
       CAST(pedestrians AS VARCHAR) AS raw_count, CAST(NULL AS VARCHAR) AS raw_line, copies - 1 AS input_rows
FROM counts_distinct
WHERE copies > 1
