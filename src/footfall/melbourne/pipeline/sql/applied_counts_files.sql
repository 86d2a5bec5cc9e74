-- The counts files the hourly table includes after this run.
SELECT file_key FROM counts_files
