-- Melbourne's six lockdowns (stay-at-home orders), inclusive dates, and their length in days.
SELECT lockdown, start_date, end_date, days
FROM (VALUES
    (1, DATE '2020-03-31', DATE '2020-05-12', 43),
    (2, DATE '2020-07-09', DATE '2020-10-27', 111),
    (3, DATE '2021-02-13', DATE '2021-02-17', 5),
    (4, DATE '2021-05-28', DATE '2021-06-10', 14),
    (5, DATE '2021-07-16', DATE '2021-07-27', 12),
    (6, DATE '2021-08-05', DATE '2021-10-21', 78)
) AS periods (lockdown, start_date, end_date, days)
