SELECT shop_id,
       strftime(day, '%Y-%m') AS month,
       CAST(SUM(amount) AS BIGINT) AS total,
       CAST(SUM(sales) AS BIGINT) AS sales
FROM daily_sales
GROUP BY shop_id, strftime(day, '%Y-%m')
