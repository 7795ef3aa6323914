"""late_reports_sensor against the real MariaDB: exactly the extracted, idle days whose
published version is not the source's are requested, contiguous days as one range run; the
cursor stops repeats until a backoff, so a failed run's days are asked again; and running the
request re-extracts the day with no manual step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pymysql
import pytest
from dagster import (
    DagsterRun,
    DagsterRunStatus,
    build_sensor_context,
    instance_for_test,
    materialize,
)

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.defs.automation.late_data import (
    Asked,
    ask,
    contiguous_ranges,
    days_to_request,
    load_cursor,
)
from lake_assets.defs.reports.late import fingerprint_key
from lake_assets.defs.resources import lake_resource
from lake_assets.demo.seed import replace_days
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import RAW, DayPath, read_manifest
from lake_assets.source.client import MySQLResource
from lake_assets_tests.report_defs import (
    decoded_reports,
    late_reports_sensor,
    raw_reports,
    reports_table,
)

YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
DAYS = [YESTERDAY - dt.timedelta(days=i) for i in (4, 3, 2, 1, 0)]  # all in the 7-day window


def resources(mysql: MySQLResource, lake_root: str) -> dict[str, object]:
    return {
        "mysql": mysql,
        "lake": lake_resource(lake_root),
        "catalog": DuckDBCatalogResource(path=str(Path(lake_root, "catalog.duckdb"))),
    }


def evaluate(instance, mysql: MySQLResource, lake_root: str, cursor: str | None = None):
    with build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources=resources(mysql, lake_root),
    ) as context:
        return late_reports_sensor(context)


def test_pure_decision_rules() -> None:
    d1, d2, d3 = (dt.date(2026, 1, i) for i in (1, 2, 3))
    fp = fingerprint_key({"rows": 1, "max_updated_at": "x", "checksum": 5})
    changed = fingerprint_key({"rows": 1, "max_updated_at": "x", "checksum": 6})
    source = {d1: fp, d2: changed}  # d3's rows were all deleted
    published = {d1: fp, d2: fp, d3: fp}

    def decide(asked: dict, busy: set, now: float, published: dict = published) -> list:
        return days_to_request(source, published, [d1, d2, d3], asked, busy, now, 900)

    assert decide({}, set(), 0) == [d2, d3]
    assert decide({}, {d2}, 0) == [d3], "busy days are left alone"
    assert decide({}, set(), 0, {d2: fp}) == [d1, d2, d3], "unpublished d1 is stale"
    asked = ask({}, [d2, d3], source, now=1000)
    assert asked[d2] == Asked(changed, 1, 1000)
    assert decide(asked, set(), 1000 + 899) == [], "asked for: quiet during the backoff"
    assert decide(asked, set(), 1000 + 900) == [d2, d3], "still changed after it: again"
    again = ask(asked, [d2], source, now=2000)
    assert again[d2].attempts == 2
    assert decide(again, set(), 2000 + 1799) == [d3], "the backoff doubles"
    assert contiguous_ranges([d3, d1, d2, dt.date(2026, 1, 7)]) == [
        (d1, d3),
        (dt.date(2026, 1, 7), dt.date(2026, 1, 7)),
    ]


@pytest.mark.mysql
def test_sensor_requests_changed_days_and_reextracts_them(
    mysql_resource: MySQLResource, source_conn: pymysql.Connection, lake_root: str
) -> None:
    replace_days(source_conn, DAYS, devices=2)
    assets = [raw_reports, decoded_reports, reports_table]
    with instance_for_test() as instance:
        assert materialize(
            assets,
            resources=resources(mysql_resource, lake_root),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": str(DAYS[0]),
                "dagster/asset_partition_range_end": str(DAYS[3]),
            },
        ).success
        # DAYS[4] (yesterday) was never extracted: the schedule owns it.
        first = evaluate(instance, mysql_resource, lake_root)
        assert first.run_requests == [], "nothing changed yet"

        with source_conn.cursor() as cur:  # a late row on DAYS[1], an update on DAYS[2]
            cur.execute(
                "INSERT INTO reports (device_id, date_start, created_at, encoded)"
                " SELECT device_id, date_start, created_at, encoded FROM reports"
                " WHERE date_start = %s LIMIT 1",
                (DAYS[1],),
            )
            cur.execute(
                "UPDATE reports SET encoded = encoded WHERE date_start = %s LIMIT 1", (DAYS[2],)
            )
            cur.execute(
                "UPDATE reports SET updated_at = updated_at + INTERVAL 1 SECOND"
                " WHERE date_start = %s LIMIT 1",
                (DAYS[2],),
            )
            cur.execute(
                "UPDATE reports SET encoded = 'x' WHERE date_start = %s LIMIT 1", (DAYS[4],)
            )
        result = evaluate(instance, mysql_resource, lake_root, first.cursor)
        [request] = result.run_requests
        assert request.tags["dagster/asset_partition_range_start"] == str(DAYS[1])
        assert request.tags["dagster/asset_partition_range_end"] == str(DAYS[2])

        again = evaluate(instance, mysql_resource, lake_root, result.cursor)
        assert again.run_requests == [], "the cursor remembers what was requested"
        asked = load_cursor(json.loads(result.cursor)["reports"])  # per watched table
        assert {d: a.attempts for d, a in asked.items()} == {DAYS[1]: 1, DAYS[2]: 1}
        # that run failed: once the backoff has passed, the days are asked for again
        stale = {d: Asked(a.target, a.attempts, a.at - 3600) for d, a in asked.items()}
        from lake_assets.defs.automation.late_data import dump_cursor

        retried = evaluate(
            instance, mysql_resource, lake_root, json.dumps({"reports": dump_cursor(stale)})
        )
        [request] = retried.run_requests
        assert request.tags["dagster/asset_partition_range_end"] == str(DAYS[2])
        assert load_cursor(json.loads(retried.cursor)["reports"])[DAYS[1]].attempts == 2

        running = DagsterRun(
            job_name="daily_reports_job",
            run_id="busy-run",
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": str(DAYS[1])},
        )
        instance.add_run(running)
        busy = evaluate(instance, mysql_resource, lake_root)  # fresh cursor
        [request] = busy.run_requests
        assert request.partition_key == str(DAYS[2]), "a day being materialized is not requested"
        # one day runs as its partition: the run queue's one-run-per-day limit applies to it
        assert "dagster/asset_partition_range_start" not in request.tags

        # Running the request re-extracts the changed days; then there is nothing to do.
        rows_before = read_manifest(LocalStore(lake_root), DayPath(RAW, DAYS[1])).rows
        assert materialize(
            assets,
            resources=resources(mysql_resource, lake_root),
            instance=instance,
            tags=dict(result.run_requests[0].tags),
        ).success
        assert read_manifest(LocalStore(lake_root), DayPath(RAW, DAYS[1])).rows == rows_before + 1
        instance.delete_run("busy-run")
        assert evaluate(instance, mysql_resource, lake_root).run_requests == []

        # A late row on DAYS[3] is extracted, but its decode or publish never happens: the raw
        # zone is current, the published day is not, and the sensor asks for it.
        with source_conn.cursor() as cur:
            cur.execute(
                "INSERT INTO reports (device_id, date_start, created_at, encoded)"
                " SELECT device_id, date_start, created_at, encoded FROM reports"
                " WHERE date_start = %s LIMIT 1",
                (DAYS[3],),
            )
        assert materialize(
            [raw_reports],
            resources=resources(mysql_resource, lake_root),
            instance=instance,
            partition_key=str(DAYS[3]),
        ).success
        [request] = evaluate(instance, mysql_resource, lake_root).run_requests
        assert request.partition_key == str(DAYS[3])


@pytest.mark.mysql
def test_a_changed_source_row_remakes_the_days_readings_and_rollup(
    mysql_server: dict,
    source_db: str,
    source_conn: pymysql.Connection,
    lake_root: str,
    tmp_path: Path,
) -> None:
    """The code location's own sensor and job, as the daemon would run them: a source row
    changed after its day was published gets the day's readings and its rollup re-made, the
    other days' left as they were."""

    from lake_assets.definitions import build_defs
    from lake_assets.defs.automation.jobs import DAILY_REPORTS_JOB
    from lake_assets.lake.zones import DATA
    from lake_assets.project import Project
    from lake_assets_tests.test_cli_range_run import dagster_env

    env = dagster_env(mysql_server, source_db, lake_root, tmp_path / "home")
    env.pop("LAKE_COPIES", None)
    defs = build_defs(Project.from_env({**env, "LAKE_TABLE_FORMAT": "hive"}))
    job = defs.resolve_job_def(DAILY_REPORTS_JOB)
    sensor = defs.resolve_sensor_def("late_reports_sensor")
    replace_days(source_conn, DAYS[:3], devices=2)
    store = LocalStore(lake_root)

    def rollups() -> dict[dt.date, str]:
        return {
            d: read_manifest(store, DayPath(DATA, d, "reports_daily")).attempt for d in DAYS[:3]
        }

    def means(day: dt.date) -> list[tuple]:
        catalog = DuckDBCatalogResource(path=str(Path(lake_root, "catalog.duckdb")))
        where = f"WHERE date = '{day:%Y%m%d}'"
        _, got = catalog.query(
            f"SELECT device_id, channel, readings, mean FROM reports_daily {where} ORDER BY ALL"
        )
        _, want = catalog.query(
            f"SELECT device_id, channel, count(value), avg(value) FROM reports {where}"
            " GROUP BY ALL ORDER BY ALL"
        )
        assert [g[:3] for g in got] == [w[:3] for w in want]
        assert [g[3] for g in got] == pytest.approx([w[3] for w in want], rel=1e-12)
        return got

    with instance_for_test() as instance:
        first_run = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": str(DAYS[0]),
                "dagster/asset_partition_range_end": str(DAYS[2]),
            },
        )
        assert first_run.success
        before, mean_before = rollups(), means(DAYS[1])

        with source_conn.cursor() as cur:  # one report of DAYS[1] now says something else
            cur.execute(
                "UPDATE reports r JOIN (SELECT encoded FROM reports WHERE date_start = %s"
                " ORDER BY id DESC LIMIT 1) o SET r.encoded = o.encoded,"
                " r.updated_at = r.updated_at + INTERVAL 1 SECOND"
                " WHERE r.date_start = %s ORDER BY r.id LIMIT 1",
                (DAYS[2], DAYS[1]),
            )
        with build_sensor_context(instance=instance, resources=defs.resources) as context:
            [request] = sensor(context).run_requests
        assert request.partition_key == str(DAYS[1])
        rerun = job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=dict(request.tags)
        )
        assert rerun.success
        after = rollups()
        assert after[DAYS[1]] != before[DAYS[1]], "the changed day's rollup is re-made"
        assert {d: after[d] for d in (DAYS[0], DAYS[2])} == {
            d: before[d] for d in (DAYS[0], DAYS[2])
        }
        assert means(DAYS[1]) != mean_before, "and it holds the new readings' figures"
        checks = [
            e
            for e in rerun.get_asset_check_evaluations()
            if e.check_name == "rollup_matches_readings"
        ]
        assert checks and all(e.passed for e in checks)
