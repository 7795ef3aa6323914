"""kill -9 of an Iceberg run between writing its files and its commit, for real: the MariaDB
source, `dagster asset materialize` in its own process, the SQL catalog on SQLite."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest

from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.catalogs.iceberg_maintenance import maintain
from lake_assets.demo.seed import replace_days
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets_tests.test_cli_range_run import ASSETS, dagster_env, materialize_range

DAY = dt.date(2026, 1, 1)


def readings(lake_root: str) -> int:
    _, [(n,)] = IcebergCatalogResource(lake_root=lake_root).query("SELECT count(*) FROM reports")
    return n


@pytest.mark.mysql
@pytest.mark.cli
def test_kill_9_before_the_commit_leaves_the_previous_day_and_maintenance_sweeps(
    mysql_server: dict, source_db: str, source_conn: pymysql.Connection, tmp_path: Path
) -> None:
    replace_days(source_conn, [DAY], devices=2)
    lake_root = str(tmp_path / "lake")
    env = {**dagster_env(mysql_server, source_db, lake_root, tmp_path / "home")}
    env["LAKE_TABLE_FORMAT"] = "iceberg"
    materialize_range(env, DAY, DAY)
    before = readings(lake_root)
    replace_days(source_conn, [DAY], devices=3)  # the day changes at the source

    metadata = Path(lake_root, "iceberg/reports/metadata")
    committed = set(metadata.glob("*.metadata.json"))
    # Hold the catalog's write lock: reading works, the commit's swap (an UPDATE) has to wait.
    lock = sqlite3.connect(Path(lake_root, "iceberg_catalog.db"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m"]
    command += ["lake_assets.definitions", "--select", ASSETS, "--partition", str(DAY)]
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=env["DAGSTER_HOME"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        # pyiceberg writes the new metadata.json, then swaps it in: once it is there, the run
        # is waiting on the lock, between its files and its commit
        while not set(metadata.glob("*.metadata.json")) - committed:
            assert proc.poll() is None, "the run ended before reaching its commit"
            assert time.monotonic() < deadline, "the run never reached its commit"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    # The previous version of the day is what the table shows; the killed run's files are on
    # disk and no snapshot reads them.
    assert readings(lake_root) == before
    orphans = set(metadata.glob("*.metadata.json")) - committed
    assert orphans
    store = LocalStore(lake_root)
    decoded = read_manifest(store, DayPath(DATA, DAY))
    assert decoded is not None
    catalog = IcebergCatalogResource(lake_root=lake_root)
    assert decoded.attempt not in catalog.retained_attempts("reports", "20260101")

    # Maintenance, once past the margin: the commit's orphan metadata goes; the decoded
    # attempt stays, since its manifest names it and the next run publishes it.
    table = catalog.table("reports")
    assert table is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    done = maintain(table, "reports", store, dt.timedelta(days=7), dt.timedelta(hours=24), later)
    assert done.removed_metadata_files >= len(orphans)
    assert not orphans & set(metadata.glob("*.metadata.json"))
    assert Path(lake_root, "data/reports/date=20260101", decoded.attempt).is_dir()

    materialize_range(env, DAY, DAY)
    assert readings(lake_root) > before, "the next run publishes the new version"
