-- One row per (location, local hour), for the changed months.
-- An hour that one usable row gives is that row. For a repeated hour (repeated_hours): exact duplicate
-- rows (same id, location, hour and counts in one publication) count once; where several publications
-- give the same hour, the newest wins (highest file_rank: the later publication system, then the later
-- landed file); distinct rows of the winning publication for the same hour (the repeated hour when
-- daylight saving ends) are added up.
WITH single AS (
    SELECT r.location_id, r.ts, r.direction_1, r.direction_2, r.pedestrians, f.source
    FROM counts_resolved AS r
    JOIN counts_files AS f ON f.file_key = r.file_key
    LEFT JOIN repeated_hours AS k ON k.location_id = r.location_id AND k.ts = r.ts
    WHERE r.reason IS NULL
      AND k.location_id IS NULL
      AND CAST(EXTRACT(YEAR FROM r.ts) AS INTEGER) * 100 + CAST(EXTRACT(MONTH FROM r.ts) AS INTEGER)
          IN (SELECT month_key FROM changed_months)
),
per_publication AS (
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
),
resolved AS (
    SELECT n.location_id,
           n.ts,
           n.hour_counts.direction_1 AS direction_1,
           n.hour_counts.direction_2 AS direction_2,
           n.hour_counts.pedestrians AS pedestrians,
           f.source
    FROM newest AS n
    JOIN counts_files AS f ON f.file_rank = n.hour_counts.file_rank
),
hours AS (
    SELECT location_id, ts, direction_1, direction_2, pedestrians, source FROM single
    UNION ALL
    SELECT location_id, ts, direction_1, direction_2, pedestrians, source FROM resolved
)
SELECT location_id,
       ts,
       CAST(ts AS DATE) AS date,
       CAST(EXTRACT(HOUR FROM ts) AS INTEGER) AS hour,
       direction_1,
       direction_2,
       pedestrians,
       source,
       CAST(EXTRACT(YEAR FROM ts) AS INTEGER) AS year,
       CAST(EXTRACT(MONTH FROM ts) AS INTEGER) AS month
FROM hours
