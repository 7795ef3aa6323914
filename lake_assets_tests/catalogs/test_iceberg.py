"""IcebergCatalogResource on its own: a column the source gains flows into the table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lake_assets.catalogs.base import PartitionSpec, TableShape
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.lake.file_layout import file_schema, for_day

EVENTS = TableShape("events", (), partitioned=True)


def day_files(root: Path, date: str, columns: dict[str, list]) -> PartitionSpec:
    """One day of a daily copy, written as the assets write it for an Iceberg lake."""
    stored = pa.table(columns)
    layout = file_schema(stored.schema)
    folder = root / "data" / "events" / f"date={date}" / f"20260101T000000000000Z-{date}"
    folder.mkdir(parents=True)
    pq.write_table(for_day(stored, layout, date), folder / "part-00000.parquet")
    return PartitionSpec(date, f"{folder}/", [str(folder / "part-00000.parquet")], stored.num_rows)


def test_a_column_added_at_the_source_flows_into_new_days(tmp_path: Path) -> None:
    catalog = IcebergCatalogResource(lake_root=str(tmp_path))
    first = day_files(tmp_path, "20260101", {"id": [1, 2], "kind": ["a", "b"]})
    catalog.publish(EVENTS, [first], "run-1")
    # the source gained `severity`, in the middle of the table
    later = {"id": [3], "severity": [5], "kind": ["c"]}
    catalog.publish(EVENTS, [day_files(tmp_path, "20260102", later)], "run-2")

    table = catalog.table("events")
    assert table is not None
    assert table.schema().column_names == ["id", "kind", "date", "severity"]
    names, rows = catalog.query("SELECT date, id, kind, severity FROM events ORDER BY id")
    assert names == ["date", "id", "kind", "severity"]
    assert rows == [
        ("20260101", 1, "a", None),
        ("20260101", 2, "b", None),
        ("20260102", 3, "c", 5),
    ]
    scanned = table.scan().to_arrow().sort_by("id")
    assert scanned["severity"].to_pylist() == [None, None, 5], "pyiceberg reads it the same"
