"""`raw_reports`: each day's source rows, every column unchanged, in the lake's raw zone."""

import datetime as dt

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lake_assets.core.days import date_to_path_value
from lake_assets.core.errors import only_transient_retried
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.policies import DailyPolicy
from lake_assets.defs.pools import MYSQL_EXTRACT
from lake_assets.defs.steps.days import Progress, new_attempt, or_the_later_runs, run_days
from lake_assets.defs.steps.manifest_stats import RawStats
from lake_assets.defs.steps.metadata import column_schema, result_per_day, stored_columns
from lake_assets.lake.parquet import PartWriter
from lake_assets.lake.retention import remove_unreferenced
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import (
    RAW,
    DayManifest,
    DayPath,
    new_attempt_id,
    read_manifest,
    switch_manifest,
)
from lake_assets.source.client import MySQLResource, SourceError
from lake_assets.source.drift import accept_or_refuse


def build_raw_reports(daily: DailyPolicy) -> AssetsDefinition:
    return asset(
        name="raw_reports",
        partitions_def=daily.partitions,
        backfill_policy=daily.backfill,
        retry_policy=daily.retry,
        kinds={"mysql", "parquet"},
        group_name="reports",
        pool=MYSQL_EXTRACT,
        description="The day's rows of the MySQL `reports` table, unchanged, as Parquet in "
        "raw/reports/date=YYYYMMDD/. Each day is read in one consistent snapshot.",
    )(only_transient_retried(raw_reports))


def raw_reports(
    context: AssetExecutionContext, mysql: MySQLResource, lake: LakeResource
) -> MaterializeResult:
    store = lake.store()
    days = run_days(context)
    context.log.info(f"extracting {len(days)} day(s) from {mysql.describe()}")
    # each day in its own snapshot; the next days are opened while one is read
    with mysql.session(days):
        manifests = [extract_day(context, mysql, store, day) for day in days]

    last = manifests[-1]
    per_day = {day: _day_figures(store, day, m) for day, m in zip(days, manifests, strict=True)}
    return result_per_day(
        context,
        per_day,
        common={"dagster/column_schema": column_schema(last.columns), "source": mysql.describe()},
    )


def _day_figures(store: LakeStore, day: dt.date, m: DayManifest) -> dict[str, object]:
    stats = RawStats.of(m)
    return {
        "dagster/row_count": m.rows,
        "dagster/partition_row_count": m.rows,
        "dagster/uri": MetadataValue.path(store.uri(DayPath(RAW, day).prefix)),
        "bytes": m.bytes,
        "files": len(m.files),
        "source_fingerprint": MetadataValue.json(stats.fingerprint.as_dict()),
        "zero_dates_to_null": MetadataValue.json(stats.zero_dates),
        "manifest": MetadataValue.path(store.uri(m.key)),
    }


def extract_day(
    context: AssetExecutionContext, mysql: MySQLResource, store: LakeStore, day: dt.date
) -> DayManifest:
    return or_the_later_runs(
        context,
        f"raw {day}",
        lambda: _extract_day(context, mysql, store, day),
        lambda: read_manifest(store, DayPath(RAW, day)),
    )


def _extract_day(
    context: AssetExecutionContext, mysql: MySQLResource, store: LakeStore, day: dt.date
) -> DayManifest:
    path = DayPath(RAW, day)
    attempt = new_attempt_id(context.run.run_id)
    progress = Progress(context.log, f"raw {day}")
    with new_attempt(store, day, [RAW], attempt), mysql.extract_day(day) as extract:
        drift = accept_or_refuse(store, extract.columns)
        if drift.added:
            context.log.warning(f"source schema: {'; '.join(drift.added)} — flows into new days")
        with PartWriter(
            store,
            path.attempt_prefix(attempt),
            extract.schema,
            dictionary_columns=["device_id", "date_start"],
        ) as writer:
            for batch in extract.batches:
                writer.write(batch)
                progress.add(batch.num_rows, batch.nbytes)
            files = writer.close()
        manifest = DayManifest(
            zone=RAW,
            table=path.table,
            date=date_to_path_value(day),
            attempt=attempt,
            files=files,
            columns=stored_columns(extract.schema),
            run_id=context.run.run_id,
            stats=RawStats(
                fingerprint=extract.expected,
                zero_dates=dict(extract.zero_dates),
                source_columns={c.name: c.column_type for c in extract.columns},
                source=mysql.describe(),
            ).to_dict(),
        )
        if extract.zero_dates:
            context.log.warning(
                f"raw {day}: zero dates (a zero year, month or day) stored as null, by column: "
                f"{dict(extract.zero_dates)}"
            )
        if manifest.rows != extract.expected.rows:
            raise SourceError(
                f"{day}: wrote {manifest.rows} rows but the snapshot counted "
                f"{extract.expected.rows}; the day was not switched"
            )
        switch_manifest(store, path, manifest)
    removed = remove_unreferenced(store, day, [RAW])
    context.log.info(f"raw {day}: {progress.summary()}; replaced {removed} old file(s)")
    return manifest
