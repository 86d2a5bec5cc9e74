-- Each column of each wide file and the location id it resolved to (NULL: none, or several), with the
-- values it holds. A file whose columns resolve otherwise than last run is applied again.
SELECT file_key, sensor_description AS column_name, MIN(location_id) AS location_id, COUNT(*) AS value_count
FROM counts_resolved
WHERE file_key IN (SELECT file_key FROM counts_files WHERE source = 'website_wide')
GROUP BY file_key, sensor_description
