"""deploy/dagster.yaml against the real PostgreSQL: the instance's runs, events, schedules and
pools live in the database named by DAGSTER_PG_*, a run of the project is recorded there with
its per-day materializations, and a second instance on the same database sees it all."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg2
import pytest
from dagster import AssetKey, DagsterInstance

from lake_assets.defs.pools import POOLS, Pool, ensure_pools
from lake_assets_tests.conftest import REPO, materialize_days
from lake_assets_tests.defs.reports.test_pipeline import DAYS, canned, resources
from lake_assets_tests.deploy.conftest import PG, pg_env
from lake_assets_tests.report_defs import decoded_reports, raw_reports, reports_table


def test_the_production_instance_keeps_everything_in_postgres(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for name, value in pg_env(pg_database).items():
        monkeypatch.setenv(name, value)
    lake_root = str(tmp_path / "lake")
    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
        result = materialize_days(
            [raw_reports, decoded_reports, reports_table],
            resources(lake_root, canned(DAYS, reports=2)),
            DAYS[0],
            DAYS[-1],
            instance=instance,
        )
        assert result.success
    with psycopg2.connect(dbname=pg_database, **PG) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone() == (1,)
    # Another process (the webserver, the daemon) on the same database sees the same state.
    with DagsterInstance.from_config(str(home)) as other:
        [run] = other.get_runs()
        assert run.run_id == result.run_id and run.is_success
        records = other.fetch_materializations(AssetKey("decoded_reports"), limit=10).records
        assert sorted(r.partition_key for r in records) == DAYS


def test_the_pools_are_created_once_at_the_default_limit(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lake-assets pools` on a new instance: both pools exist before any run, following
    `pools.default_limit` (2), so no two runs ever race to create one."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for name, value in pg_env(pg_database).items():
        monkeypatch.setenv(name, value)
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.event_log_storage.get_pool_limits() == []
        created = ensure_pools(instance)
        assert created == [Pool(p, 2, True) for p in POOLS]
        assert ensure_pools(instance) == created
        # what a step's claim looks at: the pool is there, from the default
        info = instance.event_log_storage.get_concurrency_info("mysql_extract")
        assert info.slot_count == 2
