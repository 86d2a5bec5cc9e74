-- Melbourne's six lockdowns (stay-at-home orders), inclusive dates, and their length in days.
SELECT lockdown, start_date, end_date, CAST(end_date - start_date AS INTEGER) + 1 AS days
FROM lockdowns
