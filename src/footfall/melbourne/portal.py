"""Where the City of Melbourne publishes its pedestrian counts: the portal's address and the dataset ids,
written once. The generic sources (``footfall.sources``) take them as parameters."""

from __future__ import annotations

from dataclasses import dataclass

from footfall.settings import Settings

PORTAL_URL = "https://data.melbourne.vic.gov.au"
COUNTS_DATASET = "pedestrian-counting-system-monthly-counts-per-hour"
SENSORS_DATASET = "pedestrian-counting-system-sensor-locations"
# the 2009-2022 history, a zip attached to the counts dataset
ARCHIVE_ATTACHMENT = "pedestrian_counting_system_monthly_counts_per_hour_may_2009_to_14_dec_2022_csv_zip"
# the retired Socrata API's counts and sensor-locations datasets
SOCRATA_COUNTS_DATASET = "b2ak-trbp"
SOCRATA_SENSORS_DATASET = "h57g-5234"


def portal_url(settings: Settings) -> str:
    """The portal to fetch from: ``FOOTFALL_PORTAL_URL`` (as the settings read it), else the city's own."""
    return settings.extra.get("PORTAL_URL") or PORTAL_URL


@dataclass(frozen=True)
class Fetch:
    """Where the counts come from, as the user said: the fetch flags of ``run`` and ``ingest``, each one a field
    with its default (``portal`` None means :func:`portal_url`)."""

    source: str = "melbourne"
    portal: str | None = None
    since: str | None = None
    until: str | None = None
    full_refresh: bool = False
    socrata_url: str | None = None
    dataset: str = SOCRATA_COUNTS_DATASET
    sensors_dataset: str | None = SOCRATA_SENSORS_DATASET
    bulk_csv: bool = False
    workers: int = 4
    export_format: str = "csv"
