"""The three daily-partitioned assets: raw_reports → decoded_reports → reports_table, made
from the settings they are given."""

from dagster import AssetsDefinition

from lake_assets.defs.policies import daily_policy
from lake_assets.defs.reports.decoded import build_decoded_reports
from lake_assets.defs.reports.raw import build_raw_reports
from lake_assets.defs.reports.table import build_reports_table, table_kinds
from lake_assets.settings import LakeSettings


def build_report_assets(settings: LakeSettings) -> list[AssetsDefinition]:
    """raw_reports, decoded_reports and reports_table, in that order."""
    daily = daily_policy(settings)
    return [
        build_raw_reports(daily),
        build_decoded_reports(daily),
        build_reports_table(daily, table_kinds(settings)),
    ]


__all__ = ["build_report_assets"]
