"""kill -9 of a run started by `dagster asset materialize` (no code server watches it): the run
stays STARTED until lake_dead_runs marks it failed, and the failure is alerted."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    build_run_status_sensor_context,
    build_sensor_context,
)

from lake_assets.defs.automation.dead_runs import HOST, PID, dead_runs, lake_dead_runs
from lake_assets.defs.automation.late_data import days_in_flight
from lake_assets_tests.defs.automation.test_alerts import webhook  # noqa: F401
from lake_assets_tests.report_defs import alert_sensors
from lake_assets_tests.test_bad_settings import silent_server


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def wait_for(condition, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def started_run(home: Path):
    """The run once its step has tagged it with its process (polled, not slept for)."""
    found: list = []

    def tagged() -> bool:
        with DagsterInstance.from_config(str(home)) as instance:
            found[:] = [r for r in instance.get_runs() if PID in r.tags]
        return bool(found)

    wait_for(tagged, timeout_s=90)
    return found[0]


def start_cli_run(env: dict[str, str]) -> subprocess.Popen:
    """`dagster asset materialize` of one day; with a silent source it waits in its step."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "dagster", "asset", "materialize"),
            *("-m", "lake_assets.definitions", "--select", "raw_reports"),
            *("--partition", "2026-01-01"),
        ],
        env=env,
        cwd=env["DAGSTER_HOME"],  # not the repository: Dagster's CLI loads ./.env over env
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.cli
def test_a_killed_cli_run_is_marked_failed_and_alerted(
    tmp_path: Path,
    lake_root: str,
    webhook: tuple[str, list[dict]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    url, received = webhook
    with silent_server() as port:  # the step waits on a stalled source: a run in progress
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "LAKE_ROOT": lake_root,
            "MYSQL_PORT": str(port),
            "MYSQL_READ_TIMEOUT_S": "600",
        }
        proc = start_cli_run(env)
        run = started_run(home)
        assert int(run.tags[PID]) == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    monkeypatch.setenv("LAKE_ALERT_WEBHOOK_URL", url)
    monkeypatch.delenv("LAKE_ALERT_SNS_TOPIC_ARN", raising=False)
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED
        assert dt.date(2026, 1, 1) in days_in_flight(instance), "held by a dead run"
        assert [r.run_id for r in dead_runs(instance, run.tags[HOST])] == [run.run_id]
        lake_dead_runs(build_sensor_context(instance=instance))
        assert days_in_flight(instance) == set(), "the late-data sensor may ask for it again"
        failed = instance.get_run_by_id(run.run_id)
        assert failed.status == DagsterRunStatus.FAILURE
        [event] = [
            r.dagster_event
            for r in instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        ]
        context = build_run_status_sensor_context(
            sensor_name="lake_failure_alerts",
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=failed,
        ).for_run_failure()
        alert_sensors().failures(context)
        assert dead_runs(instance, run.tags[HOST]) == [], "and only once"
    [alert] = received
    assert "days: 2026-01-01" in alert["text"] and f"process {proc.pid}" in alert["text"]


@pytest.mark.daemon
def test_under_the_daemon_a_killed_run_is_failed_and_alerted_in_bounded_time(
    tmp_path: Path,
    lake_root: str,
    webhook: tuple[str, list[dict]],  # noqa: F811
) -> None:
    """The real thing: `dagster-daemon` ticks lake_dead_runs and lake_failure_alerts."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_monitoring:\n  enabled: true\n"
        "  poll_interval_seconds: 5\n  free_slots_after_run_end_seconds: 5\n"
    )
    url, received = webhook
    with silent_server() as port:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "LAKE_ROOT": lake_root,
            "MYSQL_PORT": str(port),
            "MYSQL_READ_TIMEOUT_S": "600",
            "LAKE_ALERT_WEBHOOK_URL": url,
        }
        env.pop("LAKE_ALERT_SNS_TOPIC_ARN", None)
        daemon = subprocess.Popen(
            [sys.executable, "-m", "dagster._daemon", "run", "-m", "lake_assets.definitions"],
            env=env,
            cwd=env["DAGSTER_HOME"],  # not the repository: Dagster's CLI loads ./.env over env
            stdout=(tmp_path / "daemon.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            # a run-status sensor starts from its first tick: kill only once it has had one
            wait_for(lambda: "Initiating lake_failure_alerts" in read(tmp_path / "daemon.log"))
            proc = start_cli_run(env)
            run = started_run(home)
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            proc.wait(30)
            wait_for(lambda: bool(received), timeout_s=150)
            took = time.monotonic() - killed_at
        finally:
            daemon.terminate()
            daemon.wait(60)
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    [alert] = received
    assert f"process {proc.pid}" in alert["text"]
    assert took < 150, "failed and alerted within two sensor intervals and the daemon's start"
