-- Every row that could not be used, kept with the reason and the file it came from.
SELECT file_id, source, reason, raw_id, raw_location_id, raw_time, raw_count, raw_line
FROM raw_counts
WHERE reason IS NOT NULL
