-- Per publication: its hours, and how many of them were given more than once, folded (identical rows)
-- or summed (partial records). The rule is in docs/definitions.md.
SELECT source, file_id, hours, hours_folded, rows_folded, hours_summed, rows_summed
FROM resolution
