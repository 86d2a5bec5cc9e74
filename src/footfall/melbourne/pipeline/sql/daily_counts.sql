-- Pedestrians per location per calendar date (sum of its hourly counts, all directions), with the
-- number of hours that reported and the location's rank on that date (RANK: ties share a rank). The
-- sums come from daily_totals, kept per month.
SELECT d.date,
       RANK() OVER (PARTITION BY d.date ORDER BY d.pedestrians DESC) AS rank,
       d.location_id,
       l.location,
       d.pedestrians,
       d.hours_reported
FROM daily_totals AS d
JOIN locations AS l ON l.location_id = d.location_id
