-- weekly_ratios.sql for Spark, which has no LIST_MEDIAN: the trailing median is PERCENTILE(x, 0.5) over the
-- 8-week window frame and the week's ratio a grouped MEDIAN, the same interpolated medians DuckDB's version
-- takes from sorted rows. Everything else is weekly_ratios.sql as sqlglot transpiles it; keep the two in
-- step (tests/melbourne/test_spark_parity.py compares their answers byte for byte).
WITH refresh AS (
  SELECT
    (
      SELECT
        COUNT(*)
      FROM hourly_previous
    ) = 0
    OR (
      SELECT
        COUNT(*)
      FROM weekly_ratios_previous
    ) = 0 AS rebuild_all
), changed_weeks AS (
  SELECT
    (
      CAST(UNIX_TIMESTAMP(CAST(MAKE_DATE(month_key DIV 100, month_key % 100, 1) AS TIMESTAMP)) AS BIGINT) DIV 3600 + 72
    ) DIV 168 AS first_week,
    (
      CAST(UNIX_TIMESTAMP(
        CAST(MAKE_DATE(month_key DIV 100, month_key % 100, 1) AS TIMESTAMP) + INTERVAL '1' MONTH
      ) AS BIGINT) DIV 3600 + 71
    ) DIV 168 AS last_week
  FROM changed_months
), hours AS (
  SELECT
    location_id,
    pedestrians,
    CAST(UNIX_TIMESTAMP(ts) AS BIGINT) DIV 3600 + 72 AS hour_no
  FROM hourly_counts
), cells AS (
  SELECT
    h.location_id,
    h.hour_no DIV 168 AS week_no,
    (
      h.hour_no % 168
    ) DIV 6 AS cell,
    SUM(h.pedestrians) AS pedestrians
  FROM hours AS h
  CROSS JOIN refresh AS r
  CROSS JOIN (
    SELECT
      MIN(first_week) - 8 AS low,
      MAX(last_week) + 8 AS high
    FROM changed_weeks
  ) AS b
  WHERE
    r.rebuild_all OR h.hour_no BETWEEN b.low * 168 AND b.high * 168 + 167
  GROUP BY
    h.location_id,
    h.hour_no DIV 168,
    (
      h.hour_no % 168
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
), recomputed AS (
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
)
SELECT
  w.location_id,
  w.week_no,
  w.ratio,
  w.cells_compared
FROM recomputed AS w
CROSS JOIN refresh AS r
WHERE
  r.rebuild_all
  OR EXISTS(
    SELECT
      1
    FROM changed_weeks AS c
    WHERE
      w.week_no BETWEEN c.first_week AND c.last_week + 8
  )
UNION ALL
SELECT
  p.location_id,
  p.week_no,
  p.ratio,
  p.cells_compared
FROM weekly_ratios_previous AS p
CROSS JOIN refresh AS r
WHERE
  NOT r.rebuild_all
  AND NOT EXISTS(
    SELECT
      1
    FROM changed_weeks AS c
    WHERE
      p.week_no BETWEEN c.first_week AND c.last_week + 8
  )
