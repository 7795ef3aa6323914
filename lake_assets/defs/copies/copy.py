"""Copying one slot of a table (a day, or the whole table) into `data/<table>/`, verified
against the server's checksum before it is switched to."""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext

from lake_assets.catalogs.base import LakeCatalog, published_lookup, shape_of, slot_value
from lake_assets.core.errors import ExplainedFailure
from lake_assets.core.fingerprints import RowChecksum
from lake_assets.core.tables import TableSpec
from lake_assets.defs.steps.days import Progress, new_attempt, or_the_later_runs
from lake_assets.defs.steps.manifest_stats import CopyStats
from lake_assets.defs.steps.metadata import stored_columns
from lake_assets.lake.file_layout import HIVE, FileLayout
from lake_assets.lake.parquet import PartWriter
from lake_assets.lake.retention import remove_unreferenced
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import (
    DATA,
    DayManifest,
    DayPath,
    new_attempt_id,
    read_manifest,
    switch_manifest,
)
from lake_assets.source.checksums import batch_checksum
from lake_assets.source.client import MySQLResource
from lake_assets.source.drift import accept_or_refuse, schema_key
from lake_assets.source.extract import extract


class CopyMismatch(ExplainedFailure):
    """What was written is not what the server had: nothing was switched (not retried)."""


def copy_slot(
    context: AssetExecutionContext,
    spec: TableSpec,
    mysql: MySQLResource,
    store: LakeStore,
    catalog: LakeCatalog,
    day: dt.date | None,
    timezone: str,
    layout: FileLayout = HIVE,
) -> DayManifest:
    """Write a new attempt of the slot and switch to it; if a later run already switched the
    slot, its version is returned instead."""
    return or_the_later_runs(
        context,
        f"{spec.name} {day or ''}".rstrip(),
        lambda: _copy_slot(context, spec, mysql, store, catalog, day, timezone, layout),
        lambda: read_manifest(store, DayPath(DATA, day, spec.name)),
    )


def _copy_slot(
    context: AssetExecutionContext,
    spec: TableSpec,
    mysql: MySQLResource,
    store: LakeStore,
    catalog: LakeCatalog,
    day: dt.date | None,
    timezone: str,
    layout: FileLayout,
) -> DayManifest:
    path = DayPath(DATA, day, spec.name)
    attempt = new_attempt_id(context.run.run_id)
    label = f"{spec.name} {day}" if day else spec.name
    progress = Progress(context.log, label)
    published = published_lookup(catalog, spec.name)
    with (
        new_attempt(store, day, [DATA], attempt, published, table=spec.name),
        extract(mysql, spec, day, timezone) as (table, source),
    ):
        columns = source.columns
        if spec.daily:  # days written apart must agree; a full copy is whole each time
            drift = accept_or_refuse(store, columns, schema_key(DATA, spec.name), spec.table)
            if drift.added:
                context.log.warning(f"{label}: {'; '.join(drift.added)} — flows into new days")
        written = RowChecksum()
        files_schema = layout.schema(source.schema, partitioned=spec.daily)
        with PartWriter(store, path.attempt_prefix(attempt), files_schema) as writer:
            for batch in source.batches:
                writer.write(layout.rows(batch, files_schema, day))
                written += batch_checksum(batch, table.checksum_columns)
                progress.add(batch.num_rows, batch.nbytes)
            files = writer.close()
        if written != source.expected:
            raise CopyMismatch(
                f"{label}: the rows written (count, xor, sum of CRC32) {written} differ from "
                f"the server's in the same snapshot {source.expected}; nothing was switched"
            )
        if source.zero_dates:
            context.log.warning(
                f"{label}: zero dates stored as null, by column: {dict(source.zero_dates)}"
            )
        manifest = DayManifest(
            zone=DATA,
            table=spec.name,
            date=slot_value(day),
            attempt=attempt,
            files=files,
            columns=stored_columns(files_schema),
            run_id=context.run.run_id,
            stats=CopyStats(
                source_checksum=source.expected,
                checksummed=tuple(table.checksum_columns),
                catalog_columns=shape_of(spec.name, source.schema, spec.daily).columns,
                source=mysql.describe(),
                zero_dates=dict(source.zero_dates),
            ).to_dict(),
        )
        switch_manifest(store, path, manifest)
    context.log.info(f"{label}: {progress.summary()}")
    return manifest


def remove_old_attempts(
    store: LakeStore, catalog: LakeCatalog, spec: TableSpec, day: dt.date | None
) -> int:
    return remove_unreferenced(
        store, day, [DATA], published_lookup(catalog, spec.name), table=spec.name
    )
