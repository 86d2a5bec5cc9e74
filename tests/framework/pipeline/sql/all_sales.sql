SELECT sale_id, shop_id, day, amount FROM sales
UNION ALL
SELECT sale_id, shop_id, day, amount FROM new_sales
