-- level_shifts.sql for Spark, which refuses MEDIAN over a window frame: PERCENTILE(x, 0.5) is the same
-- interpolated median and accepts one. Everything else is level_shifts.sql as sqlglot transpiles it;
-- keep the two in step (tests/test_spark.py compares their answers byte for byte).
WITH hours AS (
  SELECT
    location_id,
    pedestrians,
    CAST(UNIX_TIMESTAMP(ts) AS BIGINT) DIV 3600 + 72 AS hour_no
  FROM hourly_counts
), cells AS (
  SELECT
    location_id,
    hour_no DIV 168 AS week_no,
    (
      hour_no % 168
    ) DIV 6 AS cell,
    SUM(pedestrians) AS pedestrians
  FROM hours
  GROUP BY
    location_id,
    hour_no DIV 168,
    (
      hour_no % 168
    ) DIV 6
  HAVING
    COUNT(*) = 6
), profiled AS (
  SELECT
    location_id,
    week_no,
    pedestrians,
    PERCENTILE(pedestrians, 0.5) OVER (
      PARTITION BY location_id, cell
      ORDER BY week_no NULLS LAST
      RANGE BETWEEN 8 PRECEDING AND 1 PRECEDING
    ) AS expected,
    COUNT(*) OVER (
      PARTITION BY location_id, cell
      ORDER BY week_no NULLS LAST
      RANGE BETWEEN 8 PRECEDING AND 1 PRECEDING
    ) AS trailing_weeks
  FROM cells
), weekly AS (
  SELECT
    location_id,
    week_no,
    MEDIAN(CAST(pedestrians AS DOUBLE) / expected) AS ratio,
    COUNT(*) AS cells_compared
  FROM profiled
  WHERE
    trailing_weeks >= 4 AND expected >= 60
  GROUP BY
    location_id,
    week_no
  HAVING
    COUNT(*) >= 8
), city AS (
  SELECT
    week_no,
    CASE WHEN COUNT(*) >= 3 THEN MEDIAN(LN(GREATEST(ratio, 0.001))) ELSE 0 END AS city_log_ratio
  FROM weekly
  GROUP BY
    week_no
), scored AS (
  SELECT
    w.location_id,
    w.week_no,
    w.ratio,
    w.cells_compared,
    LN(GREATEST(w.ratio, 0.001)) - c.city_log_ratio AS score
  FROM weekly AS w
  JOIN city AS c
    ON c.week_no = w.week_no
), typical AS (
  SELECT
    location_id,
    MEDIAN(score) AS typical_score
  FROM scored
  GROUP BY
    location_id
), spread AS (
  SELECT
    s.location_id,
    t.typical_score,
    MEDIAN(ABS(s.score - t.typical_score)) AS mad
  FROM scored AS s
  JOIN typical AS t
    ON t.location_id = s.location_id
  GROUP BY
    s.location_id,
    t.typical_score
), judged AS (
  SELECT
    s.location_id,
    CAST('1969-12-29' AS DATE) + CAST(s.week_no * 7 AS INT) AS week_start,
    s.ratio,
    s.cells_compared,
    s.score - p.typical_score AS departure,
    GREATEST(5 * 1.4826 * p.mad, LN(1.5)) AS threshold
  FROM scored AS s
  JOIN spread AS p
    ON p.location_id = s.location_id
)
SELECT
  j.location_id,
  l.location,
  j.week_start,
  j.week_start + 6 AS week_end,
  ROUND(j.ratio, 3) AS ratio,
  ROUND(EXP(j.departure), 3) AS relative_level,
  ROUND(EXP(j.threshold), 3) AS threshold_factor,
  j.cells_compared
FROM judged AS j
JOIN locations AS l
  ON l.location_id = j.location_id
WHERE
  ABS(j.departure) > j.threshold
  AND NOT EXISTS(
    SELECT
      1
    FROM lockdown_periods AS p
    WHERE
      p.start_date <= j.week_start + 6 AND p.end_date >= j.week_start - 56
  )
