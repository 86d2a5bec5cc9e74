-- Every input row that was not used, with the reason and the file it came from: rows of counts and
-- sensor-locations files that could not be read (one entry each) and the extra copies of exact duplicate
-- counts rows (one entry per duplicated row, `input_rows` = its extra copies; the row itself counts once
-- in hourly_counts). Counts files already applied keep the entries the last run found for them; sensor
-- files, which every run reads whole, are listed afresh.
WITH new_files AS (
    SELECT f.file_key, f.file_id, f.source, f.file_rank
    FROM counts_files AS f
    JOIN new_counts_files AS n ON n.file_key = f.file_key
)
SELECT q.file_id, q.source, q.reason, q.raw_id, q.raw_location_id, q.raw_time, q.raw_count, q.raw_line, q.input_rows
FROM quarantine_previous AS q
WHERE q.file_id IN (SELECT file_id FROM counts_files)
  AND q.file_id NOT IN (SELECT file_id FROM new_files)
UNION ALL
SELECT f.file_id, f.source, r.reason, r.raw_id, r.raw_location_id, r.raw_time, r.raw_count, r.raw_line,
       1 AS input_rows
FROM counts_resolved AS r
JOIN new_files AS f ON f.file_key = r.file_key
WHERE r.reason IS NOT NULL
UNION ALL
SELECT f.file_id, f.source, 'exact duplicate of another row' AS reason, d.raw_id,
       CAST(d.location_id AS VARCHAR) AS raw_location_id, CAST(d.ts AS VARCHAR) AS raw_time,
       CAST(d.pedestrians AS VARCHAR) AS raw_count, CAST(NULL AS VARCHAR) AS raw_line, d.copies - 1 AS input_rows
FROM counts_distinct AS d
JOIN new_files AS f ON f.file_rank = d.file_rank
WHERE d.copies > 1
UNION ALL
SELECT s.file_id, s.source, s.reason, CAST(NULL AS VARCHAR) AS raw_id, CAST(NULL AS VARCHAR) AS raw_location_id,
       CAST(NULL AS VARCHAR) AS raw_time, CAST(NULL AS VARCHAR) AS raw_count, s.raw_line, 1 AS input_rows
FROM raw_sensors AS s
WHERE s.reason IS NOT NULL
