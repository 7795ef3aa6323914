"""Publishing to the catalog only ever forward, under the lake's lock for the table."""

from __future__ import annotations

from lake_assets.catalogs.base import LakeCatalog, PartitionSpec, TableShape, published_attempt
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DayManifest, DayPath


def partition_of(store: LakeStore, path: DayPath, manifest: DayManifest) -> PartitionSpec:
    """The catalog entry that publishes the attempt a manifest names."""
    return PartitionSpec(
        date=manifest.date,
        location=store.uri(path.attempt_prefix(manifest.attempt)),
        files=[store.uri(f.key) for f in manifest.files],
        rows=manifest.rows,
    )


def publish_forward(
    store: LakeStore,
    catalog: LakeCatalog,
    shape: TableShape,
    specs: list[PartitionSpec],
    run_id: str,
) -> tuple[list[PartitionSpec], list[PartitionSpec]]:
    """Publish each day only if that moves it forward, to a later-started attempt than the
    one the catalog shows; read and write under the lake's catalog lock, so that two runs
    cannot both pass the comparison. Returns (published, already at a later attempt)."""
    with store.lock(f"catalog-{shape.name}"):
        current = catalog.partitions(shape.name)
        moved, ahead = [], []
        for spec in specs:
            now = published_attempt(current.get(spec.date))
            (moved if now is None or published_attempt(spec) >= now else ahead).append(spec)
        if moved:
            catalog.publish(shape, moved, run_id)
    return moved, ahead
