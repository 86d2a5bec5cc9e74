-- The months (year * 100 + month) that new files have usable rows in: only these are rebuilt.
SELECT DISTINCT CAST(EXTRACT(YEAR FROM ts) AS INTEGER) * 100 + CAST(EXTRACT(MONTH FROM ts) AS INTEGER) AS month_key
FROM raw_counts
WHERE reason IS NULL AND file_key IN (SELECT file_key FROM new_counts_files)
