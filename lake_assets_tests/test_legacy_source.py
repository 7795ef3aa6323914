"""A legacy source on the real MariaDB: zero dates in NOT NULL and nullable DATETIME columns
(accepted under sql_mode=''), which the lake holds as null, counted per column, with the
raw zone's checksum agreeing with the server's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pymysql
import pytest
from dagster import DagsterInstance, materialize

from lake_assets.assets import raw_reports
from lake_assets.checks import reconcile
from lake_assets.checks.checks import raw_matches_source
from lake_assets.codec.encode import encode_report
from lake_assets.resources.duckdb_catalog import DuckDBCatalogResource
from lake_assets.resources.lake import LakeResource, LocalStore
from lake_assets.resources.mysql import MySQLResource
from lake_assets.zones import RAW, DayPath, read_manifest

pytestmark = pytest.mark.mysql
DAY = dt.date(2026, 1, 1)


def fill_legacy_day(conn: pymysql.Connection, nullable_updated_at: bool) -> None:
    encoded = encode_report(1767225600, 60, [1], [[2000]])
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # what legacy servers run with
        if nullable_updated_at:
            cur.execute("ALTER TABLE reports MODIFY updated_at DATETIME(3) NULL")
        rows = [
            (1, "2026-01-01 00:10:00.123", "2026-01-01 00:10:00.123"),
            (2, "0000-00-00 00:00:00", "0000-00-00 00:00:00"),
            (3, "2026-01-01 00:30:00", "0000-00-00 00:00:00"),
        ]
        for device, created, updated in rows:
            cur.execute(
                "INSERT INTO reports (device_id, date_start, created_at, updated_at, encoded)"
                " VALUES (%s, %s, %s, %s, %s)",
                (device, DAY, created, updated, encoded),
            )
        if nullable_updated_at:
            cur.execute(
                "INSERT INTO reports (device_id, date_start, created_at, updated_at, encoded)"
                " VALUES (4, %s, '2026-01-01 00:40:00', NULL, %s)",
                (DAY, encoded),
            )


@pytest.mark.parametrize("nullable_updated_at", [False, True], ids=["not_null", "nullable"])
def test_zero_dates_become_counted_nulls_and_the_checksum_agrees(
    source_conn: pymysql.Connection,
    mysql_resource: MySQLResource,
    tmp_path: Path,
    nullable_updated_at: bool,
) -> None:
    fill_legacy_day(source_conn, nullable_updated_at)
    root = str(tmp_path / "lake")
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [raw_reports, raw_matches_source],
        resources={
            "mysql": mysql_resource,
            "lake": LakeResource(root=root),
            "catalog": DuckDBCatalogResource(path=f"{root}/catalog.duckdb"),
        },
        partition_key=str(DAY),
        instance=instance,
        raise_on_error=False,
    )
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.description
    store = LocalStore(root)
    manifest = read_manifest(store, DayPath(RAW, DAY))
    assert manifest.stats["zero_dates"] == {"created_at": 1, "updated_at": 2}
    [m] = result.asset_materializations_for_node("raw_reports")
    assert m.metadata["zero_dates_to_null"].value == {"20260101": manifest.stats["zero_dates"]}
    logged = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("'updated_at': 2" in line for line in logged), "the run log says so"
    import pyarrow.parquet as pq

    table = pq.read_table(Path(root, manifest.files[0].key))
    assert table.column("updated_at").null_count == 2 + nullable_updated_at
    assert reconcile.raw_matches_source(store, DAY).passed
