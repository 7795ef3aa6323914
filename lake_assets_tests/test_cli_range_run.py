"""The documented range run, for real: MariaDB source → `dagster asset materialize
--partition-range` (one run) → every zone and the catalog, checked per day against the source."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pymysql
import pytest
from dagster import DagsterInstance

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.demo.seed import replace_days
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, QUARANTINE, RAW, DayPath, read_manifest
from lake_assets_tests.codec import reference
from lake_assets_tests.conftest import REPO

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
ASSETS = "raw_reports,decoded_reports,reports_table"


def dagster_env(mysql_server: dict, database: str, lake_root: str, home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MYSQL_HOST": str(mysql_server["host"]),
        "MYSQL_PORT": str(mysql_server["port"]),
        "MYSQL_USER": str(mysql_server["user"]),
        "MYSQL_PASSWORD": str(mysql_server["password"]),
        "MYSQL_DATABASE": database,
        "LAKE_ROOT": lake_root,
        "LAKE_START_DATE": "2025-12-01",
    }


def materialize_range(
    env: dict[str, str], first: dt.date, last: dt.date, *, with_dg: bool = False
) -> None:
    """The contract's `dagster asset materialize … --partition-range`, or the `dg launch` that
    Dagster 1.13 recommends instead (the project's `[tool.dg]` tells it the code location)."""
    command = (
        [
            str(Path(sys.executable).parent / "dg"),
            "launch",
            "--target-path",
            str(REPO),
            "--assets",
            ASSETS,
        ]
        if with_dg
        else [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "lake_assets.definitions",
            "--select",
            ASSETS,
        ]
    )
    proc = subprocess.run(
        [*command, "--partition-range", f"{first}...{last}"],
        env=env,
        cwd=env["DAGSTER_HOME"],  # not the repository: Dagster's CLI loads ./.env over env
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


def expected_per_day(conn: pymysql.Connection) -> dict[str, tuple[int, int, Counter]]:
    """raw rows, readings and quarantine reasons per day, by the reference decoder."""
    out: dict[str, tuple[int, int, Counter]] = {}
    with conn.cursor() as cur:
        cur.execute("SELECT date_start, encoded FROM reports ORDER BY id")
        for day, encoded in cur.fetchall():
            key = day.strftime("%Y%m%d")
            rows, readings, reasons = out.get(key, (0, 0, Counter()))
            result = reference.decode(encoded)
            if isinstance(result, str):
                reasons[result] += 1
            else:
                readings += len(result)
            out[key] = (rows + 1, readings, reasons)
    return out


@pytest.mark.mysql
@pytest.mark.cli
def test_cli_range_run_matches_the_source_day_by_day(
    mysql_server: dict, source_db: str, source_conn: pymysql.Connection, tmp_path: Path
) -> None:
    replace_days(source_conn, DAYS, devices=6)
    lake_root = str(tmp_path / "lake")
    env = dagster_env(mysql_server, source_db, lake_root, tmp_path / "dagster_home")

    materialize_range(env, DAYS[0], DAYS[-1])
    # idempotent: a second run changes nothing (launched with `dg launch` this time)
    materialize_range(env, DAYS[0], DAYS[-1], with_dg=True)

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
    assert len(runs) == 2, "each range is exactly one run"
    assert runs[0].tags["dagster/asset_partition_range_start"] == str(DAYS[0])

    expected = expected_per_day(source_conn)
    store = LocalStore(lake_root)
    catalog = DuckDBCatalogResource(path=f"{lake_root}/catalog.duckdb")
    _, table_rows = catalog.query("SELECT date, count(*) FROM reports GROUP BY 1 ORDER BY 1")
    assert dict(table_rows) == {d: readings for d, (_, readings, _) in expected.items()}
    for day in DAYS:
        key = day.strftime("%Y%m%d")
        rows, readings, reasons = expected[key]
        raw = read_manifest(store, DayPath(RAW, day))
        data = read_manifest(store, DayPath(DATA, day))
        quarantine = read_manifest(store, DayPath(QUARANTINE, day))
        assert raw and data and quarantine
        assert raw.rows == raw.stats["fingerprint"]["rows"] == rows
        assert data.rows == readings
        assert quarantine.stats["reasons"] == dict(reasons)
        for zone in (RAW, DATA, QUARANTINE):
            files = list(Path(lake_root, zone, "reports", f"date={key}").rglob("*.parquet"))
            assert len(files) == 1, f"{zone} {key}: only the current attempt remains"


@pytest.mark.mysql
@pytest.mark.cli
def test_cli_range_run_into_iceberg_matches_the_source_day_by_day(
    mysql_server: dict, source_db: str, source_conn: pymysql.Connection, tmp_path: Path
) -> None:
    """The same range run with LAKE_TABLE_FORMAT=iceberg, twice: the table holds each day's
    readings once, the second run's version; the first's stays readable by time travel."""
    from lake_assets.catalogs.iceberg import IcebergCatalogResource

    replace_days(source_conn, DAYS, devices=6)
    lake_root = str(tmp_path / "lake")
    env = dagster_env(mysql_server, source_db, lake_root, tmp_path / "dagster_home")
    env["LAKE_TABLE_FORMAT"] = "iceberg"
    materialize_range(env, DAYS[0], DAYS[-1])
    materialize_range(env, DAYS[0], DAYS[-1], with_dg=True)

    expected = expected_per_day(source_conn)
    catalog = IcebergCatalogResource(lake_root=lake_root)
    _, table_rows = catalog.query("SELECT date, count(*) FROM reports GROUP BY 1 ORDER BY 1")
    assert dict(table_rows) == {d: readings for d, (_, readings, _) in expected.items()}
    store = LocalStore(lake_root)
    table = catalog.table("reports")
    assert table is not None
    ops = [x.summary.operation.value for x in table.snapshots()]
    assert ops == ["append", "overwrite"], "two commits, one snapshot each"
    for day in DAYS:
        data = read_manifest(store, DayPath(DATA, day))
        assert data is not None
        date = day.strftime("%Y%m%d")
        assert catalog.published_by("reports", date)["attempt"] == data.attempt
        assert len(catalog.retained_attempts("reports", date)) == 2  # this run's and the first's
