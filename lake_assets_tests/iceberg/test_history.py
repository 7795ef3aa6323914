"""Iceberg history never lies: each publish is one snapshot, so every snapshot in the table's
`snapshot-log` (what time travel reads, by id or by timestamp) shows each day that was already
published whole: exactly one attempt's files, never empty, never missing.

The tables are read as a foreign reader reads them: pyiceberg's `StaticTable` straight from the
current metadata file, each snapshot of the log scanned on its own."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pymysql
import pytest

from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.catalogs.publish import partition_of
from lake_assets.core.days import PARTITION_COLUMN
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.defs.resources import lake_resource
from lake_assets.demo.seed import replace_devices
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets.source.client import MySQLResource
from lake_assets_tests.conftest import materialize_days
from lake_assets_tests.defs.reports.test_pipeline import DAYS, canned
from lake_assets_tests.defs.reports.test_pipeline_iceberg import copy_of, publish_racing, run
from lake_assets_tests.report_defs import copy_defs


def as_a_foreign_reader(catalog: IcebergCatalogResource, name: str):
    """The table read from its metadata file alone, as DuckDB, Spark or Athena would."""
    from pyiceberg.table import StaticTable

    table = catalog.table(name)
    assert table is not None
    return StaticTable.from_metadata(table.metadata_location)


def days_in(table, snapshot_id: int) -> dict[str, tuple[int, set[str]]]:
    """Per day: the rows and the attempt folders of its files, in that snapshot."""
    rows: Counter[str] = Counter()
    attempts: dict[str, set[str]] = defaultdict(set)
    for task in table.scan(snapshot_id=snapshot_id).plan_files():
        partition = task.file.partition
        day = str(partition[0]) if len(partition) else ""
        rows[day] += task.file.record_count
        attempts[day].add(task.file.file_path.rsplit("/", 2)[-2])
    for task in table.scan(snapshot_id=snapshot_id).plan_files():
        assert not task.delete_files, "the lake never writes delete files"
    return {day: (rows[day], attempts[day]) for day in attempts}


def assert_history_is_whole(table, versions: dict[str, set[int]]) -> list[str]:
    """Every snapshot of the log shows each day it holds from one attempt, with one of that
    day's known row counts (`versions`), and keeps every day the snapshot before it had.
    Returns the snapshots' operations, in log order."""
    log = table.metadata.snapshot_log
    assert log, "the table has history"
    before: dict[str, tuple[int, set[str]]] = {}
    operations = []
    for entry in log:
        snapshot = table.snapshot_by_id(entry.snapshot_id)
        operations.append(snapshot.summary.operation.value)
        now = days_in(table, entry.snapshot_id)
        missing = set(before) - set(now)
        assert not missing, f"snapshot {entry.snapshot_id} lost {sorted(missing)}"
        for day, (rows, attempts) in now.items():
            assert len(attempts) == 1, f"{day} mixes attempts {attempts} in {entry.snapshot_id}"
            assert rows in versions[day], f"{day}: {rows} rows is no version's count"
        before = now
    return operations


def test_a_range_republished_then_one_day_leaves_three_whole_snapshots(lake_root: str) -> None:
    """The defect's sequence: a 3-day range published, re-published, then one day
    re-published. It used to leave 5 snapshots, two of them `delete`s that showed the table
    empty and the day missing."""
    assert run(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    assert run(lake_root, canned(DAYS, reports=4), DAYS[0], DAYS[-1]).success
    assert run(lake_root, canned(DAYS, reports=5), DAYS[1]).success
    table = as_a_foreign_reader(IcebergCatalogResource(lake_root=lake_root), "reports")
    readings = {3: 12, 4: 16, 5: 20}  # per day: reports × readings (canned: 4 a report)
    versions = {d.replace("-", ""): set(readings.values()) for d in DAYS}
    operations = assert_history_is_whole(table, versions)
    assert operations == ["append", "overwrite", "overwrite"]
    assert len(table.snapshots()) == 3
    # the last snapshot: day 2 re-published, the others as the range's re-run left them
    last = days_in(table, table.metadata.snapshot_log[-1].snapshot_id)
    assert {d: rows for d, (rows, _) in last.items()} == {
        "20260101": 16,
        "20260102": 20,
        "20260103": 16,
    }
    summaries = [s.summary.additional_properties for s in table.snapshots()]
    assert all({"lake.run_id", "lake.attempts"} <= set(s) for s in summaries)


def test_a_new_day_is_an_append_and_the_days_before_stay_in_every_snapshot(
    lake_root: str,
) -> None:
    for day in DAYS:
        assert run(lake_root, canned([day], reports=3), day).success
    assert run(lake_root, canned(DAYS[:1], reports=2), DAYS[0]).success
    table = as_a_foreign_reader(IcebergCatalogResource(lake_root=lake_root), "reports")
    versions = {d.replace("-", ""): {8, 12} for d in DAYS}
    operations = assert_history_is_whole(table, versions)
    assert operations == ["append", "append", "append", "overwrite"]


def test_a_racing_commit_on_the_same_day_leaves_history_whole(lake_root: str) -> None:
    """Two publishers build their commits from the same table version (the lake's lock
    bypassed); Iceberg refuses the second, and no snapshot of the log shows the day twice or
    not at all."""
    assert run(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    store = LocalStore(lake_root)
    path = DayPath(DATA, dt.date.fromisoformat(DAYS[0]))
    spec = partition_of(store, path, read_manifest(store, path))  # type: ignore[arg-type]
    twins = [copy_of(spec, "-a/"), copy_of(spec, "-b/")]
    catalog = IcebergCatalogResource(lake_root=lake_root)
    errors = publish_racing(catalog, twins)
    assert len(errors) == 1
    iceberg = as_a_foreign_reader(catalog, "reports")
    assert assert_history_is_whole(iceberg, {"20260101": {12}}) == ["append", "overwrite"]


@pytest.mark.mysql
def test_a_full_copy_replaced_twice_is_whole_in_every_snapshot(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    asset, check = copy_defs(TableSpec("devices", CopyMode.FULL))
    catalog = IcebergCatalogResource(lake_root=lake_root)
    resources = {
        "mysql": mysql_resource,
        "lake": lake_resource(lake_root, "iceberg"),
        "catalog": catalog,
    }
    sizes = [30, 50, 40]
    for devices in sizes:
        replace_devices(source_conn, devices)
        result = materialize_days([asset, check], resources, None)  # type: ignore[arg-type]
        assert result.success
    table = as_a_foreign_reader(catalog, "devices")
    assert PARTITION_COLUMN not in table.schema().column_names
    operations = assert_history_is_whole(table, {"": set(sizes)})
    assert operations == ["append", "overwrite", "overwrite"]
    shown = [days_in(table, e.snapshot_id)[""][0] for e in table.metadata.snapshot_log]
    assert shown == sizes, "each snapshot is one whole version of the table"
