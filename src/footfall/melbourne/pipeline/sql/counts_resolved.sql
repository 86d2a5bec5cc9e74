-- Every parsed counts row with its location id: as the file gives it, or, for a wide file (one column per
-- sensor, headed by its description), the one id that description belongs to. A column matching no id or
-- several is quarantined by name, never guessed; the next run with more sensor files resolves it.
SELECT file_key, raw_id, raw_location_id, raw_time, raw_count, location_id, ts, direction_1, direction_2,
       pedestrians, sensor_description, sensor_code, latitude, longitude, reason, raw_line
FROM raw_counts
WHERE location_id IS NOT NULL OR reason IS NOT NULL
UNION ALL
SELECT r.file_key,
       r.raw_id,
       CASE WHEN n.ids = 1 THEN r.raw_location_id ELSE r.sensor_description END AS raw_location_id,
       CASE WHEN n.ids = 1 THEN r.raw_time ELSE CAST(r.ts AS VARCHAR) END AS raw_time,
       CASE WHEN n.ids = 1 THEN r.raw_count ELSE CAST(r.pedestrians AS VARCHAR) END AS raw_count,
       CASE WHEN n.ids = 1 THEN n.location_id END AS location_id,
       r.ts, r.direction_1, r.direction_2, r.pedestrians, r.sensor_description, r.sensor_code, r.latitude,
       r.longitude,
       CASE WHEN n.ids IS NULL THEN 'wide column ''' || r.sensor_description || ''' matches no location id'
            WHEN n.ids > 1 THEN 'wide column ''' || r.sensor_description || ''' matches several location ids ('
                                || n.id_list || ')'
       END AS reason,
       r.raw_line
FROM raw_counts AS r
LEFT JOIN location_names AS n ON n.name_key = LOWER(TRIM(r.sensor_description))
WHERE r.location_id IS NULL AND r.reason IS NULL
