SELECT d.shop_id, s.shop, d.day, d.amount, d.sales, d.year, d.month
FROM daily_sales AS d
LEFT JOIN shops AS s ON s.shop_id = d.shop_id
