-- Per publication, how its repeated hours were resolved: hours given by identical rows more than once
-- (folded: counted once) and hours given by several distinct rows (summed: partial records of the hour
-- added up). An hour no other row repeats is one usable row, so a file's hours are its usable rows less the
-- rows of its repeated hours plus those hours. Files already applied keep the figures the last run found.
WITH new_files AS (
    SELECT f.file_key, f.file_id, f.source, f.file_rank
    FROM counts_files AS f
    JOIN new_counts_files AS n ON n.file_key = f.file_key
),
usable AS (
    SELECT f.file_key, COUNT(*) AS usable_rows
    FROM counts_resolved AS r
    JOIN new_files AS f ON f.file_key = r.file_key
    WHERE r.reason IS NULL
    GROUP BY f.file_key
),
hours AS (
    SELECT file_rank, location_id, ts, COUNT(*) AS distinct_rows, SUM(copies) - COUNT(*) AS extra_copies
    FROM counts_distinct
    GROUP BY file_rank, location_id, ts
)
SELECT p.file_id, p.source, p.hours, p.hours_folded, p.rows_folded, p.hours_summed, p.rows_summed
FROM resolution_previous AS p
WHERE p.file_id IN (SELECT file_id FROM counts_files)
  AND p.file_id NOT IN (SELECT file_id FROM new_files)
UNION ALL
SELECT f.file_id,
       f.source,
       CAST(COALESCE(MAX(u.usable_rows), 0) - COALESCE(SUM(h.distinct_rows + h.extra_copies), 0) + COUNT(h.ts)
            AS BIGINT) AS hours,
       CAST(COALESCE(SUM(CASE WHEN h.extra_copies > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS hours_folded,
       CAST(COALESCE(SUM(h.extra_copies), 0) AS BIGINT) AS rows_folded,
       CAST(COALESCE(SUM(CASE WHEN h.distinct_rows > 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS hours_summed,
       CAST(COALESCE(SUM(CASE WHEN h.distinct_rows > 1 THEN h.distinct_rows ELSE 0 END), 0) AS BIGINT) AS rows_summed
FROM new_files AS f
LEFT JOIN usable AS u ON u.file_key = f.file_key
LEFT JOIN hours AS h ON h.file_rank = f.file_rank
GROUP BY f.file_id, f.source
