"""The copy's reconciliation, judged from what is stored: the files' rows against the server's
checksum in the extract's snapshot, and the catalog against the current attempt."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from lake_assets.catalogs.base import LakeCatalog, slot_value
from lake_assets.core.tables import TableSpec
from lake_assets.defs.steps.manifest_stats import CopyStats
from lake_assets.defs.steps.per_day import Verdict
from lake_assets.defs.steps.published import catalog_differs
from lake_assets.lake.parquet import iter_batches
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets.source.checksums import checksum_of

BATCH_ROWS = 20_000


def copy_matches_source(
    store: LakeStore, catalog: LakeCatalog, spec: TableSpec, day: dt.date | None
) -> Verdict:
    label = f"{spec.name} {day}" if day else spec.name
    manifest = read_manifest(store, DayPath(DATA, day, spec.name))
    if manifest is None:
        return Verdict(False, f"{label}: not copied yet", {})
    stats = CopyStats.of(manifest)
    names = [c.name for c in stats.checksummed]
    stored = checksum_of(
        iter_batches(store, [f.key for f in manifest.files], names, BATCH_ROWS),
        stats.checksummed,
    )
    problem, shown = catalog_differs(
        store, catalog, spec.name, manifest, catalog.partition(spec.name, slot_value(day))
    )
    figures = {
        "source": asdict(stats.source_checksum),
        "stored": asdict(stored),
        "attempt": manifest.attempt,
        **shown,
    }
    problems = []
    if stored != stats.source_checksum:
        problems.append("the stored rows differ from the source's (count, xor, sum of CRC32)")
    if problem:
        problems.append(problem)
    return Verdict(
        not problems,
        f"{label}: {stored.rows:,} rows = the source's, checksum over every column, published"
        if not problems
        else f"{label}: {'; '.join(problems)}",
        figures,
    )
