SELECT source, reason, CAST(SUM(input_rows) AS BIGINT) AS rows_quarantined, COUNT(DISTINCT file_id) AS files
FROM quarantine
GROUP BY source, reason
