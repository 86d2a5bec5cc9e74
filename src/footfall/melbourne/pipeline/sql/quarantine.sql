-- Every row that was not used, with the reason and the file it came from: rows that could not be
-- read, and the extra copies of exact duplicate rows (which count once in hourly_counts).
WITH copies AS (
    SELECT file_id, source, raw_id, raw_location_id, raw_time, raw_count,
           ROW_NUMBER() OVER (
               PARTITION BY file_id, location_id, ts, direction_1, direction_2, pedestrians, raw_id
               ORDER BY raw_time, raw_count, raw_location_id
           ) AS copy
    FROM raw_counts
    WHERE reason IS NULL
)
SELECT file_id, source, reason, raw_id, raw_location_id, raw_time, raw_count, raw_line
FROM raw_counts
WHERE reason IS NOT NULL
UNION ALL
SELECT file_id, source, 'exact duplicate of another row' AS reason, raw_id, raw_location_id, raw_time, raw_count,
       CAST(NULL AS VARCHAR) AS raw_line
FROM copies
WHERE copy > 1
