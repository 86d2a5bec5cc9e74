-- The (location, date) pairs that reported on a day touched by a health finding, with which kinds.
WITH touched AS (
    SELECT d.location_id, d.date, e.kind
    FROM daily_counts AS d
    JOIN sensor_events AS e
      ON e.location_id = d.location_id AND d.date BETWEEN e.start_date AND e.end_date
)
SELECT location_id,
       date,
       CONCAT_WS(', ',
                 CASE WHEN MAX(CASE WHEN kind = 'outage' THEN 1 ELSE 0 END) = 1 THEN 'outage' END,
                 CASE WHEN MAX(CASE WHEN kind = 'flatline' THEN 1 ELSE 0 END) = 1 THEN 'flatline' END,
                 CASE WHEN MAX(CASE WHEN kind = 'level shift' THEN 1 ELSE 0 END) = 1 THEN 'level shift' END)
           AS flags
FROM touched
GROUP BY location_id, date
