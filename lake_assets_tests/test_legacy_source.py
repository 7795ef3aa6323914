"""A legacy source on the real MariaDB: zero dates in NOT NULL and nullable DATETIME columns
(accepted under sql_mode=''), all-zero and partly zero (a zero year, month or day), which the
lake holds as null, counted per column, with the
raw zone's checksum agreeing with the server's; and BIGINT UNSIGNED ids at and above 2^63."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pymysql
import pytest
from dagster import DagsterInstance, materialize

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.codec.encode import encode_report
from lake_assets.defs.reports import reconcile
from lake_assets.defs.resources import lake_resource
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import RAW, DayPath, read_decoded, read_manifest
from lake_assets.source.client import MySQLResource
from lake_assets_tests.report_defs import (
    ALL_CHECKS,
    decoded_reports,
    raw_matches_source,
    raw_reports,
    reports_table,
)

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
            (4, "2024-00-15 00:00:00", "2024-01-00 10:00:00"),  # a zero month, a zero day
            (5, "0000-01-01 00:00:00", "2024-00-00 23:59:59.999"),  # year 0; both zero
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
            "lake": lake_resource(root),
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
    assert manifest.stats["zero_dates"] == {"created_at": 3, "updated_at": 4}
    [m] = result.asset_materializations_for_node("raw_reports")
    assert m.metadata["zero_dates_to_null"].value == manifest.stats["zero_dates"]
    logged = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("'updated_at': 4" in line for line in logged), "the run log says so"
    import pyarrow.parquet as pq

    table = pq.read_table(Path(root, manifest.files[0].key))
    assert table.column("updated_at").null_count == 4 + nullable_updated_at
    assert table.column("created_at").null_count == 3
    assert reconcile.raw_matches_source(store, DAY).passed


def test_ids_at_and_above_2_63_reach_the_table_exactly(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, tmp_path: Path
) -> None:
    good = encode_report(1767225600, 60, [1, 2], [[2000, 4000]])
    ids = [2**63 - 1, 2**63, 2**64 - 2]
    with source_conn.cursor() as cur:
        for i in ids:
            cur.execute(
                "INSERT INTO reports (id, device_id, date_start, created_at, encoded)"
                " VALUES (%s, 1, %s, NOW(3), %s)",
                (i, DAY, good if i != 2**63 else "not base64"),
            )
    root = str(tmp_path / "lake")
    catalog = DuckDBCatalogResource(path=f"{root}/catalog.duckdb")
    result = materialize(
        [raw_reports, decoded_reports, reports_table, *ALL_CHECKS],
        resources={"mysql": mysql_resource, "lake": lake_resource(root), "catalog": catalog},
        partition_key=str(DAY),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    assert all(
        e.passed for e in result.get_asset_check_evaluations() if e.check_name != "quarantine_rate"
    )
    _, rows = catalog.query("SELECT DISTINCT report_id FROM reports ORDER BY 1")
    assert [int(r[0]) for r in rows] == [2**63 - 1, 2**64 - 2]
    decoded = read_decoded(LocalStore(root), DAY)
    [q_file] = decoded[1].files
    import pyarrow.parquet as pq

    quarantined = pq.read_table(Path(root, q_file.key)).column("report_id").to_pylist()
    assert [int(i) for i in quarantined] == [2**63]
