SELECT shop_id, trim(shop) AS shop, city FROM shop_seed
