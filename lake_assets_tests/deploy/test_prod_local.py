"""`make prod-local` for real: scripts/prod-local brings up the code server (gRPC), the
webserver and the daemon on a fresh PostgreSQL database; `lake-assets backfill` submits
backfills that the daemon splits into runs of LAKE_BACKFILL_DAYS_PER_RUN days; a run killed
with SIGKILL is marked failed and alerted, and a second backfill completes its days; the
schedule and the late-data sensor tick; Ctrl-C stops every process.

The tests of this module share one stack (starting it takes ~15 s) and run in order (the
schedule fires first, a minute or two after the stack starts); each works on its own days."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from lake_assets.backfill import Webserver, follow
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.core.run_tags import PID
from lake_assets.demo.seed import ensure_schema, replace_days
from lake_assets_tests.conftest import REPO, mysql_params
from lake_assets_tests.defs.automation.test_alerts import webhook_server
from lake_assets_tests.deploy.conftest import fresh_database, pg_env
from lake_assets_tests.fast_daemon.sitecustomize import FOLDER as FAST_DAEMON
from lake_assets_tests.fast_daemon.sitecustomize import MARK as FAST_DAEMON_MARK
from lake_assets_tests.test_cli_range_run import expected_per_day
from lake_assets_tests.test_ui_backfill import free_port

# one stack for the module's tests: on one worker (`--dist loadgroup`), started once
pytestmark = [
    pytest.mark.mysql,
    pytest.mark.webserver,
    pytest.mark.daemon,
    pytest.mark.xdist_group("prod_local"),
]

BIN = Path(sys.executable).parent
BACKFILL = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(6)]
KILLED = [dt.date(2026, 1, 10), dt.date(2026, 1, 11)]
SELECTOR = {"repositoryLocationName": "lake_assets", "repositoryName": "__repository__"}


@dataclass
class Stack:
    env: dict[str, str]
    web: Webserver
    source: str  # the MySQL database
    lake_root: str
    log: Path
    alerts: list[dict]
    schedule_at: dt.datetime  # UTC, when daily_reports_schedule fires

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(self.env["DAGSTER_HOME"])

    def connect(self) -> pymysql.Connection:
        return pymysql.connect(**mysql_params(), database=self.source, autocommit=True)  # type: ignore[arg-type]

    def tail(self) -> str:
        return self.log.read_text()[-4000:]


def wait_for(condition, timeout_s: float, what: str, stack: Stack | None = None):
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out: {what}\n{stack.tail() if stack else ''}"
        time.sleep(0.5)
    return result


def lake_backfill(stack: Stack, first: dt.date, last: dt.date, *extra: str):
    return subprocess.run(
        [str(BIN / "lake-assets"), "backfill", str(first), str(last), *extra],
        env=stack.env,
        cwd=stack.env["DAGSTER_HOME"],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, mysql_server: dict) -> Iterator[Stack]:
    # one stack per session: were this module's tests split over workers or interleaved with
    # others (pytest-xdist's grouping broke once, silently), a second stack would start here
    session_tmp = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        session_tmp = session_tmp.parent  # shared by the session's workers
    started = session_tmp / "prod-local-stack-started"
    assert not started.exists(), f"a second prod-local stack (the first: {started.read_text()})"
    started.write_text(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    tmp = tmp_path_factory.mktemp("prod")
    source = f"lake_test_{os.getpid()}_prod"
    admin = pymysql.connect(**mysql_server, autocommit=True)
    ensure_schema(admin, source)
    # The daily schedule fires at a minute in the near future (UTC), so the daemon ticks it.
    schedule_at = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).replace(second=0)
    if schedule_at.time() >= dt.time(23, 59):  # LAKE_FRESHNESS_DEADLINE (23:59) must be later
        schedule_at += dt.timedelta(minutes=2)
    with (
        fresh_database() as database,
        webhook_server() as (hook, alerts),
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
        for name, value in pg_env(database).items():  # for the test's own DagsterInstance
            monkeypatch.setenv(name, value)
        port = free_port()
        env = {
            **os.environ,
            **pg_env(database),
            "DAGSTER_HOME": str(tmp / "home"),
            "DAGSTER_CODE_SERVER_PORT": str(free_port()),
            "LAKE_WEBSERVER_PORT": str(port),
            "DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}",
            "MYSQL_HOST": str(mysql_server["host"]),
            "MYSQL_PORT": str(mysql_server["port"]),
            "MYSQL_USER": str(mysql_server["user"]),
            "MYSQL_PASSWORD": str(mysql_server["password"]),
            "MYSQL_DATABASE": source,
            "LAKE_ROOT": str(tmp / "lake"),
            "LAKE_START_DATE": "2025-12-01",
            "LAKE_BACKFILL_DAYS_PER_RUN": "2",
            "LAKE_ALERT_WEBHOOK_URL": hook,
            "LAKE_SCHEDULE_TIME": f"{schedule_at:%H:%M}",
            "LAKE_FRESHNESS_DEADLINE": "23:59",
            "LAKE_LATE_SENSOR_INTERVAL_S": "30",
            "LAKE_RETRY_MAX": "0",
            # the backfill daemon's cadence, 2 s instead of 30 (fast_daemon/sitecustomize.py)
            "PYTHONPATH": FAST_DAEMON,
        }
        env.pop("LAKE_COPIES", None)
        log = tmp / "prod-local.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(REPO / "scripts" / "prod-local")],
                env=env,
                cwd=tmp,  # Dagster loads ./.env over the environment: not the repository's
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack = Stack(
            env,
            Webserver(env["DAGSTER_WEBSERVER_URL"]),
            source,
            env["LAKE_ROOT"],
            log,
            alerts,
            schedule_at,
        )
        try:
            wait_for(
                lambda: "prod-local: ready" in log.read_text() or proc.poll() is not None,
                180,
                "ready",
            )
            assert proc.poll() is None, stack.tail()
            wait_for(lambda: FAST_DAEMON_MARK in log.read_text(), 60, "the fast daemon", stack)
            pool = subprocess.run(
                [str(BIN / "dagster"), "instance", "concurrency", "set", "mysql_extract", "1"],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            assert pool.returncode == 0, pool.stderr
            for kind, name in (
                ("Schedule", "daily_reports_schedule"),
                ("Sensor", "late_reports_sensor"),
            ):
                started = stack.web.graphql(
                    f"mutation($s: {kind}Selector!) "
                    f"{{ start{kind}({kind.lower()}Selector: $s) {{ __typename }} }}",
                    {"s": {**SELECTOR, f"{kind.lower()}Name": name}},
                )
                assert started[f"start{kind}"]["__typename"] in ("ScheduleStateResult", "Sensor"), (
                    started
                )
            yield stack
        finally:
            tree = descendants(proc.pid)
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            # Dagster's code server stops "once all current RPC calls terminate or 60 seconds
            # pass": on a loaded machine a daemon's call can be in flight, so wait past that
            proc.wait(timeout=120)
            admin.cursor().execute(f"DROP DATABASE IF EXISTS `{source}`")
            admin.close()
            wait_for(lambda: not any(map(running, tree)), 30, "the stack's processes to exit")
            assert "prod-local: stopped" in log.read_text()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier]
        found += children
        frontier = children
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def backfill_runs(instance: DagsterInstance, backfill_id: str) -> list[DagsterRun]:
    return list(instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id})))


def backfill_id_of(output: str) -> str:
    first = output.splitlines()[0]
    assert first.startswith("backfill "), output
    return first.split()[1].rstrip(":")


def assert_lake_matches_source(stack: Stack, days: list[dt.date]) -> None:
    with stack.connect() as conn:
        expected = expected_per_day(conn)
    catalog = DuckDBCatalogResource(path=f"{stack.lake_root}/catalog.duckdb")
    keys = [f"{d:%Y%m%d}" for d in days]
    _, rows = catalog.query(
        "SELECT date, count(*) FROM reports "
        f"WHERE date IN ({', '.join(repr(k) for k in keys)}) GROUP BY 1"
    )
    assert dict(rows) == {k: expected[k][1] for k in keys}


def test_the_schedule_and_the_late_data_sensor_tick_under_the_daemon(stack: Stack) -> None:
    def ticks(kind: str, name: str) -> list[dict]:
        data = stack.web.graphql(
            f"query($s: {kind}Selector!) {{ {kind.lower()}OrError({kind.lower()}Selector: $s) {{"
            f" ... on {kind} {{ {kind.lower()}State {{ ticks(limit: 10) {{ status runIds }} }} }}"
            " } }",
            {"s": {**SELECTOR, f"{kind.lower()}Name": name}},
        )
        return data[f"{kind.lower()}OrError"][f"{kind.lower()}State"]["ticks"]

    wait_for(
        lambda: ticks("Sensor", "late_reports_sensor"), 120, "a tick of the late-data sensor", stack
    )
    remaining = (stack.schedule_at - dt.datetime.now(dt.UTC)).total_seconds()
    [tick] = wait_for(
        lambda: [
            t for t in ticks("Schedule", "daily_reports_schedule") if t["status"] == "SUCCESS"
        ],
        max(remaining, 0) + 120,
        "the schedule's tick",
        stack,
    )
    [run_id] = tick["runIds"]
    with stack.instance() as instance:
        run = wait_for(
            lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r,
            300,
            "the scheduled run",
            stack,
        )
        # what went wrong, if it did: each failed step's error, each failed check's verdict
        logs = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]
        failures = [
            e.step_failure_data.error.to_string()[-1500:] for e in logs if e.is_step_failure
        ]
        failures += [
            e.event_specific_data.description
            for e in logs
            if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
        ]
    assert run.status == DagsterRunStatus.SUCCESS, failures
    yesterday = (stack.schedule_at - dt.timedelta(days=1)).date()
    assert run.tags["dagster/partition"] == str(yesterday)


def extract_starts(instance: DagsterInstance, runs: list[DagsterRun]) -> dict[str, float]:
    """When each run's extract step (raw_reports) started."""
    return {
        run.run_id: entry.timestamp
        for run in runs
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
        if entry.step_key == "raw_reports"
    }


