-- The raw material of sensor health, per location in time order:
-- * kind 'gap': every run of missing hours between two reported hours (the hour after the last one
--   reported, the hour before the next, and how many hours are missing);
-- * kind 'flat': every 24 consecutive reported hours that all carry the same count (one row per such
--   window, at its last hour), which flatlines.sql merges into runs.
-- A gap row depends only on the hourly rows of [start_ts - 1 h, end_ts + 1 h], a flat row on those of
-- [start_ts, end_ts]. So the last run's rows whose interval touches no changed month are kept as they are,
-- and only the rows whose interval touches one are recomputed: from the hours of the span from the first
-- changed month - 23 h to the last + 23 h, with each location's last reported hour before the span and its
-- first after it. Over those, LAG gives every row of the span (and the first after it) its true previous
-- hour, and a 24-row window that reaches past the span's start is never 24 consecutive hours at a row
-- whose interval touches a changed month; so each recomputed row is the one the whole table gives.
-- A first run, a rebuilt hourly table or a lake without the last run's rows recomputes everything.
WITH refresh AS (
    SELECT (SELECT COUNT(*) FROM hourly_previous) = 0 OR (SELECT COUNT(*) FROM sensor_runs_previous) = 0
               AS rebuild_all
),
span AS (
    SELECT CASE WHEN r.rebuild_all THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE m.span_start END AS span_start,
           CASE WHEN r.rebuild_all THEN CAST('9999-12-31 23:00:00' AS TIMESTAMP) ELSE m.span_end END AS span_end
    FROM (
        SELECT CAST(MAKE_DATE(MIN(month_key) // 100, MIN(month_key) % 100, 1) AS TIMESTAMP) - INTERVAL 23 HOUR
                   AS span_start,
               CAST(MAKE_DATE(MAX(month_key) // 100, MAX(month_key) % 100, 1) AS TIMESTAMP)
                   + INTERVAL 1 MONTH + INTERVAL 22 HOUR AS span_end
        FROM changed_months
    ) AS m
    CROSS JOIN refresh AS r
),
inside AS (
    SELECT h.location_id, h.ts, h.pedestrians
    FROM hourly_counts AS h
    JOIN span AS s ON h.ts >= s.span_start AND h.ts <= s.span_end
),
before AS (
    SELECT h.location_id, MAX(h.ts) AS ts, ARG_MAX(h.pedestrians, h.ts) AS pedestrians
    FROM hourly_counts AS h
    JOIN span AS s ON h.ts < s.span_start
    GROUP BY h.location_id
),
after AS (
    SELECT h.location_id, MIN(h.ts) AS ts, ARG_MIN(h.pedestrians, h.ts) AS pedestrians
    FROM hourly_counts AS h
    JOIN span AS s ON h.ts > s.span_end
    GROUP BY h.location_id
),
ordered AS (
    SELECT location_id,
           ts,
           pedestrians,
           LAG(ts) OVER (PARTITION BY location_id ORDER BY ts) AS previous_ts,
           LAG(ts, 23) OVER (PARTITION BY location_id ORDER BY ts) AS window_start_ts,
           MIN(pedestrians) OVER (PARTITION BY location_id ORDER BY ts ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)
               AS window_min,
           MAX(pedestrians) OVER (PARTITION BY location_id ORDER BY ts ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)
               AS window_max
    FROM (SELECT location_id, ts, pedestrians FROM inside
          UNION ALL
          SELECT location_id, ts, pedestrians FROM before
          UNION ALL
          SELECT location_id, ts, pedestrians FROM after) AS hours
),
found AS (
    SELECT location_id,
           'gap' AS kind,
           previous_ts + INTERVAL 1 HOUR AS start_ts,
           ts - INTERVAL 1 HOUR AS end_ts,
           CAST((EPOCH(ts) - EPOCH(previous_ts)) / 3600 AS BIGINT) - 1 AS hours,
           CAST(NULL AS BIGINT) AS pedestrians,
           previous_ts AS depends_from,
           ts AS depends_to
    FROM ordered
    WHERE previous_ts IS NOT NULL AND ts > previous_ts + INTERVAL 1 HOUR
    UNION ALL
    SELECT location_id,
           'flat' AS kind,
           window_start_ts AS start_ts,
           ts AS end_ts,
           CAST(24 AS BIGINT) AS hours,
           pedestrians,
           window_start_ts AS depends_from,
           ts AS depends_to
    FROM ordered
    WHERE window_start_ts = ts - INTERVAL 23 HOUR AND window_min = window_max
),
kept AS (
    SELECT p.location_id, p.kind, p.start_ts, p.end_ts, p.hours, p.pedestrians,
           CASE WHEN p.kind = 'gap' THEN p.start_ts - INTERVAL 1 HOUR ELSE p.start_ts END AS depends_from,
           CASE WHEN p.kind = 'gap' THEN p.end_ts + INTERVAL 1 HOUR ELSE p.end_ts END AS depends_to
    FROM sensor_runs_previous AS p
    CROSS JOIN refresh AS r
    WHERE NOT r.rebuild_all
)
SELECT f.location_id, f.kind, f.start_ts, f.end_ts, f.hours, f.pedestrians
FROM found AS f
CROSS JOIN refresh AS r
WHERE r.rebuild_all
   OR EXISTS (
       SELECT 1 FROM changed_months AS c
       WHERE c.month_key BETWEEN CAST(EXTRACT(YEAR FROM f.depends_from) AS INTEGER) * 100
                                 + CAST(EXTRACT(MONTH FROM f.depends_from) AS INTEGER)
                             AND CAST(EXTRACT(YEAR FROM f.depends_to) AS INTEGER) * 100
                                 + CAST(EXTRACT(MONTH FROM f.depends_to) AS INTEGER)
   )
UNION ALL
SELECT k.location_id, k.kind, k.start_ts, k.end_ts, k.hours, k.pedestrians
FROM kept AS k
WHERE NOT EXISTS (
    SELECT 1 FROM changed_months AS c
    WHERE c.month_key BETWEEN CAST(EXTRACT(YEAR FROM k.depends_from) AS INTEGER) * 100
                              + CAST(EXTRACT(MONTH FROM k.depends_from) AS INTEGER)
                          AND CAST(EXTRACT(YEAR FROM k.depends_to) AS INTEGER) * 100
                              + CAST(EXTRACT(MONTH FROM k.depends_to) AS INTEGER)
)
