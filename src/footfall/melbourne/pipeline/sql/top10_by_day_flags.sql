-- The companion of top10_by_day: the ranked rows that sit on a flagged day of their location (an outage,
-- a flatline or a level-shift week touches it), so the ranking itself is left as computed.
SELECT t.date, t.rank, t.location_id, t.location, t.pedestrians, f.flags
FROM top10_by_day AS t
JOIN flagged_days AS f ON f.location_id = t.location_id AND f.date = t.date
