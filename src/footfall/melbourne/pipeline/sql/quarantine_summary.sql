SELECT source, reason, COUNT(*) AS rows_quarantined, COUNT(DISTINCT file_id) AS files
FROM quarantine
GROUP BY source, reason
