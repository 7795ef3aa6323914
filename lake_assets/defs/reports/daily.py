"""`reports_daily`: per device, channel and day, the published readings rolled up (count,
nulls, min, max, sum, mean, sum of squares, first and last timestamp) — the table the most
common questions (a month of daily means and ranges) read instead of every reading.

Each day is made from the readings the catalog publishes for that day (never from a decode
that is not published), written as a new attempt in data/reports_daily/date=YYYYMMDD/,
switched by its manifest, and published forward to the catalog table `reports_daily` only
once its counts account for every reading of the day; the previous version stays until then.
"""

import datetime as dt

import pyarrow.compute as pc
from dagster import (
    AssetCheckExecutionContext,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetsDefinition,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
    asset_check,
)

from lake_assets.catalogs.base import LakeCatalog, published_attempt, published_lookup, shape_of
from lake_assets.catalogs.publish import partition_of, publish_forward
from lake_assets.core.days import date_to_path_value
from lake_assets.core.errors import ExplainedFailure, only_transient_retried
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.policies import DailyPolicy
from lake_assets.defs.pools import LAKE_CATALOG
from lake_assets.defs.reports import reconcile
from lake_assets.defs.reports.rollup import ROLLUP, ROLLUP_SCHEMA, roll_up_files
from lake_assets.defs.steps.days import new_attempt, or_the_later_runs, run_days
from lake_assets.defs.steps.metadata import result_per_day, stored_columns
from lake_assets.defs.steps.per_day import check_each_day
from lake_assets.lake.file_layout import FileLayout
from lake_assets.lake.parquet import PartWriter
from lake_assets.lake.retention import remove_unreferenced
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import (
    DATA,
    TABLE,
    DayManifest,
    DayPath,
    new_attempt_id,
    read_manifest,
    switch_manifest,
)


def build_rollup(
    daily: DailyPolicy, kinds: set[str]
) -> tuple[AssetsDefinition, AssetChecksDefinition]:
    """`reports_daily` and its blocking check, `rollup_matches_readings`."""
    return build_reports_daily(daily, kinds), build_rollup_check(daily.partitions)


def build_rollup_check(partitions: DailyPartitionsDefinition) -> AssetChecksDefinition:
    @asset_check(
        asset=ROLLUP,
        blocking=True,
        partitions_def=partitions,
        description="Each day's rollup accounts for the day's published readings exactly: "
        "readings + nulls = the day's readings; groups, counts, min, max and timestamps equal "
        "a recomputation from the readings files (DuckDB), sums within 1e-9 of the summed "
        "magnitude; and the catalog shows exactly that rollup.",
    )
    def rollup_matches_readings(
        context: AssetCheckExecutionContext, lake: LakeResource, catalog: LakeCatalog
    ):
        store = lake.store()
        published = catalog.partitions(ROLLUP)  # once for the run, not once per day
        return check_each_day(
            context,
            lambda day: reconcile.rollup_matches_readings(store, catalog, published, day),
        )

    return rollup_matches_readings


def build_reports_daily(daily: DailyPolicy, kinds: set[str]) -> AssetsDefinition:
    return asset(
        name=ROLLUP,
        partitions_def=daily.partitions,
        backfill_policy=daily.backfill,
        retry_policy=daily.retry,
        deps=["reports_table"],
        kinds={"parquet", *kinds},
        group_name="reports",
        pool=LAKE_CATALOG,
        description="Per device, channel and day: readings, nulls, min, max, sum, mean, sum_sq, "
        "first_ts, last_ts of the published readings, in data/reports_daily/date=YYYYMMDD/ and "
        "the catalog table `reports_daily`.",
    )(only_transient_retried(reports_daily))


def reports_daily(
    context: AssetExecutionContext, lake: LakeResource, catalog: LakeCatalog
) -> MaterializeResult:
    store = lake.store()
    days = run_days(context)
    published = catalog.partitions(TABLE)
    manifests = {
        day: or_the_later_runs(
            context,
            f"{ROLLUP} {day}",
            lambda day=day: roll_up_day(store, day, published, lake.layout(), context),
            lambda day=day: read_manifest(store, DayPath(DATA, day, ROLLUP)),
        )
        for day in days
    }
    shape = shape_of(ROLLUP, ROLLUP_SCHEMA, partitioned=True)
    slots = [partition_of(store, DayPath(DATA, d, ROLLUP), m) for d, m in manifests.items()]
    moved, ahead = publish_forward(store, catalog, shape, slots, context.run.run_id)
    if ahead:
        context.log.warning(
            f"{ROLLUP} {', '.join(s.date for s in ahead)}: the catalog already shows a later "
            "run's rollup; left as it is"
        )
    lookup = published_lookup(catalog, ROLLUP)
    for day in days:
        remove_unreferenced(store, day, [DATA], lookup, table=ROLLUP)
    context.log.info(f"{ROLLUP}: published {len(moved)} day(s) to {catalog.describe()}")
    per_day = {
        day: {
            "dagster/row_count": m.rows,
            "dagster/partition_row_count": m.rows,
            **{k: v for k, v in m.stats.items() if k in ("readings", "readings_attempt")},
        }
        for day, m in manifests.items()
    }
    return result_per_day(context, per_day, {"dagster/table_name": ROLLUP})


def roll_up_day(
    store: LakeStore,
    day: dt.date,
    published: dict,
    layout: FileLayout,
    context: AssetExecutionContext,
) -> DayManifest:
    """The rollup of the readings the catalog publishes for `day`, written and switched as a
    new attempt; fails, leaving the published rollup as it is, if they are not the day's
    current decode or if the rollup does not account for every reading."""
    readings = read_manifest(store, DayPath(DATA, day))
    shown = published_attempt(published.get(date_to_path_value(day)))
    if readings is None or shown != readings.attempt:
        raise ExplainedFailure(
            f"{day}: the published readings are not the current decode ({shown or 'none'}) — "
            "materialize reports_table for the day first"
        )
    table = roll_up_files(store, [f.key for f in readings.files])
    accounted = (pc.sum(table["readings"]).as_py() or 0) + (pc.sum(table["nulls"]).as_py() or 0)
    if accounted != readings.rows:
        raise ExplainedFailure(
            f"{day}: the rollup accounts for {accounted:,} readings but the day publishes "
            f"{readings.rows:,}; nothing was switched"
        )
    path = DayPath(DATA, day, ROLLUP)
    attempt = new_attempt_id(context.run.run_id)
    with new_attempt(store, day, [DATA], attempt, table=ROLLUP):
        files_schema = layout.schema(ROLLUP_SCHEMA)
        with PartWriter(store, path.attempt_prefix(attempt), files_schema) as writer:
            writer.write(layout.rows(table, files_schema, day))
            files = writer.close()
        manifest = DayManifest(
            zone=DATA,
            table=ROLLUP,
            date=date_to_path_value(day),
            attempt=attempt,
            files=files,
            columns=stored_columns(files_schema),
            run_id=context.run.run_id,
            stats={"readings_attempt": readings.attempt, "readings": readings.rows},
        )
        switch_manifest(store, path, manifest)
    return manifest
