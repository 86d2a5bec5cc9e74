-- One row per location id. The display name is the description in the latest sensor-locations
-- publication; without one, the most recent description seen in the counts, then the sensor code.
-- Coordinates come from the latest sensor-locations row, else from the counts, whichever is a usable
-- position; a pair that is not (NaN, infinite, out of range, swapped, 0/0, half given) is set aside and
-- named in coordinates_note, so the location stays, without a position, and is counted.
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
),
coordinates AS (
    SELECT location_id, 1 AS priority, 'sensor-locations file' AS given_by, latitude, longitude FROM latest_sensor
    UNION ALL
    SELECT location_id, 2 AS priority, 'counts' AS given_by, latitude, longitude FROM latest_count_code
),
checked_coordinates AS (
    SELECT *,
           CASE
               WHEN latitude IS NULL AND longitude IS NULL THEN NULL
               WHEN latitude IS NULL OR longitude IS NULL THEN 'only one of latitude and longitude'
               WHEN isnan(latitude) OR isnan(longitude) THEN 'a coordinate is NaN'
               WHEN abs(latitude) = CAST('Infinity' AS DOUBLE) OR abs(longitude) = CAST('Infinity' AS DOUBLE)
                   THEN 'a coordinate is infinite'
               WHEN abs(latitude) > 90 AND abs(latitude) <= 180 AND abs(longitude) <= 90
                   THEN 'latitude outside -90..90 (latitude and longitude swapped?)'
               WHEN abs(latitude) > 90 THEN 'latitude outside -90..90'
               WHEN abs(longitude) > 180 THEN 'longitude outside -180..180'
               WHEN latitude = 0 AND longitude = 0 THEN 'latitude and longitude both 0 (no position)'
           END AS problem
    FROM coordinates
),
positions AS (
    SELECT location_id, latitude, longitude,
           ROW_NUMBER() OVER (PARTITION BY location_id ORDER BY priority) AS n
    FROM checked_coordinates
    WHERE problem IS NULL AND latitude IS NOT NULL
),
coordinate_notes AS (
    SELECT location_id,
           ARRAY_TO_STRING(ARRAY_SORT(LIST(problem || ' in the ' || given_by)), '; ') AS coordinates_note
    FROM checked_coordinates
    WHERE problem IS NOT NULL
    GROUP BY location_id
)
SELECT ids.location_id,
       COALESCE(s.sensor_description, c.sensor_description, s.sensor_code, k.sensor_code,
                'Location ' || CAST(ids.location_id AS VARCHAR)) AS location,
       COALESCE(s.sensor_code, k.sensor_code) AS sensor_code,
       s.sensor_description AS description,
       p.latitude,
       p.longitude,
       s.installation_date,
       s.status,
       s.location_type,
       s.note,
       COALESCE(n.names, '') AS names,
       COALESCE(n.name_count, 0) AS name_count,
       cn.coordinates_note
FROM ids
LEFT JOIN latest_sensor AS s ON s.location_id = ids.location_id
LEFT JOIN latest_count_name AS c ON c.location_id = ids.location_id
LEFT JOIN latest_count_code AS k ON k.location_id = ids.location_id
LEFT JOIN names AS n ON n.location_id = ids.location_id
LEFT JOIN positions AS p ON p.location_id = ids.location_id AND p.n = 1
LEFT JOIN coordinate_notes AS cn ON cn.location_id = ids.location_id
