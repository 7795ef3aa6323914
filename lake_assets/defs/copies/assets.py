"""The copy factory: from a `TableSpec`, its asset `copies/<table>` and its blocking check."""

from dataclasses import asdict

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from lake_assets.catalogs.base import LakeCatalog, TableShape
from lake_assets.catalogs.publish import partition_of, publish_forward
from lake_assets.core.errors import only_transient_retried
from lake_assets.core.tables import COPIES_GROUP, TableSpec
from lake_assets.defs.copies.copy import copy_slot, remove_old_attempts
from lake_assets.defs.copies.reconcile import copy_matches_source
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.policies import DailyPolicy
from lake_assets.defs.pools import MYSQL_EXTRACT
from lake_assets.defs.steps.days import run_days
from lake_assets.defs.steps.manifest_stats import CopyStats
from lake_assets.defs.steps.metadata import column_schema, markdown_table, result_per_day
from lake_assets.defs.steps.per_day import check_each_day, flat_metadata
from lake_assets.lake.zones import DATA, DayManifest, DayPath
from lake_assets.source.client import MySQLResource


def build_copy(
    spec: TableSpec, daily: DailyPolicy, kinds: set[str], timezone: str
) -> tuple[AssetsDefinition, AssetChecksDefinition]:
    """The copy's asset and its blocking check; a daily copy's days are days of `timezone`
    (LAKE_TIMEZONE); `kinds` says where the table lands (defs.resources.catalog_kinds)."""
    what = (
        f"the day's rows (by `{spec.date_column}`, days of LAKE_TIMEZONE)"
        if spec.daily
        else "the whole table, replaced atomically"
    )

    @asset(
        key=spec.asset_key,
        group_name=COPIES_GROUP,
        partitions_def=daily.partitions if spec.daily else None,
        backfill_policy=daily.backfill if spec.daily else None,
        retry_policy=daily.retry,
        kinds={"mysql", "parquet", *kinds},
        pool=MYSQL_EXTRACT,
        description=f"A copy of MySQL `{spec.table}`: {what}, as Parquet in data/{spec.name}/ "
        f"and the catalog table `{spec.name}`. Declared in {spec.label}.",
    )
    @only_transient_retried
    def copy(
        context: AssetExecutionContext,
        mysql: MySQLResource,
        lake: LakeResource,
        catalog: LakeCatalog,
    ) -> MaterializeResult:
        store = lake.store()
        days = run_days(context) if spec.daily else [None]
        with mysql.session():  # the days share one connection
            manifests = [
                copy_slot(context, spec, mysql, store, catalog, day, timezone, lake.layout())
                for day in days
            ]
        stats = CopyStats.of(manifests[-1])
        shape = TableShape(spec.name, stats.catalog_columns, spec.daily)
        slots = [
            partition_of(store, DayPath(DATA, day, spec.name), m)
            for day, m in zip(days, manifests, strict=True)
        ]
        moved, ahead = publish_forward(store, catalog, shape, slots, context.run.run_id)
        if ahead:
            context.log.warning(
                f"{spec.name}: the catalog already shows a later run's version of "
                f"{', '.join(s.date or 'the table' for s in ahead)}; left as it is"
            )
        removed = sum(remove_old_attempts(store, catalog, spec, day) for day in days)
        context.log.info(
            f"{spec.name}: published {len(moved)} slot(s) to {catalog.describe()}; "
            f"removed {removed} old file(s)"
        )
        if not spec.daily:
            return MaterializeResult(
                metadata=_common(spec, catalog, manifests[-1]) | _figures(manifests[-1])
            )
        per_day = {day: _figures(m) for day, m in zip(days, manifests, strict=True)}
        return result_per_day(context, per_day, _common(spec, catalog, manifests[-1]))

    if spec.daily:

        @asset_check(
            asset=spec.asset_key,
            name="matches_source",
            blocking=True,
            partitions_def=daily.partitions,
            description="Each day's stored rows = the source's in the extract's snapshot (count, "
            "BIT_XOR and SUM of CRC32 over every column), and the catalog shows that copy.",
        )
        def check(context: AssetCheckExecutionContext, lake: LakeResource, catalog: LakeCatalog):
            store = lake.store()
            return check_each_day(
                context, lambda day: copy_matches_source(store, catalog, spec, day)
            )

    else:

        @asset_check(
            asset=spec.asset_key,
            name="matches_source",
            blocking=True,
            description="The stored rows = the source's in the copy's snapshot (count, BIT_XOR "
            "and SUM of CRC32 over every column), and the catalog shows exactly that copy.",
        )
        def check(context: AssetCheckExecutionContext, lake: LakeResource, catalog: LakeCatalog):
            verdict = copy_matches_source(lake.store(), catalog, spec, None)
            if not verdict.passed:
                context.log.error(verdict.description)
            return AssetCheckResult(
                passed=verdict.passed,
                description=verdict.description,
                metadata=flat_metadata(verdict.metadata),
            )

    return copy, check


def _common(spec: TableSpec, catalog: LakeCatalog, last: DayManifest) -> dict[str, object]:
    stats = CopyStats.of(last)
    return {
        "dagster/column_schema": column_schema(last.columns),
        "dagster/table_name": f"{catalog.describe()}.{spec.name}",
        "source": stats.source,
        "declared_in": spec.label,
    }


def _figures(m: DayManifest) -> dict[str, object]:
    stats = CopyStats.of(m)
    return {
        "dagster/row_count": m.rows,
        **({"dagster/partition_row_count": m.rows} if m.date else {}),
        "bytes": m.bytes,
        "files": len(m.files),
        "attempt": m.attempt,
        "source_checksum": MetadataValue.json(asdict(stats.source_checksum)),
        "zero_dates_to_null": MetadataValue.json(stats.zero_dates),
        "files_table": markdown_table(
            [{"file": f.key, "rows": f.rows, "MB": round(f.bytes / 1e6, 3)} for f in m.files]
        ),
    }
