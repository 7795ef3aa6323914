"""Faults where production has them: on the wire between the pipeline and the real MariaDB.

A TCP proxy (wire.py) resets, silences or holds a connection at a chosen byte of what the
server sends, or refuses connections; a second connection KILLs one from the server's side.
Each test first runs clean through the proxy to measure the bytes a run receives, then breaks
a second run at a fraction of them: the handshake, a snapshot's first queries, a day opened
ahead, the middle of a day's rows. The run must ride it out with its step retry, and every
day in the lake must then equal the source, row for row; when the fault outlasts the retries,
the run fails with one sentence and the last good version stays published.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
import pytest
from dagster import DagsterEventType

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.defs.resources import lake_resource
from lake_assets.demo.seed import replace_days, replace_devices, replace_events
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, RAW, DayPath, read_manifest
from lake_assets.settings import LakeSettings
from lake_assets.source.client import MySQLResource, SourceError
from lake_assets_tests.conftest import materialize_days
from lake_assets_tests.report_defs import copy_defs, raw_matches_source, raw_reports
from lake_assets_tests.wire import WireProxy

pytestmark = pytest.mark.mysql

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
READ_TIMEOUT_S = 1  # MYSQL_READ_TIMEOUT_S of the runs through the proxy: a stall costs this


@pytest.fixture
def proxy(mysql_server: dict[str, object]) -> Iterator[WireProxy]:
    wire = WireProxy(str(mysql_server["host"]), int(mysql_server["port"]))  # type: ignore[arg-type]
    yield wire
    wire.close()


def through(proxy: WireProxy, mysql_server: dict[str, object], database: str) -> MySQLResource:
    return MySQLResource(
        host="127.0.0.1",
        port=proxy.port,
        user=str(mysql_server["user"]),
        password=str(mysql_server["password"]),
        database=database,
        read_timeout_s=READ_TIMEOUT_S,
        connect_retry_s=5,
    )


def retries(result) -> int:
    return sum(e.event_type == DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)


def failure_message(result) -> str:
    [failure] = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    return failure.step_failure_data.user_failure_data.description


# -- raw_reports: a range run, cut anywhere --------------------------------------------------


def run_raw(mysql: MySQLResource, root: str):
    resources = {
        "mysql": mysql,
        "lake": lake_resource(root),
        "catalog": DuckDBCatalogResource(path=f"{root}/catalog.duckdb"),
    }
    return materialize_days(
        [raw_reports, raw_matches_source], resources, str(DAYS[0]), str(DAYS[-1])
    )


def source_rows(conn: pymysql.Connection, day: dt.date) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, device_id, encoded FROM reports WHERE date_start = %s ORDER BY id", (day,)
        )
        return [(int(i), int(d), e) for i, d, e in cur.fetchall()]


def lake_rows(root: str, day: dt.date) -> list[tuple]:
    manifest = read_manifest(LocalStore(root), DayPath(RAW, day))
    assert manifest is not None, f"{day} is published"
    table = pa.concat_tables(
        pq.read_table(Path(root, f.key), columns=["id", "device_id", "encoded"])
        for f in manifest.files
    )
    return sorted(
        (int(i), int(d), e)
        for i, d, e in zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True)
    )


def assert_lake_is_source(root: str, conn: pymysql.Connection) -> None:
    for day in DAYS:
        want = source_rows(conn, day)
        assert want, "the day has rows to lose"
        assert lake_rows(root, day) == want, f"{day}: the lake holds the source's rows once"


@pytest.fixture
def three_days(source_conn: pymysql.Connection) -> pymysql.Connection:
    replace_days(source_conn, DAYS, devices=20)  # ~0.5 MB of rows a day
    return source_conn


def measured(proxy: WireProxy, mysql: MySQLResource, root: str) -> int:
    """A clean run through the proxy: the bytes the server sends for the range."""
    before = proxy.down_bytes
    result = run_raw(mysql, root)
    assert result.success
    return proxy.down_bytes - before


# where in the server's bytes of a range run to cut: the first connection's handshake and
# session setup, a snapshot's first queries, then the rows (of the first, middle and last day;
# the days ahead are opened meanwhile)
CUTS = [0.0002, 0.002, 0.01, 0.2, 0.5, 0.8, 0.98]


@pytest.mark.parametrize("at", CUTS)
def test_a_connection_reset_anywhere_in_a_range_is_ridden_out(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    three_days: pymysql.Connection,
    lake_root: str,
    at: float,
) -> None:
    mysql = through(proxy, mysql_server, source_db)
    total = measured(proxy, mysql, lake_root)
    proxy.cut_at(int(total * at), "reset")
    result = run_raw(mysql, lake_root)
    assert proxy.cuts == 1
    assert result.success, failure_message(result)
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)  # raw = its snapshot, each day
    assert_lake_is_source(lake_root, three_days)


@pytest.mark.parametrize("at", [0.01, 0.5])
def test_a_connection_gone_silent_is_given_up_after_the_read_timeout_and_retried(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    three_days: pymysql.Connection,
    lake_root: str,
    at: float,
) -> None:
    mysql = through(proxy, mysql_server, source_db)
    total = measured(proxy, mysql, lake_root)
    proxy.cut_at(int(total * at), "stall")
    result = run_raw(mysql, lake_root)
    assert proxy.cuts == 1
    assert result.success, failure_message(result)
    assert retries(result) == 1
    assert_lake_is_source(lake_root, three_days)


def test_a_connection_killed_on_the_server_mid_stream_is_ridden_out(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    three_days: pymysql.Connection,
    lake_root: str,
) -> None:
    """KILL <id> from a second connection while a day's rows are on their way: the server
    ends the connection itself, between packets the proxy holds back."""
    mysql = through(proxy, mysql_server, source_db)
    total = measured(proxy, mysql, lake_root)
    proxy.cut_at(total // 2, "hold")

    def kill() -> None:
        assert proxy.fired.wait(60)
        link = proxy.fired_link
        assert link is not None and link.thread_id is not None
        with three_days.cursor() as cur:
            cur.execute(f"KILL {link.thread_id}")
        proxy.release()

    killer = threading.Thread(target=kill)
    killer.start()
    result = run_raw(mysql, lake_root)
    killer.join()
    assert result.success, failure_message(result)
    assert retries(result) == 1
    assert_lake_is_source(lake_root, three_days)


def test_a_slow_trickle_is_not_a_fault(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    three_days: pymysql.Connection,
    lake_root: str,
) -> None:
    """A link that is slow but never silent for MYSQL_READ_TIMEOUT_S is waited for."""
    replace_days(three_days, DAYS[:1], devices=2)  # a small first day: the trickle is slow
    mysql = through(proxy, mysql_server, source_db)
    proxy.trickle(0.005)  # ~0.8 MB/s
    result = run_raw(mysql, lake_root)
    assert result.success, failure_message(result)
    assert retries(result) == 0
    assert_lake_is_source(lake_root, three_days)


def test_refused_connections_are_retried_while_connecting(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    three_days: pymysql.Connection,
    lake_root: str,
) -> None:
    """A server (or proxy) restarting resets new connections for a while: `connect` tries
    again within MYSQL_CONNECT_RETRY_S, without failing the step."""
    proxy.refuse(2)
    result = run_raw(through(proxy, mysql_server, source_db), lake_root)
    assert result.success, failure_message(result)
    assert retries(result) == 0
    assert proxy.connections >= 3
    assert_lake_is_source(lake_root, three_days)


def test_a_link_that_keeps_failing_fails_the_run_in_one_sentence_and_keeps_the_last_version(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    three_days: pymysql.Connection,
    lake_root: str,
) -> None:
    mysql = through(proxy, mysql_server, source_db)
    total = measured(proxy, mysql, lake_root)
    published = {d: read_manifest(LocalStore(lake_root), DayPath(RAW, d)) for d in DAYS}
    replace_days(three_days, DAYS, devices=20, seed=8)  # the source changes meanwhile
    proxy.cut_at(total // 5, "reset", times=1000)  # every attempt is cut in its first day
    result = run_raw(mysql, lake_root)
    assert not result.success
    assert retries(result) == LakeSettings.from_env({}).retry_max
    message = failure_message(result)
    assert message.startswith(f"lost the connection to MySQL at 127.0.0.1:{proxy.port}")
    assert "LAKE_RETRY_MAX" in message
    assert "\n" not in message
    now = {d: read_manifest(LocalStore(lake_root), DayPath(RAW, d)) for d in DAYS}
    assert [m.attempt for m in now.values()] == [m.attempt for m in published.values()]


# -- the resource alone: every way in, and the sensors' queries ------------------------------


def test_the_sensors_fingerprint_query_cut_is_a_transient_source_error(
    proxy: WireProxy, mysql_server: dict[str, object], source_db: str, three_days
) -> None:
    """What the late-data sensor asks (one grouped query), cut while it is answered: the
    tick fails with the retryable error, not a secondary one from closing."""
    mysql = through(proxy, mysql_server, source_db)
    with mysql.connect() as conn:
        before = proxy.down_bytes
        mysql.fingerprints(conn, DAYS[0], DAYS[-1])
        size = proxy.down_bytes - before
    with mysql.connect() as conn:  # a new connection: the cut lands in the query's answer
        proxy.cut_at(size // 2, "reset")
        with pytest.raises(SourceError) as raised:
            mysql.fingerprints(conn, DAYS[0], DAYS[-1])
    assert raised.value.allow_retries
    assert str(raised.value).startswith("lost the connection to MySQL")


def test_a_stall_between_packets_is_given_up_after_the_read_timeout(
    proxy: WireProxy, mysql_server: dict[str, object], source_db: str, three_days
) -> None:
    mysql = through(proxy, mysql_server, source_db)
    proxy.cut_at(200_000, "stall")  # inside the first day's rows
    with pytest.raises(SourceError) as raised, mysql.session(DAYS):
        for day in DAYS:
            with mysql.extract_day(day) as extract:
                for _ in extract.batches:
                    pass
    assert raised.value.allow_retries
    assert f"sent nothing for {READ_TIMEOUT_S}s" in str(raised.value)
    assert "MYSQL_READ_TIMEOUT_S" in str(raised.value)
    for link in proxy.links:  # nothing is left open: the session closed what it had
        assert link.closed.wait(5)


# -- table copies: full and daily, Hive and Iceberg -------------------------------------------


@pytest.fixture
def copy_source(source_conn: pymysql.Connection) -> pymysql.Connection:
    replace_devices(source_conn, 3000)  # ~0.1 MB
    replace_events(source_conn, DAYS, 200)  # a device's boot 7 minutes after the one before
    return source_conn


@pytest.mark.parametrize("how", ["reset", "stall"])
@pytest.mark.parametrize("table_format", ["hive", "iceberg"])
@pytest.mark.parametrize(
    "spec",
    [TableSpec("devices", CopyMode.FULL), TableSpec("device_events", CopyMode.DAILY, "event_time")],
    ids=["full", "daily"],
)
def test_a_copy_cut_mid_rows_is_retried_and_equals_the_source(
    proxy: WireProxy,
    mysql_server: dict[str, object],
    source_db: str,
    copy_source: pymysql.Connection,
    lake_root: str,
    spec: TableSpec,
    table_format: str,
    how: str,
) -> None:
    asset, check = copy_defs(spec)
    catalog = (
        IcebergCatalogResource(lake_root=lake_root)
        if table_format == "iceberg"
        else DuckDBCatalogResource(path=f"{lake_root}/catalog.duckdb")
    )
    resources = {
        "mysql": through(proxy, mysql_server, source_db),
        "lake": lake_resource(lake_root, table_format),
        "catalog": catalog,
    }
    first, last = (str(DAYS[0]), str(DAYS[-1])) if spec.daily else (None, None)

    def run():
        return materialize_days([asset, check], resources, first, last)  # type: ignore[arg-type]

    before = proxy.down_bytes
    assert run().success
    proxy.cut_at((proxy.down_bytes - before) // 2, how)
    result = run()
    assert proxy.cuts == 1
    assert result.success, failure_message(result)
    assert retries(result) == 1
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)  # the server's checksum agrees

    within = "event_time >= %s AND event_time < %s" if spec.daily else "TRUE"
    with copy_source.cursor() as cur:
        cur.execute(
            f"SELECT COUNT(*) FROM {spec.table} WHERE {within}",
            (DAYS[0], DAYS[-1] + dt.timedelta(days=1)) if spec.daily else (),
        )
        [(rows,)] = cur.fetchall()
    _, [(published,)] = catalog.query(f"SELECT COUNT(*) FROM {spec.name}")
    assert published == rows, "every row once"
    if spec.daily:
        for day in DAYS:
            assert read_manifest(LocalStore(lake_root), DayPath(DATA, day, spec.name))


# -- the AWS side: S3 and Glue throttling, failing and dropping -----------------------------


@pytest.mark.cli
def test_a_range_run_publishes_exactly_through_throttling_errors_and_dropped_connections(
    mysql_server: dict[str, object],
    source_db: str,
    source_conn: pymysql.Connection,
    tmp_path: Path,
    moto_endpoint: str,
) -> None:
    """The documented range run (the CLI, LAKE_ROOT=s3://…, Glue) twice, with every 5th AWS
    request answered by S3's SlowDown or Glue's ThrottlingException, a 500, or a connection
    dropped without a reply: boto3's retries ride them out, and Glue ends with each day's
    readings exactly once."""
    from lake_assets_tests.conftest import HTTP_BUCKET
    from lake_assets_tests.test_cli_range_run import DAYS as CLI_DAYS
    from lake_assets_tests.test_cli_range_run import dagster_env, materialize_range
    from lake_assets_tests.test_cli_range_run_s3 import assert_glue_holds_the_source
    from lake_assets_tests.wire import HttpFaultProxy

    replace_days(source_conn, CLI_DAYS, devices=4)
    aws = HttpFaultProxy(moto_endpoint, every=5)
    try:
        env = dagster_env(mysql_server, source_db, f"s3://{HTTP_BUCKET}/lake", tmp_path / "h")
        env["AWS_ENDPOINT_URL"] = aws.url
        materialize_range(env, CLI_DAYS[0], CLI_DAYS[-1])
        materialize_range(env, CLI_DAYS[0], CLI_DAYS[-1])
    finally:
        aws.close()
    assert all(aws.faults.values()), aws.faults  # each kind of fault happened
    assert_glue_holds_the_source(source_conn)  # read past the proxy, straight from moto


@pytest.mark.parametrize("first", [True, False], ids=["first-version", "replacing"])
def test_a_switch_whose_reply_is_lost_is_not_taken_for_a_lost_race(
    moto_endpoint: str, first: bool
) -> None:
    """S3 applies the conditional PUT of the day's manifest, the reply is lost on the way
    back, boto3 sends it again and gets 412: the day is switched (to this attempt), which is
    not a later run's win, and nothing of the attempt may be dropped as superseded."""
    import boto3

    from lake_assets.lake.s3 import S3Store
    from lake_assets.lake.zones import DayManifest, FileEntry, switch_manifest
    from lake_assets_tests.conftest import HTTP_BUCKET
    from lake_assets_tests.wire import HttpFaultProxy

    day = dt.date(2026, 1, 1)
    path = DayPath(DATA, day)
    direct = S3Store(f"s3://{HTTP_BUCKET}/lake", boto3.client("s3", endpoint_url=moto_endpoint))

    def attempt(name: str) -> DayManifest:
        key = f"{path.attempt_prefix(name)}part-00000.parquet"
        direct.put_bytes(key, b"rows")
        files = [FileEntry(key, rows=1, bytes=4)]
        return DayManifest(DATA, "reports", "20260101", name, files, {}, "run", stats={})

    if not first:
        switch_manifest(direct, path, attempt("20260101T000000-older"))
    ours = attempt("20260102T000000-ours")

    def manifest_put(method: str, url: str, headers) -> bool:
        conditional = "If-Match" in headers or "If-None-Match" in headers
        return method == "PUT" and url.endswith("/_manifest.json") and conditional

    proxy = HttpFaultProxy(moto_endpoint, every=0, lose_reply=manifest_put)
    try:
        through = S3Store(f"s3://{HTTP_BUCKET}/lake", boto3.client("s3", endpoint_url=proxy.url))
        switch_manifest(through, path, ours)  # before the fix: Superseded by itself
    finally:
        proxy.close()
    assert proxy.lost_replies == 1, "the reply was lost once, and the PUT sent again"
    assert read_manifest(direct, path).attempt == ours.attempt


def test_a_lock_whose_creation_reply_is_lost_is_known_as_ours(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease's PUT (If-None-Match) is applied, its reply lost, the retry gets 412: the
    lease names its holder, so the run holds the lock at once instead of taking its own lease
    for another run's (which, with the wait cut to a second here, fails the run), and
    releases it after."""
    import boto3

    from lake_assets.lake import s3
    from lake_assets_tests.conftest import HTTP_BUCKET
    from lake_assets_tests.wire import HttpFaultProxy

    monkeypatch.setattr(s3, "LOCK_WAIT_S", 1.0)

    def lease_put(method: str, url: str, headers) -> bool:
        return method == "PUT" and "/_locks/" in url

    root = f"s3://{HTTP_BUCKET}/lake"
    direct = s3.S3Store(root, boto3.client("s3", endpoint_url=moto_endpoint))
    proxy = HttpFaultProxy(moto_endpoint, every=0, lose_reply=lease_put)
    try:
        store = s3.S3Store(root, boto3.client("s3", endpoint_url=proxy.url))
        with store.lock("catalog"):
            assert direct.get_bytes("_locks/catalog.json") is not None
    finally:
        proxy.close()
    assert proxy.lost_replies == 1
    assert direct.get_bytes("_locks/catalog.json") is None, "released"
