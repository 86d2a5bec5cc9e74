-- One row per (location, local hour), for the changed months.
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
               file_rank := file_rank
           ) AS hour_counts
    FROM counts_distinct
    GROUP BY location_id, ts, file_rank
),
newest AS (
    SELECT location_id, ts, ARG_MAX(hour_counts, file_rank) AS hour_counts
    FROM per_publication
    GROUP BY location_id, ts
)
SELECT n.location_id,
       n.ts,
       CAST(n.ts AS DATE) AS date,
       CAST(EXTRACT(HOUR FROM n.ts) AS INTEGER) AS hour,
       n.hour_counts.direction_1 AS direction_1,
       n.hour_counts.direction_2 AS direction_2,
       n.hour_counts.pedestrians AS pedestrians,
       f.source,
       CAST(EXTRACT(YEAR FROM n.ts) AS INTEGER) AS year,
       CAST(EXTRACT(MONTH FROM n.ts) AS INTEGER) AS month
FROM newest AS n
JOIN counts_files AS f ON f.file_rank = n.hour_counts.file_rank
