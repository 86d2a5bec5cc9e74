-- Level shifts: weeks in which a location's counts depart from its own trailing 8-week weekday-hour
-- profile by far more than its weeks usually do, and more than the rest of the city's did.
-- * Weeks start on Monday 00:00 local time. The profile's cells are the week's 28 quarter-days (weekday x
--   00-06, 06-12, 12-18, 18-24 h; a cell counts only when all its 6 hours reported): hourly cells would
--   cost six times the work for the same finding.
-- * expected: the median of the location's counts in the same cell in the 8 weeks before (at least 4 of
--   them reported); only cells expecting at least 60 pedestrians (10 an hour) are compared.
-- * ratio: the median over the week's compared cells (at least 8) of count / expected, so a day of zeros
--   or a partial outage inside the week does not move it.
-- * expected and ratio are weekly_ratios.sql's (the part that reads the hourly table, kept per week).
-- * score: ln(ratio) minus the median ln(ratio) of every location that week (when at least 3 reported),
--   so a public holiday or a citywide change is not a sensor's fault.
-- * A week is a level shift when |score - the location's median score| exceeds both 5 robust standard
--   deviations (1.4826 x the median absolute deviation of its scores) and ln(1.5) (a 50% rise or a
--   one-third fall), and neither the week nor its 8 trailing weeks touch a lockdown (each location
--   changed level there by its own amount), and the week touches no data gap (data_gaps: hours in which
--   the city as a whole did not report, so the city's median that week is not the city's).
WITH weekly AS (
    SELECT location_id, week_no, ratio, cells_compared
    FROM weekly_ratios
),
city AS (
    SELECT week_no,
           CASE WHEN COUNT(*) >= 3 THEN MEDIAN(LN(GREATEST(ratio, 0.001))) ELSE 0 END AS city_log_ratio
    FROM weekly
    GROUP BY week_no
),
scored AS (
    SELECT w.location_id,
           w.week_no,
           w.ratio,
           w.cells_compared,
           LN(GREATEST(w.ratio, 0.001)) - c.city_log_ratio AS score
    FROM weekly AS w
    JOIN city AS c ON c.week_no = w.week_no
),
typical AS (
    SELECT location_id, MEDIAN(score) AS typical_score
    FROM scored
    GROUP BY location_id
),
spread AS (
    SELECT s.location_id, t.typical_score, MEDIAN(ABS(s.score - t.typical_score)) AS mad
    FROM scored AS s
    JOIN typical AS t ON t.location_id = s.location_id
    GROUP BY s.location_id, t.typical_score
),
judged AS (
    SELECT s.location_id,
           CAST('1969-12-29' AS DATE) + CAST(s.week_no * 7 AS INTEGER) AS week_start,
           s.ratio,
           s.cells_compared,
           s.score - p.typical_score AS departure,
           GREATEST(5 * 1.4826 * p.mad, LN(1.5)) AS threshold
    FROM scored AS s
    JOIN spread AS p ON p.location_id = s.location_id
)
SELECT j.location_id,
       l.location,
       j.week_start,
       j.week_start + 6 AS week_end,
       ROUND(j.ratio, 3) AS ratio,
       ROUND(EXP(j.departure), 3) AS relative_level,
       ROUND(EXP(j.threshold), 3) AS threshold_factor,
       j.cells_compared
FROM judged AS j
JOIN locations AS l ON l.location_id = j.location_id
WHERE ABS(j.departure) > j.threshold
  AND NOT EXISTS (
      SELECT 1 FROM lockdown_periods AS p
      WHERE p.start_date <= j.week_start + 6 AND p.end_date >= j.week_start - 56
  )
  AND NOT EXISTS (
      SELECT 1 FROM data_gaps AS g
      WHERE g.start_date <= j.week_start + 6 AND g.end_date >= j.week_start
  )
