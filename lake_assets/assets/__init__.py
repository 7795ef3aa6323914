"""The three daily-partitioned assets: raw_reports → decoded_reports → reports_table."""

from lake_assets.assets.decoded import decoded_reports
from lake_assets.assets.raw import raw_reports
from lake_assets.assets.table import reports_table

__all__ = ["decoded_reports", "raw_reports", "reports_table"]
