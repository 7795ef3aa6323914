"""DuckDB catalog: the view covers exactly the published days, a re-publish replaces a day,
and a locked catalog is waited for rather than corrupted."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake_assets.catalogs.base import PartitionSpec
from lake_assets.catalogs.duckdb import CatalogLocked, DuckDBCatalogResource


def day_file(root: Path, date: str, attempt: str, values: list[float]) -> PartitionSpec:
    folder = root / f"data/reports/date={date}/{attempt}"
    folder.mkdir(parents=True)
    n = len(values)
    table = pa.table(
        {
            "report_id": pa.array(range(n), pa.int64()),
            "device_id": pa.array([1] * n, pa.int64()),
            "ts": pa.array([0] * n, pa.timestamp("ms", tz="UTC")),
            "channel": ["temperature"] * n,
            "unit": ["degC"] * n,
            "value": values,
        }
    )
    pq.write_table(table, folder / "part-00000.parquet")
    return PartitionSpec(date, str(folder), [str(folder / "part-00000.parquet")], n)


def test_empty_catalog_has_a_typed_empty_view(tmp_path: Path) -> None:
    catalog = DuckDBCatalogResource(path=str(tmp_path / "catalog.duckdb"))
    names, rows = catalog.query("SELECT * FROM reports")
    assert names == ["report_id", "device_id", "ts", "channel", "unit", "value", "date"]
    assert rows == []


def test_publish_and_replace_a_day(tmp_path: Path) -> None:
    catalog = DuckDBCatalogResource(path=str(tmp_path / "catalog.duckdb"))
    catalog.publish(
        "reports",
        [
            day_file(tmp_path, "20260101", "a1", [1.0, 2.0]),
            day_file(tmp_path, "20260102", "a1", [3.0]),
        ],
        "run1",
    )
    catalog.publish("reports", [day_file(tmp_path, "20260101", "a2", [10.0])], "run2")
    _, rows = catalog.query("SELECT date, count(*), sum(value) FROM reports GROUP BY 1 ORDER BY 1")
    assert rows == [("20260101", 1, 10.0), ("20260102", 1, 3.0)]
    parts = catalog.partitions("reports")
    assert parts["20260101"].location.endswith("/a2")
    assert parts["20260102"].rows == 1


def test_waits_for_a_locked_catalog_then_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    DuckDBCatalogResource(path=str(path)).partitions("reports")  # create it
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('locked', flush=True); "
            "time.sleep(1.5)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(CatalogLocked, match="locked by another process"):
        DuckDBCatalogResource(path=str(path), lock_timeout_s=0.2).publish("reports", [], "r")
    started = time.monotonic()
    DuckDBCatalogResource(path=str(path), lock_timeout_s=30).publish(
        "reports", [day_file(tmp_path, "20260101", "a1", [1.0])], "r"
    )
    assert time.monotonic() - started > 0.2, "the publish waited for the lock"
    holder.wait(timeout=10)
    assert DuckDBCatalogResource(path=str(path)).query("SELECT count(*) FROM reports")[1] == [(1,)]
