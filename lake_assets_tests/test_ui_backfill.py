"""The UI path, for real: `dg dev` (webserver + daemon) on a free local port, a 3-day
backfill of the three assets launched through the webserver's GraphQL API (what the
Materialize button sends), completing as ONE run, with the schedule and sensors listed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest

from lake_assets.backfill import BackfillError, Webserver
from lake_assets.demo.seed import replace_days
from lake_assets_tests.conftest import REPO
from lake_assets_tests.fast_daemon.sitecustomize import FOLDER as FAST_DAEMON
from lake_assets_tests.fast_daemon.sitecustomize import MARK as FAST_DAEMON_MARK
from lake_assets_tests.test_cli_range_run import dagster_env

# The dev server runs in the project, where Dagster loads `.env` over the environment; `make
# demo` writes LAKE_START_DATE there (a week before yesterday), so the days are recent ones.
_YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
DAYS = [_YESTERDAY - dt.timedelta(days=i) for i in (2, 1, 0)]

ASSETS = ["raw_reports", "decoded_reports", "reports_table"]
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}"""
STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 10) { runId status tags { key value } } }
  }
}"""
AUTOMATION = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name scheduleState { status } }
    sensors { name sensorState { status } }
    assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } }
} } } }"""


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    """The webserver's GraphQL API, as `lake-assets backfill` calls it (errors raise)."""
    return Webserver(f"http://127.0.0.1:{port}").graphql(query, variables)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.mysql
@pytest.mark.webserver
@pytest.mark.daemon
def test_backfill_launched_from_the_ui_runs_as_one_run(
    mysql_server: dict, source_db: str, source_conn: pymysql.Connection, tmp_path: Path
) -> None:
    replace_days(source_conn, DAYS, devices=3)
    env = dagster_env(mysql_server, source_db, str(tmp_path / "lake"), tmp_path / "home")
    env["PYTHONPATH"] = FAST_DAEMON  # the backfill daemon ticks every 2 s, not 30
    port = free_port()
    log = open(tmp_path / "dagster-dev.log", "w")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        # `dg dev`, as Dagster 1.13 recommends (`make dev` runs `dagster dev -w workspace.yaml`,
        # the same webserver and daemon over the same code location)
        [
            str(Path(sys.executable).parent / "dg"),
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--target-path",
            str(REPO),
        ],
        # Dagster's dev server loads `.env` from its working directory over the environment;
        # a developer's `.env` (`make demo` writes one) must not change the test's settings.
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                repos = graphql(port, AUTOMATION)["repositoriesOrError"]["nodes"]
                break
            except BackfillError:  # not up yet
                assert server.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the webserver did not come up"
                time.sleep(1)
        [repo] = repos
        assert {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]} == {
            "daily_reports_schedule": "STOPPED",
            "freshness_schedule": "STOPPED",
        }
        assert {s["name"] for s in repo["sensors"]} >= {
            "late_reports_sensor",
            "lake_failure_alerts",
            "lake_alert_retries",
            "lake_dead_runs",
        }
        checks = {
            n["assetKey"]["path"][0]: {c["name"] for c in n["assetChecksOrError"]["checks"]}
            for n in repo["assetNodes"]
        }
        assert checks["raw_reports"] == {"raw_matches_source"}

        launched = graphql(
            port,
            LAUNCH,
            {
                "params": {
                    "partitionNames": [str(d) for d in DAYS],
                    "assetSelection": [{"path": [a]} for a in ASSETS],
                    "fromFailure": False,
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        deadline = time.monotonic() + 300
        while True:
            backfill = graphql(port, STATUS, {"id": launched["backfillId"]})[
                "partitionBackfillOrError"
            ]
            if backfill["status"] in (
                "COMPLETED_SUCCESS",
                "COMPLETED",
                "COMPLETED_FAILED",
                "FAILED",
                "CANCELED",
            ):
                break
            assert time.monotonic() < deadline, backfill
            time.sleep(2)
        assert backfill["status"] in ("COMPLETED_SUCCESS", "COMPLETED"), backfill
        [run] = backfill["runs"]
        assert run["status"] == "SUCCESS"
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/asset_partition_range_start"] == str(DAYS[0])
        assert tags["dagster/asset_partition_range_end"] == str(DAYS[-1])
        # and the daemon it ran under was the 2 s one (FAST_DAEMON)
        assert FAST_DAEMON_MARK in (tmp_path / "dagster-dev.log").read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
