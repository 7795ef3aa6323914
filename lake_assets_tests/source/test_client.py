"""MySQLResource against the real MariaDB server: snapshot, streaming, types, read-only, errors."""

from __future__ import annotations

import datetime as dt
import decimal
import ssl
import time

import pyarrow as pa
import pymysql
import pytest

from lake_assets.source.client import DAYS_AHEAD, MySQLResource, SourceError

DAY = dt.date(2026, 1, 2)


def insert(conn: pymysql.Connection, rows: list[tuple]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO reports (id, device_id, date_start, created_at, updated_at, encoded)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )


@pytest.fixture
def seeded(source_conn: pymysql.Connection) -> pymysql.Connection:
    insert(
        source_conn,
        [
            (1, 10, DAY, "2026-01-02 00:59:59.123", "2026-01-02 01:00:00.000", "AAAA"),
            (2, 11, DAY, "2026-01-02 23:00:00.000", "2026-01-03 00:00:00.500", None),
            (3, 10, DAY + dt.timedelta(1), "2026-01-03 00:00:00", "2026-01-03 00:00:00", "x"),
            (2**64 - 1, 4294967295, DAY, "2026-01-02 12:00:00", "2026-01-02 12:00:00", ""),
        ],
    )
    return source_conn


@pytest.mark.mysql
def test_extract_day_streams_the_day_with_declared_types(
    seeded: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    resource = mysql_resource.model_copy(update={"batch_rows": 2})
    with resource.extract_day(DAY) as extract:
        batches = list(extract.batches)
    # one row first (to measure a row's width), then batches of at most batch_rows
    assert [b.num_rows for b in batches][:2] == [1, 2], "rows arrive in batches of batch_rows"
    table = pa.Table.from_batches(batches)
    assert table.schema.field("id").type == pa.decimal128(20, 0)  # BIGINT UNSIGNED
    assert table.schema.field("device_id").type == pa.int64()
    assert table.schema.field("date_start").type == pa.date32()
    assert table.schema.field("created_at").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("encoded").type == pa.string()
    assert table.column("id").to_pylist() == [
        decimal.Decimal(1),
        decimal.Decimal(2),
        decimal.Decimal(2**64 - 1),
    ]
    first = table.slice(0, 1).to_pylist()[0]
    assert first["created_at"] == dt.datetime(2026, 1, 2, 0, 59, 59, 123000, tzinfo=dt.UTC)
    assert first["encoded"] == "AAAA"
    assert table.column("encoded").to_pylist()[1:] == [None, ""]
    fp = extract.expected
    assert (fp.rows, fp.min_id, fp.max_id) == (3, 1, 2**64 - 1)
    assert fp.max_updated_at == "2026-01-03 00:00:00.500"


@pytest.mark.mysql
def test_fingerprint_changes_when_a_row_changes(
    seeded: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    with mysql_resource.connect() as conn:
        before = mysql_resource.fingerprints(conn, DAY, DAY)[DAY]
    with seeded.cursor() as cur:
        cur.execute("UPDATE reports SET updated_at = '2026-01-05 00:00:00' WHERE id = 1")
    with mysql_resource.connect() as conn:
        after = mysql_resource.fingerprints(conn, DAY, DAY + dt.timedelta(1))
    assert after[DAY].rows == before.rows
    assert after[DAY].checksum != before.checksum
    assert set(after) == {DAY, DAY + dt.timedelta(1)}


@pytest.mark.mysql
def test_day_is_one_snapshot(seeded: pymysql.Connection, mysql_resource: MySQLResource) -> None:
    """Rows added while a day streams are neither counted nor read."""
    resource = mysql_resource.model_copy(update={"batch_rows": 1})
    with resource.extract_day(DAY) as extract:
        insert(seeded, [(100, 12, DAY, "2026-01-02 05:00:00", "2026-01-02 05:00:00", "late")])
        rows = sum(b.num_rows for b in extract.batches)
    assert rows == extract.expected.rows == 3


@pytest.mark.mysql
def test_session_is_read_only_and_utc(mysql_resource: MySQLResource) -> None:
    with mysql_resource.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@session.time_zone")
        assert list(cur.fetchall()) == [("+00:00",)]
        with pytest.raises(pymysql.err.MySQLError, match=r"READ ONLY|read.only"):
            cur.execute(
                "INSERT INTO reports (device_id, date_start, created_at) VALUES (1, NOW(), NOW())"
            )


@pytest.mark.mysql
def test_empty_day(source_db: str, mysql_resource: MySQLResource) -> None:
    with mysql_resource.extract_day(DAY) as extract:
        assert list(extract.batches) == []
    assert extract.expected.rows == 0


@pytest.mark.mysql
def test_errors_name_the_setting_and_hide_the_password(mysql_server: dict, source_db: str) -> None:
    cases = {
        # refused at once; the message, not the retry window (test_bad_settings times that)
        "MYSQL_HOST": MySQLResource(
            host="127.0.0.1", port=1, connect_timeout_s=2, connect_retry_s=1
        ),
        "MYSQL_PASSWORD": MySQLResource(
            host=str(mysql_server["host"]),
            port=int(mysql_server["port"]),
            user="no_such_user",
            password="s3cret-Pw",
        ),
        "MYSQL_DATABASE": MySQLResource(**{**mysql_server, "database": "no_such_database_here"}),
    }
    for setting, resource in cases.items():
        with pytest.raises(SourceError) as info, resource.extract_day(DAY):
            pass
        assert setting in str(info.value)
        assert "s3cret-Pw" not in str(info.value)
    assert "cannot reach MySQL at 127.0.0.1:1" in _error(cases["MYSQL_HOST"])


@pytest.mark.mysql
def test_missing_reports_table(
    mysql_server: dict, source_conn: pymysql.Connection, source_db: str
) -> None:
    with source_conn.cursor() as cur:
        cur.execute("DROP TABLE reports")
    message = _error(MySQLResource(**mysql_server, database=source_db))
    assert f"{source_db}.reports does not exist" in message
    assert "MYSQL_DATABASE" in message


def _error(resource: MySQLResource) -> str:
    with pytest.raises(SourceError) as info, resource.extract_day(DAY):
        pass
    return str(info.value)


@pytest.mark.mysql
def test_rows_stream_device_major(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    """Device-major order makes the readings' row groups prune on device_id (and ts within)."""
    insert(
        source_conn,
        [
            (i, device, DAY, "2026-01-02 00:00:00", "2026-01-02 00:00:00", "x")
            for i, device in enumerate([7, 3, 7, 1, 3], start=1)
        ],
    )
    with mysql_resource.extract_day(DAY) as extract:
        table = pa.Table.from_batches(list(extract.batches))
    assert table.column("device_id").to_pylist() == [1, 3, 3, 7, 7]
    assert [int(i) for i in table.column("id").to_pylist()] == [4, 2, 5, 1, 3]


def connection_id(conn: pymysql.connections.Connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        [(cid,)] = list(cur.fetchall())
    return cid


@pytest.mark.mysql
def test_connections_share_one_unverifying_tls_context(mysql_resource: MySQLResource) -> None:
    """With no TLS settings, pymysql tries TLS without verifying anything; the context for
    that is built once per process (not once per connection), and connections still work
    whether the server offers TLS or not."""
    with mysql_resource.connect() as a, mysql_resource.connect() as b:
        assert connection_id(a) != connection_id(b)
        assert a.ctx is b.ctx
        assert a.ctx.verify_mode == ssl.CERT_NONE and not a.ctx.check_hostname


@pytest.mark.mysql
def test_days_of_a_session_share_one_connection_each_in_its_own_snapshot(
    seeded: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    """raw_reports extracts a range's days on one connection; a row committed between two
    days is in the second day's snapshot, and the connection is closed when the range ends."""
    with mysql_resource.session():
        with mysql_resource.extract_day(DAY) as first:
            assert sum(b.num_rows for b in first.batches) == 3
        with mysql_resource.connect() as conn:
            shared = conn
            first_id = connection_id(conn)
        insert(seeded, [(100, 12, DAY, "2026-01-02 05:00:00", "2026-01-02 05:00:00", "late")])
        with mysql_resource.extract_day(DAY) as second:
            assert sum(b.num_rows for b in second.batches) == second.expected.rows == 4
        with mysql_resource.connect() as conn:
            assert conn is shared and connection_id(conn) == first_id
    assert not shared.open
    with mysql_resource.connect() as conn:  # outside a session: a connection of its own
        assert connection_id(conn) != first_id


@pytest.mark.mysql
def test_a_session_connection_that_failed_is_replaced(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource
) -> None:
    """A day that fails on the shared connection (here: the server killed it) takes it down
    with it; the next day opens a new one instead of failing on a dead socket."""
    with mysql_resource.session():
        with mysql_resource.connect() as conn:
            killed = connection_id(conn)
        with source_conn.cursor() as cur:
            cur.execute(f"KILL {killed}")
        with pytest.raises(pymysql.err.OperationalError), mysql_resource.connect() as conn:
            connection_id(conn)
        with mysql_resource.connect() as conn:
            assert connection_id(conn) != killed


def _opened_ahead(resource: MySQLResource, day: dt.date) -> int:
    """Wait until the session has opened `day`'s snapshot ahead; its connection's id (from
    the handshake: a query would read the day's rows away)."""
    shared = resource._shared
    assert shared is not None and day in shared.ahead, f"{day} was not opened ahead"
    return shared.ahead[day].result().conn.thread_id()


def _connections_to(conn: pymysql.Connection, database: str) -> int:
    """Connections to `database`, other than `conn`."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            " WHERE DB = %s AND ID <> CONNECTION_ID()",
            (database,),
        )
        [(n,)] = list(cur.fetchall())
    return n


def _settles_at(conn: pymysql.Connection, database: str, expected: int) -> int:
    """The connections to `database` once the server has finished closing those we closed:
    a closed (or killed) connection leaves its process list a moment after the client quits,
    so poll for up to 5 s; a connection left open never leaves."""
    deadline = time.monotonic() + 5
    while (n := _connections_to(conn, database)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return n


@pytest.mark.mysql
def test_the_next_days_are_opened_ahead_each_in_a_snapshot_of_its_own(
    seeded: pymysql.Connection, mysql_resource: MySQLResource, source_db: str
) -> None:
    """While a session's day is read, the next DAYS_AHEAD days of its plan are opened ahead,
    each on a connection of its own: its fingerprint and its rows come from that one
    snapshot, which a row committed after it was opened is in neither of. Connections are
    reused (never more than DAYS_AHEAD + 1), and nothing stays open after the session."""
    days = [DAY + dt.timedelta(i) for i in range(DAYS_AHEAD + 3)]
    before = _connections_to(seeded, source_db)
    with mysql_resource.session(days):
        with mysql_resource.extract_day(days[0]) as first:
            assert sorted(mysql_resource._shared.ahead) == days[1 : 1 + DAYS_AHEAD]
            opened = _opened_ahead(mysql_resource, days[1])
            assert sum(b.num_rows for b in first.batches) == first.expected.rows == 3
        insert(seeded, [(101, 12, days[1], "2026-01-03 05:00", "2026-01-03 05:00", "late")])
        with mysql_resource.extract_day(days[1]) as second:
            rows = pa.Table.from_batches(list(second.batches))
            assert sorted(mysql_resource._shared.ahead) == days[2 : 2 + DAYS_AHEAD]
            assert _opened_ahead(mysql_resource, days[1 + DAYS_AHEAD]) != opened
        assert second.expected.rows == rows.num_rows == 1  # not the late row
        assert [int(i) for i in rows.column("id").to_pylist()] == [3]
        for day in days[2:]:
            with mysql_resource.extract_day(day) as later:
                assert sum(b.num_rows for b in later.batches) == later.expected.rows
        assert _connections_to(seeded, source_db) - before <= DAYS_AHEAD + 1
        with mysql_resource.extract_day(days[1]) as again:  # not planned: a new snapshot
            assert sum(b.num_rows for b in again.batches) == again.expected.rows == 2
    assert _settles_at(seeded, source_db, before) == before


@pytest.mark.mysql
def test_a_day_opened_ahead_that_fails_fails_that_day_and_nothing_stays_open(
    seeded: pymysql.Connection, mysql_resource: MySQLResource, source_db: str
) -> None:
    """The server drops the connection a day was opened ahead on: that day fails as a lost
    connection (a retry), not the day being read; and a day opened ahead but never read
    (the run stopped before it) has its connection closed with the session."""
    days = [DAY + dt.timedelta(i) for i in range(3)]
    before = _connections_to(seeded, source_db)
    with mysql_resource.session(days):
        with mysql_resource.extract_day(days[0]) as first:
            killed = _opened_ahead(mysql_resource, days[1])
            with seeded.cursor() as cur:
                cur.execute(f"KILL {killed}")
            assert sum(b.num_rows for b in first.batches) == 3
        with pytest.raises(SourceError) as info, mysql_resource.extract_day(days[1]) as second:
            list(second.batches)
        assert info.value.allow_retries, str(info.value)
        assert _opened_ahead(mysql_resource, days[2]) != killed
    assert _settles_at(seeded, source_db, before) == before
