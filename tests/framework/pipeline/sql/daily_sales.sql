SELECT shop_id,
       day,
       CAST(SUM(amount) AS BIGINT) AS amount,
       COUNT(*) AS sales,
       CAST(year(day) AS INTEGER) AS year,
       CAST(month(day) AS INTEGER) AS month
FROM all_sales
GROUP BY shop_id, day
