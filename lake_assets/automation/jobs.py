"""The jobs: the daily one (the reports pipeline and every daily copy) and the full copies.

The daily job's partitions are the assets' own (daily_partitions), which Dagster infers from
the selection.
"""

from dagster import AssetSelection, define_asset_job

from lake_assets.settings import current_settings

_copies = current_settings().copies

daily_reports_job = define_asset_job(
    name="daily_reports_job",
    selection=AssetSelection.assets("raw_reports", "decoded_reports", "reports_table")
    | AssetSelection.assets(*[c.asset_key for c in _copies if c.daily]),
    description="Extract, decode and publish the selected day(s) of MySQL `reports`, and copy "
    "the same day(s) of every daily table copy.",
)

full_copies_job = define_asset_job(
    name="full_copies_job",
    selection=AssetSelection.assets(*[c.asset_key for c in _copies if not c.daily]),
    description="Copy every table declared with `mode: full`, each replaced atomically.",
)
HAS_FULL_COPIES = any(not c.daily for c in _copies)

iceberg_maintenance_job = define_asset_job(
    name="iceberg_maintenance_job",
    selection=AssetSelection.assets("iceberg_maintenance"),
    description="Expire old Iceberg snapshots and delete the files nothing reads any more.",
)
