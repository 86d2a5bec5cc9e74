-- Every description the lake knows for a location id, matched without case or surrounding spaces: the
-- sensor-locations files (today's and older ones) and the names in counts publications that give ids.
-- A name given to more than one id is ambiguous and resolves to none.
WITH known AS (
    SELECT location_id, sensor_description FROM raw_sensors
    WHERE reason IS NULL AND sensor_description IS NOT NULL
    UNION
    SELECT location_id, sensor_description FROM raw_counts
    WHERE reason IS NULL AND location_id IS NOT NULL AND sensor_description IS NOT NULL
)
SELECT LOWER(TRIM(sensor_description)) AS name_key,
       MIN(location_id) AS location_id,
       COUNT(DISTINCT location_id) AS ids,
       ARRAY_TO_STRING(ARRAY_SORT(LIST(DISTINCT CAST(location_id AS VARCHAR))), ', ') AS id_list
FROM known
GROUP BY LOWER(TRIM(sensor_description))