def test_a_backfill_under_the_daemon_runs_in_runs_of_n_days_one_extract_at_a_time(
    stack: Stack,
) -> None:
    with stack.connect() as conn:
        replace_days(conn, BACKFILL, devices=3)
    with stack.connect() as lock, stack.instance() as instance:
        # While `reports` is write-locked, an extract that got in waits in its step. The pool
        # (mysql_extract = 1) must keep the other two runs out: the queue holds them back.
        lock.cursor().execute("LOCK TABLES reports WRITE")
        submitted = lake_backfill(stack, BACKFILL[0], BACKFILL[-1])
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        backfill_id = backfill_id_of(submitted.stdout)
        assert f"{stack.env['DAGSTER_WEBSERVER_URL']}/runs/b/{backfill_id}" in submitted.stdout

        def first_extract_for_a_while() -> dict[str, float] | None:
            starts = extract_starts(instance, backfill_runs(instance, backfill_id))
            return starts if starts and time.time() - min(starts.values()) > 15 else None

        [in_step] = wait_for(first_extract_for_a_while, 240, "an extract step", stack)
        runs = backfill_runs(instance, backfill_id)
        assert len(runs) == 3 and in_step in {r.run_id for r in runs}
        held = [r.status for r in runs if r.run_id != in_step]
        assert held == [DagsterRunStatus.QUEUED] * 2, held
        lock.cursor().execute("UNLOCK TABLES")

        progress = follow(stack.web, backfill_id, print, poll_s=1)
        assert progress.succeeded, progress
        assert str(progress) == "3 run(s) done, 0 failed, 0 in flight (completed_success)"
        runs = backfill_runs(instance, backfill_id)
        assert sorted(
            (
                r.tags["dagster/asset_partition_range_start"],
                r.tags["dagster/asset_partition_range_end"],
            )
            for r in runs
        ) == [(str(BACKFILL[i]), str(BACKFILL[i + 1])) for i in (0, 2, 4)]
        assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        assert all("dagster/partition" not in r.tags for r in runs)
        # and from the event log: no two extract steps of the deployment ever overlapped
        spans = []
        for run in instance.get_runs():
            ends = {
                DagsterEventType.STEP_START,
                DagsterEventType.STEP_SUCCESS,
                DagsterEventType.STEP_FAILURE,
            }
            times = [
                e.timestamp
                for e in instance.all_logs(run.run_id, of_type=ends)
                if e.step_key == "raw_reports"
            ]
            if times:
                spans.append((min(times), max(times)))
    spans.sort()
    assert len(spans) >= 3
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans)), spans
    assert_lake_matches_source(stack, BACKFILL)


