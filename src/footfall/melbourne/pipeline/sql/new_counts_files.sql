-- Landed counts files that the published hourly table does not include yet: all of them when there is
-- no published hourly table (a first run, or a full refresh); and wide files whose columns now resolve to
-- other location ids (a sensor file landed since).
SELECT file_key
FROM counts_files
WHERE file_key NOT IN (SELECT file_key FROM applied_previous)
   OR (SELECT COUNT(*) FROM hourly_previous) = 0
   OR file_key IN (
       SELECT file_key FROM (
           SELECT file_key, column_name, location_id FROM wide_columns
           EXCEPT
           SELECT file_key, column_name, location_id FROM wide_columns_previous
       ) AS changed
   )
