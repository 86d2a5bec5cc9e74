-- Every health finding as one event with its first and last day: outages, flatlines, level-shift weeks.
SELECT location_id, 'outage' AS kind, start_date, end_date FROM outages
UNION ALL
SELECT location_id, 'flatline' AS kind, start_date, end_date FROM flatlines
UNION ALL
SELECT location_id, 'level shift' AS kind, week_start AS start_date, week_end AS end_date FROM level_shifts
