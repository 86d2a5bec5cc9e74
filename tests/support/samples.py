"""The real samples' names (in ../shared/data/real, reached through the ``real`` fixture)."""

SODA = "socrata_counts_soda_2019-11_5000.json"
ODS = "ods_counts_export_labels_2025-10_5000.csv"
SENSORS = "ods_sensor_locations_export_2026-06.csv"
