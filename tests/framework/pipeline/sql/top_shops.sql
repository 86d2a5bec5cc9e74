SELECT month, RANK() OVER (PARTITION BY month ORDER BY total DESC) AS rank, shop_id, total
FROM monthly_totals
