"""`reports_table`: publish the decoded days to the catalog (DuckDB view or Glue partitions)."""

import datetime as dt

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lake_assets.catalogs.base import (
    REPORTS_SHAPE,
    LakeCatalog,
    PartitionSpec,
    published_lookup,
)
from lake_assets.catalogs.publish import partition_of, publish_forward
from lake_assets.core.errors import ExplainedFailure, only_transient_retried
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.policies import DailyPolicy
from lake_assets.defs.pools import LAKE_CATALOG
from lake_assets.defs.steps.days import run_days
from lake_assets.defs.steps.manifest_stats import DataStats
from lake_assets.defs.steps.metadata import result_per_day
from lake_assets.lake.retention import remove_unreferenced
from lake_assets.lake.zones import DATA, RAW, TABLE, DayPath, attempt_started, read_manifest


def _figures(spec: PartitionSpec, moved_dates: set[str]) -> dict[str, object]:
    return {
        "dagster/row_count": spec.rows,
        "dagster/partition_row_count": spec.rows,
        "readings": spec.rows,
        "location": MetadataValue.path(spec.location),
        "published_by_this_run": spec.date in moved_dates,
    }


def _run_started(context: AssetExecutionContext) -> dt.datetime | None:
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None or record.start_time is None:
        return None
    return dt.datetime.fromtimestamp(record.start_time, dt.UTC)


def _started_after(attempt: str, run_started: dt.datetime | None) -> bool:
    """Whether `attempt` was started after this run began (by a run that began later)."""
    started = attempt_started(attempt)
    return started is not None and run_started is not None and started > run_started


def build_reports_table(daily: DailyPolicy, kinds: set[str]) -> AssetsDefinition:
    return asset(
        name="reports_table",
        partitions_def=daily.partitions,
        backfill_policy=daily.backfill,
        retry_policy=daily.retry,
        deps=["decoded_reports"],
        kinds=kinds,
        group_name="reports",
        pool=LAKE_CATALOG,
        description="The `reports` table over the published days: a view in "
        "<LAKE_ROOT>/catalog.duckdb for a local lake, Glue partitions for an S3 lake; with "
        "LAKE_TABLE_FORMAT=iceberg, an Iceberg table (one commit per publish).",
    )(only_transient_retried(reports_table))


def reports_table(
    context: AssetExecutionContext, lake: LakeResource, catalog: LakeCatalog
) -> MaterializeResult:
    store = lake.store()
    days = run_days(context)
    run_started = _run_started(context)
    specs: dict[dt.date, PartitionSpec] = {}
    later: dict[dt.date, str] = {}  # day → the raw attempt of a later-started run
    for day in days:
        path = DayPath(DATA, day)
        manifest = read_manifest(store, path)
        if manifest is None:
            raise ExplainedFailure(
                f"{day}: no decoded data for this day — materialize decoded_reports first"
            )
        raw = read_manifest(store, DayPath(RAW, day))
        made_from = DataStats.of(manifest).raw_attempt
        if raw is None or made_from != raw.attempt:
            if raw is not None and _started_after(raw.attempt, run_started):
                # A run that started after this one re-extracted the day (overlapping ranges):
                # it decodes and publishes the day itself; ours now would go backwards.
                later[day] = raw.attempt
                continue
            # The raw day was re-extracted and not decoded since (a blocking check may have
            # stopped that run): publishing would show data the source no longer has.
            raise ExplainedFailure(
                f"{day}: the decoded data was made from raw attempt "
                f"{made_from}, but the current raw extract is "
                f"{raw.attempt if raw else 'missing'} — materialize decoded_reports (with its "
                "checks) first; the published version was left as it is"
            )
        specs[day] = partition_of(store, path, manifest)
    if later:
        context.log.warning(
            f"{', '.join(map(str, later))}: re-extracted by a run that started after this one; "
            "left for it to publish"
        )
    moved, ahead = publish_forward(
        store, catalog, REPORTS_SHAPE, list(specs.values()), context.run.run_id
    )
    if ahead:
        context.log.warning(
            f"{', '.join(s.date for s in ahead)}: the catalog already shows a later run's "
            "version; left as it is"
        )
    lookup = published_lookup(catalog, TABLE)
    for day in days:
        remove_unreferenced(store, day, [DATA], lookup)
    context.log.info(
        f"published {len(moved)} day(s), {sum(s.rows for s in moved):,} readings, "
        f"to {catalog.describe()}"
    )
    moved_dates = {s.date for s in moved}
    per_day = {
        day: _figures(specs[day], moved_dates)
        if day in specs
        else {"published_by_this_run": False, "left_for_later_run": later[day]}
        for day in days
    }
    return result_per_day(
        context,
        per_day,
        common={
            "dagster/table_name": f"{catalog.describe()}.{TABLE}",
            "dagster/uri": MetadataValue.path(store.uri(f"{DATA}/{TABLE}/")),
        },
    )