def test_a_killed_run_is_marked_failed_alerted_and_its_days_backfilled_again(stack: Stack) -> None:
    with stack.connect() as conn:
        replace_days(conn, KILLED, devices=3)
    with stack.connect() as lock, stack.instance() as instance:
        lock.cursor().execute("LOCK TABLES reports WRITE")  # the run stays in its extract step
        waiting = subprocess.Popen(
            [
                str(BIN / "lake-assets"),
                "backfill",
                str(KILLED[0]),
                str(KILLED[-1]),
                "--wait",
                "--poll",
                "1",
            ],
            env=stack.env,
            cwd=stack.env["DAGSTER_HOME"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        run = wait_for(
            lambda: next(
                (r for r in instance.get_runs() if PID in r.tags and not r.is_finished), None
            ),
            180,
            "the run to start its step",
            stack,
        )
        os.kill(int(run.tags[PID]), signal.SIGKILL)
        lock.cursor().execute("UNLOCK TABLES")
        # The code server that launched it notices its death and marks it failed.
        failed = wait_for(
            lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r,
            60,
            "the killed run to be marked finished",
            stack,
        )
        assert failed.status == DagsterRunStatus.FAILURE
        assert failed.tags["dagster/asset_partition_range_start"] == str(KILLED[0])
    # `--wait` follows the backfill to its end and says it failed
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 1, out + err
    assert "0 run(s) done, 1 failed, 0 in flight (completed_failed)" in out, out
    assert "did not succeed" in err
    alert = wait_for(
        lambda: next((a for a in stack.alerts if run.run_id in a["text"]), None),
        120,
        "the alert",
        stack,
    )
    assert f"days: {KILLED[0]}…{KILLED[-1]}" in alert["text"]

    again = lake_backfill(stack, KILLED[0], KILLED[-1], "--wait", "--poll", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 run(s) done, 0 failed, 0 in flight (completed_success)" in again.stdout
    assert_lake_matches_source(stack, KILLED)
