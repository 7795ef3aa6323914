"""`iceberg_maintenance`: expire old snapshots of every Iceberg table and delete the files
nothing reads any more (catalogs/iceberg_maintenance.py). Only in an Iceberg lake."""

import datetime as dt

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.catalogs.iceberg_maintenance import maintain
from lake_assets.core.errors import ExplainedFailure, only_transient_retried
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.pools import LAKE_CATALOG


@asset(
    kinds={"iceberg"},
    group_name="maintenance",
    pool=LAKE_CATALOG,
    description="Expire each Iceberg table's snapshots older than LAKE_SNAPSHOT_RETENTION_DAYS, "
    "then delete the data and manifest files no live snapshot reads (older than "
    "LAKE_ORPHAN_MARGIN_HOURS), so the lake does not grow without bound.",
)
@only_transient_retried
def iceberg_maintenance(
    context: AssetExecutionContext, lake: LakeResource, catalog: LakeCatalog
) -> MaterializeResult:
    if not isinstance(catalog, IcebergCatalogResource):
        raise ExplainedFailure("iceberg_maintenance needs LAKE_TABLE_FORMAT=iceberg")
    store = lake.store()
    now = dt.datetime.now(dt.UTC)
    figures: dict[str, dict[str, int]] = {}
    for name in catalog.table_names():
        table = catalog.table(name)
        if table is None:
            continue
        with store.lock(f"catalog-{name}"):  # the lock publishing holds: no commit in between
            done = maintain(
                table,
                name,
                store,
                retention=dt.timedelta(days=catalog.snapshot_retention_days),
                margin=dt.timedelta(hours=catalog.orphan_margin_hours),
                now=now,
            )
        context.log.info(
            f"{name}: expired {done.expired_snapshots} snapshot(s), {done.live_snapshots} "
            f"kept; deleted {done.removed_data_files} data and {done.removed_metadata_files} "
            "metadata file(s) nothing reads"
        )
        figures[name] = {
            "expired_snapshots": done.expired_snapshots,
            "live_snapshots": done.live_snapshots,
            "removed_data_files": done.removed_data_files,
            "removed_metadata_files": done.removed_metadata_files,
        }
    return MaterializeResult(
        metadata={
            "tables": MetadataValue.json(figures),
            "removed_files": sum(
                f["removed_data_files"] + f["removed_metadata_files"] for f in figures.values()
            ),
        }
    )
