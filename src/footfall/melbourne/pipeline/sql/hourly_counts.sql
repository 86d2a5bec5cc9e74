-- One row per (location, local hour).
-- Exact duplicate rows (same id, location, hour and counts in one publication) count once.
-- Where several publications give the same hour, the newest wins (highest file_rank: the later
-- publication system, then the later landed file). Distinct rows of the winning publication for the
-- same hour (the repeated hour when daylight saving ends) are added up.
WITH per_publication AS (
    SELECT location_id, ts, file_rank,
           STRUCT_PACK(
               direction_1 := CAST(SUM(direction_1) AS BIGINT),
               direction_2 := CAST(SUM(direction_2) AS BIGINT),
               pedestrians := CAST(SUM(pedestrians) AS BIGINT),
               source := MIN(source)
           ) AS hour_counts
    FROM counts_distinct
    GROUP BY location_id, ts, file_rank
),
newest AS (
    SELECT location_id, ts, ARG_MAX(hour_counts, file_rank) AS hour_counts
    FROM per_publication
    GROUP BY location_id, ts
)
SELECT location_id,
       ts,
       CAST(ts AS DATE) AS date,
       CAST(EXTRACT(HOUR FROM ts) AS INTEGER) AS hour,
       hour_counts.direction_1 AS direction_1,
       hour_counts.direction_2 AS direction_2,
       hour_counts.pedestrians AS pedestrians,
       hour_counts.source AS source,
       CAST(EXTRACT(YEAR FROM ts) AS INTEGER) AS year,
       CAST(EXTRACT(MONTH FROM ts) AS INTEGER) AS month
FROM newest
