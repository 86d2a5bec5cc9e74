-- Per source (publication format): its files and hours, and how many hours were given more than once,
-- folded (identical rows) or summed (partial records). Per file: transformed/resolution.parquet. The rule
-- is in docs/definitions.md.
SELECT source,
       COUNT(*) AS files,
       CAST(SUM(hours) AS BIGINT) AS hours,
       CAST(SUM(hours_folded) AS BIGINT) AS hours_folded,
       CAST(SUM(rows_folded) AS BIGINT) AS rows_folded,
       CAST(SUM(hours_summed) AS BIGINT) AS hours_summed,
       CAST(SUM(rows_summed) AS BIGINT) AS rows_summed
FROM resolution
GROUP BY source
