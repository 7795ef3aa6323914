"""Whether the catalog shows exactly a table's current version of a day: one rule for every
table the lake publishes (the readings, the rollup, each copy)."""

from __future__ import annotations

from lake_assets.catalogs.base import LakeCatalog, PartitionSpec, published_attempt
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DayManifest


def catalog_differs(
    store: LakeStore,
    catalog: LakeCatalog,
    table: str,
    current: DayManifest,
    shown: PartitionSpec | None,
) -> tuple[str | None, dict[str, object]]:
    """What is wrong with the catalog's version `shown` of `current`'s day (None: it is
    exactly the current attempt, holding its rows, counted through the catalog, and, where the
    catalog records who published it — an Iceberg commit — published as that attempt), and
    the figures the judgement used."""
    if shown is None:
        return f"not published in {catalog.describe()}", {"published_attempt": None}
    rows = catalog.published_rows(table, shown, store)
    attempt = published_attempt(shown)
    by = catalog.published_by(table, current.date)
    figures: dict[str, object] = {
        "published_rows": int(rows),
        "published_attempt": attempt,
        **{f"published_by_{k}": v for k, v in by.items()},
    }
    if attempt != current.attempt or rows != current.rows or by.get("attempt", attempt) != attempt:
        return "the catalog does not show exactly the current version", figures
    return None, figures
