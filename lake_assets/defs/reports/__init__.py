"""The three daily-partitioned assets: raw_reports → decoded_reports → reports_table."""

from dagster import AssetsDefinition

from lake_assets.defs.policies import DailyPolicy
from lake_assets.defs.reports.decoded import build_decoded_reports
from lake_assets.defs.reports.raw import build_raw_reports
from lake_assets.defs.reports.table import build_reports_table


def build_report_assets(daily: DailyPolicy, kinds: set[str]) -> list[AssetsDefinition]:
    """raw_reports, decoded_reports and reports_table, in that order; `kinds` says where the
    table lands (defs.resources.catalog_kinds)."""
    return [
        build_raw_reports(daily),
        build_decoded_reports(daily),
        build_reports_table(daily, kinds),
    ]


__all__ = ["build_report_assets"]
