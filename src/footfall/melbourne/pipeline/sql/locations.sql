-- One row per location id. The display name is the description in the latest sensor-locations
-- publication; without one, the most recent description seen in the counts, then the sensor code.
WITH ids AS (
    SELECT DISTINCT location_id FROM daily_totals
    UNION
    SELECT DISTINCT location_id FROM raw_sensors WHERE reason IS NULL
),
sensor_rows AS (
    SELECT *,
           ROW_NUMBER() OVER (
               PARTITION BY location_id
               ORDER BY generation DESC, published DESC, file_id DESC, sensor_code, direction_1, direction_2
           ) AS n
    FROM raw_sensors
    WHERE reason IS NULL
),
latest_sensor AS (
    SELECT * FROM sensor_rows WHERE n = 1
),
names_seen AS (
    SELECT r.location_id, r.sensor_description, r.sensor_code, MAX(r.ts) AS last_ts, MAX(f.file_rank) AS file_rank,
           MAX(r.latitude) AS latitude, MAX(r.longitude) AS longitude
    FROM raw_counts AS r
    JOIN counts_files AS f ON f.file_key = r.file_key
    WHERE r.reason IS NULL AND r.location_id IS NOT NULL
      AND (r.sensor_description IS NOT NULL OR r.sensor_code IS NOT NULL)
    GROUP BY r.location_id, r.sensor_description, r.sensor_code
),
count_names AS (
    SELECT location_id, sensor_description, sensor_code,
           ROW_NUMBER() OVER (
               PARTITION BY location_id
               ORDER BY CASE WHEN sensor_description IS NULL THEN 1 ELSE 0 END, last_ts DESC,
                        file_rank DESC, sensor_description, sensor_code
           ) AS n
    FROM names_seen
),
latest_count_name AS (
    SELECT * FROM count_names WHERE n = 1
),
count_codes AS (
    SELECT location_id, sensor_code, latitude, longitude,
           ROW_NUMBER() OVER (PARTITION BY location_id ORDER BY last_ts DESC, file_rank DESC, sensor_code) AS n
    FROM names_seen
    WHERE sensor_code IS NOT NULL
),
latest_count_code AS (
    SELECT * FROM count_codes WHERE n = 1
),
all_names AS (
    SELECT location_id, sensor_description AS name FROM raw_sensors
    WHERE reason IS NULL AND sensor_description IS NOT NULL
    UNION
    SELECT location_id, sensor_description AS name FROM names_seen
    WHERE sensor_description IS NOT NULL
),
names AS (
    SELECT location_id, ARRAY_TO_STRING(ARRAY_SORT(LIST(name)), ' | ') AS names, COUNT(*) AS name_count
    FROM all_names
    GROUP BY location_id
)
SELECT ids.location_id,
       COALESCE(s.sensor_description, c.sensor_description, s.sensor_code, k.sensor_code,
                'Location ' || CAST(ids.location_id AS VARCHAR)) AS location,
       COALESCE(s.sensor_code, k.sensor_code) AS sensor_code,
       s.sensor_description AS description,
       COALESCE(s.latitude, k.latitude) AS latitude,
       COALESCE(s.longitude, k.longitude) AS longitude,
       s.installation_date,
       s.status,
       s.location_type,
       s.note,
       COALESCE(n.names, '') AS names,
       COALESCE(n.name_count, 0) AS name_count
FROM ids
LEFT JOIN latest_sensor AS s ON s.location_id = ids.location_id
LEFT JOIN latest_count_name AS c ON c.location_id = ids.location_id
LEFT JOIN latest_count_code AS k ON k.location_id = ids.location_id
LEFT JOIN names AS n ON n.location_id = ids.location_id
