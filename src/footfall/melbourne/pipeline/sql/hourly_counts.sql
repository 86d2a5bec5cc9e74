-- One row per (location, local hour).
-- Exact duplicate rows (same id, location, hour and counts in one publication) count once.
-- Where several publications give the same hour, the newest wins: the later publication system
-- (generation), then the later landed file. Distinct rows of the winning publication for the same
-- hour (the repeated hour when daylight saving ends) are added up.
WITH good AS (
    SELECT DISTINCT location_id, ts, direction_1, direction_2, pedestrians, raw_id,
           source, generation, published, file_id
    FROM raw_counts
    WHERE reason IS NULL
),
ranked AS (
    SELECT *,
           DENSE_RANK() OVER (
               PARTITION BY location_id, ts
               ORDER BY generation DESC, published DESC, file_id DESC
           ) AS publication_rank
    FROM good
)
SELECT location_id,
       ts,
       CAST(ts AS DATE) AS date,
       CAST(EXTRACT(HOUR FROM ts) AS INTEGER) AS hour,
       CAST(SUM(direction_1) AS BIGINT) AS direction_1,
       CAST(SUM(direction_2) AS BIGINT) AS direction_2,
       CAST(SUM(pedestrians) AS BIGINT) AS pedestrians,
       MIN(source) AS source,
       CAST(EXTRACT(YEAR FROM ts) AS INTEGER) AS year,
       CAST(EXTRACT(MONTH FROM ts) AS INTEGER) AS month
FROM ranked
WHERE publication_rank = 1
GROUP BY location_id, ts
