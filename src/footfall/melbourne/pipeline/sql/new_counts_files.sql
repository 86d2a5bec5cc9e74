-- Landed counts files that the published hourly table does not include yet: all of them when there is
-- no published hourly table (a first run, or a full refresh).
SELECT file_key
FROM counts_files
WHERE file_key NOT IN (SELECT file_key FROM applied_previous)
   OR (SELECT COUNT(*) FROM hourly_previous) = 0
