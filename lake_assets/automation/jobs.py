"""The job that materializes a day (or a range, as one run) of all three assets."""

from dagster import AssetSelection, define_asset_job

from lake_assets.partitions import daily_partitions

daily_reports_job = define_asset_job(
    name="daily_reports_job",
    selection=AssetSelection.assets("raw_reports", "decoded_reports", "reports_table"),
    partitions_def=daily_partitions,
    description="Extract, decode and publish the selected day(s) of MySQL `reports`.",
)
