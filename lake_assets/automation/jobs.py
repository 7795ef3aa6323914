"""The job that materializes a day (or a range, as one run) of all three assets.

Its partitions are the assets' own (daily_partitions), which Dagster infers from the selection.
"""

from dagster import AssetSelection, define_asset_job

daily_reports_job = define_asset_job(
    name="daily_reports_job",
    selection=AssetSelection.assets("raw_reports", "decoded_reports", "reports_table"),
    description="Extract, decode and publish the selected day(s) of MySQL `reports`.",
)
