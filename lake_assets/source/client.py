"""The MySQL source: read-only, UTC, one consistent snapshot per day, streamed in Arrow batches."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pyarrow as pa
import pymysql
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr
from pymysql.cursors import SSCursor

from lake_assets.core.errors import ExplainedFailure
from lake_assets.core.fingerprints import DayFingerprint
from lake_assets.core.tables import REPORTS
from lake_assets.source.rows import fetch_text_columns
from lake_assets.source.sql import day_window, select_sql
from lake_assets.source.types import (
    TEXT_DECODERS,
    SourceColumn,
    schema_of,
    without_zero_date_sql,
)

SOURCE_TABLE = REPORTS.table
DATE_COLUMN = REPORTS.date_column
# What each row contributes to a day's checksum, BIT_XOR(CRC32(key)): `id|updated_at`, or just
# `id` when updated_at is NULL or a zero date (which the lake holds as null), so that the raw
# zone's side (defs/reports/reconcile.py) can compute the same key from what it stores.
ROW_CHECKSUM_KEY = f"CONCAT_WS('|', id, {without_zero_date_sql('`updated_at`')})"

# pymysql / server error codes we can explain.
_CANNOT_CONNECT = {2003, 2005, 2006, 2013}
_ACCESS_DENIED = {1044, 1045, 1698}
_UNKNOWN_DATABASE = 1049
_NO_SUCH_TABLE = 1146


# Transient: server gone (2006), connection lost or silent past MYSQL_READ_TIMEOUT_S mid-query
# (2013), the connection killed on the server (MariaDB's 1927: KILL, a restart), the server
# shutting down (1053), lock wait timeout (1205), deadlock (1213). Worth a retry of the step,
# which reads the day again in a new snapshot. "Cannot connect" (2003), and a connection lost
# during its handshake (2013: a server or proxy refusing connections while it restarts), are
# retried inside `connect` for up to MYSQL_CONNECT_RETRY_S, then fail at once: a wrong host or
# port must not be retried for minutes.
_LOST = {2006, 2013}
_KILLED = {1927, 1053}
_TRANSIENT = {*_LOST, *_KILLED, 1205, 1213}
_CANNOT_CONNECT_NOW = 2003
_CONNECT_AGAIN = {_CANNOT_CONNECT_NOW, 2013}
FIRST_BATCH_ROWS = 1  # measures the width of a row before fetching many
DAYS_AHEAD = 2  # a range's days opened (snapshot, fingerprint, query sent) before their turn


class SourceError(ExplainedFailure):
    """The source cannot be read; the message says which setting to change. Permanent errors
    (access denied, unknown table, …) are not retried; transient ones are."""


V = TypeVar("V")


@dataclass
class Extract(Generic[V]):
    """Rows being read in one consistent snapshot: the columns the source declares, what the
    server says of exactly those rows in that snapshot (`expected`: a reports day's
    fingerprint, a copy's checksum), and the rows as Arrow batches."""

    columns: list[SourceColumn]
    expected: V
    batches: Iterator[pa.RecordBatch]
    zero_dates: dict[str, int]  # filled in while `batches` is consumed

    @property
    def schema(self) -> pa.Schema:
        return schema_of(self.columns)


@dataclass
class _Snapshot:
    """A connection inside one day's consistent snapshot, and what was first read in it."""

    conn: pymysql.connections.Connection
    columns: list[SourceColumn]
    fingerprint: DayFingerprint
    rows: SSCursor  # the day's SELECT, sent: the server sorts and sends while we wait elsewhere


@dataclass
class _Shared:
    """A session's connections, kept open between days, and the snapshots opened ahead."""

    idle: list[pymysql.connections.Connection] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)  # the days to be read, in order
    ahead: dict[dt.date, Future[_Snapshot]] = field(default_factory=dict)
    opener: ThreadPoolExecutor | None = None

    def to_open(self, day: dt.date) -> list[dt.date]:
        """The days to open ahead once `day` is being read: up to DAYS_AHEAD that follow it
        in the plan, and are not open yet."""
        if day not in self.days:
            return []
        i = self.days.index(day) + 1
        return [d for d in self.days[i : i + DAYS_AHEAD] if d not in self.ahead]

    def open_ahead(self, day: dt.date, open_snapshot: Callable[[dt.date], _Snapshot]) -> None:
        """Open `day` in the background, by a thread per day ahead (they open side by side)."""
        if self.opener is None:
            self.opener = ThreadPoolExecutor(DAYS_AHEAD, thread_name_prefix="mysql-ahead")
        self.ahead[day] = self.opener.submit(open_snapshot, day)

    def close(self) -> None:
        for pending in self.ahead.values():  # opened ahead for a day no one read
            if not pending.cancel():
                with suppress(Exception):
                    _close(pending.result().conn)
        self.ahead.clear()
        if self.opener is not None:
            self.opener.shutdown(wait=True)
        while self.idle:
            _close(self.idle.pop())


def _close(conn: pymysql.connections.Connection) -> None:
    """Close `conn` whatever state it is in (a result unread, the socket already gone),
    raising nothing: closing after a failure must never hide the failure."""
    if isinstance(conn, _Connection):
        conn.abandon_result()
    with suppress(Exception):
        conn.close()


def end_snapshot(conn: pymysql.connections.Connection) -> None:
    """End the snapshot of a connection that read it to its end, so that it can serve again
    (a connection closed by a reader that stopped early is left as it is)."""
    if conn.open:
        conn.rollback()


@contextmanager
def _discarded_on_error(cur: SSCursor) -> Iterator[SSCursor]:
    """Close `cur` after use. If the block fails or stops early, its connection is closed
    instead of the rest of its result read: pymysql's close would read it from a socket that
    may be gone (raising over the original error), or stream a whole day just to drop it."""
    try:
        yield cur
    except BaseException:
        conn = cur.connection
        cur.connection = None  # closing the cursor now (or when collected) does nothing
        if conn is not None and cur._result is not None:
            _close(conn)  # its unread result makes it useless anyway
        raise
    cur.close()


class MySQLResource(ConfigurableResource):
    """The source server. Read-only: the session is READ ONLY and only SELECTs are issued."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = Field(default="", description="never logged")
    database: str = "lake_demo"
    connect_timeout_s: int = 10
    connect_retry_s: int = Field(
        default=30, description="MYSQL_CONNECT_RETRY_S: keep trying to connect this long"
    )
    read_timeout_s: int = Field(
        default=60,
        description="MYSQL_READ_TIMEOUT_S: a server silent this long (handshake, or between "
        "two packets of a result) is given up on, so a stalled server cannot hang a run",
    )
    batch_rows: int = Field(default=5000, description="at most this many rows per batch")
    batch_bytes: int = Field(
        default=16 * 1024 * 1024,
        description="about this many bytes per batch: wide rows (large blobs or text) come in "
        "fewer rows, so memory is bounded in bytes, not rows",
    )
    _shared: _Shared | None = PrivateAttr(default=None)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        """Where we read from, safe to log (no password)."""
        return f"mysql://{self.user}@{self.address}/{self.database}"

    @contextmanager
    def session(self, days: Sequence[dt.date] = ()) -> Iterator[None]:
        """Within it, connections are kept open between uses instead of closed (a connection
        costs ~25 ms: the handshake and a TLS context). A connection that saw an error is
        closed; the next `connect` opens a new one.

        `days`, the days that `extract_day` will be asked for in this order, lets the session
        open days ahead: while one day is read, the next DAYS_AHEAD days are each opened on a
        connection of their own (snapshot, fingerprint, and the rows' query sent), by threads
        that mostly wait on the server, so that the server's work for a day (scanning it for
        the fingerprint, sorting it) overlaps the client's reading of the day before
        (0.245 -> 0.150 s a production day). Each day is still read in one consistent
        snapshot of its own."""
        if self._shared is not None:  # already inside one
            yield
            return
        self._shared = _Shared(days=list(days))
        try:
            yield
        finally:
            shared, self._shared = self._shared, None
            shared.close()

    @contextmanager
    def connect(self) -> Iterator[pymysql.connections.Connection]:
        """A read-only, UTC, unbuffered connection with errors translated to what to fix."""
        with self._holding(self._take()) as conn:
            yield conn

    @contextmanager
    def _holding(
        self, conn: pymysql.connections.Connection
    ) -> Iterator[pymysql.connections.Connection]:
        """Use `conn`: closed if the block fails, given back (to the session) if it does not."""
        try:
            yield conn
        except BaseException:
            _close(conn)
            raise
        self._give_back(conn)

    def _take(self) -> pymysql.connections.Connection:
        """A session's idle connection, or a new one."""
        if self._shared is not None:
            with suppress(IndexError):  # another thread may take the last one first
                return self._shared.idle.pop()
        return self._open()

    def _give_back(self, conn: pymysql.connections.Connection) -> None:
        if not conn.open:  # a reader that stopped early closed it: it cannot serve again
            return
        if self._shared is not None:
            self._shared.idle.append(conn)
        else:
            conn.close()

    def _open(self) -> pymysql.connections.Connection:
        with self.explain_errors():
            conn = self._connect_retrying()
        try:
            with self.cursor(conn) as cur:
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        except BaseException:
            _close(conn)
            raise
        return conn

    def _connect_retrying(self) -> pymysql.connections.Connection:
        deadline = time.monotonic() + self.connect_retry_s
        delay = 1.0
        while True:
            try:
                return _Connection(
                    host=self.host,
                    port=self.port,
                    user=self.user,
                    password=self.password,
                    database=self.database,
                    connect_timeout=self.connect_timeout_s,
                    read_timeout=self.read_timeout_s,
                    write_timeout=self.read_timeout_s,
                    cursorclass=SSCursor,
                    conv=TEXT_DECODERS,
                    charset="utf8mb4",
                    init_command="SET time_zone = '+00:00'",
                    autocommit=True,
                )
            except pymysql.err.OperationalError as e:
                if e.args[0] not in _CONNECT_AGAIN or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 8.0)

    @contextmanager
    def cursor(self, conn: pymysql.connections.Connection) -> Iterator[SSCursor]:
        """A cursor of `conn`, its errors explained. Closed after use; after a failure, closed
        without reading the rest of its result, so that the error that surfaces is the one
        that happened (a lost connection, say), never a secondary one from cleaning up."""
        with self.explain_errors(), _discarded_on_error(conn.cursor()) as cur:
            yield cur

    @contextmanager
    def explain_errors(self) -> Iterator[None]:
        try:
            yield
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args and isinstance(e.args[0], int) else None
            detail = str(e.args[-1]) if e.args else ""
            raise SourceError(self.explain(code, detail), retryable=code in _TRANSIENT) from None

    def explain(self, code: int | None, detail: str) -> str:
        """One sentence saying what is wrong and which setting fixes it (never the password)."""
        if code in _LOST and "handshake" not in detail.lower():
            if "timed out" in detail:
                return (
                    f"MySQL at {self.address} sent nothing for {self.read_timeout_s}s in the "
                    "middle of a query and was given up on — if the server is only slow, raise "
                    f"MYSQL_READ_TIMEOUT_S ({detail})"
                )
            return (
                f"lost the connection to MySQL at {self.address} in the middle of a query "
                "(a failover, a restart or the network) — retried with backoff up to "
                f"LAKE_RETRY_MAX times; raise it to ride out longer outages ({detail})"
            )
        if code in _KILLED:
            return (
                f"MySQL at {self.address} ended the connection mid-query (KILL, or a restart) "
                f"— retried with backoff up to LAKE_RETRY_MAX times ({detail})"
            )
        if code in _CANNOT_CONNECT:
            tried = f" for {self.connect_retry_s}s" if code == _CANNOT_CONNECT_NOW else ""
            return (
                f"cannot reach MySQL at {self.address}{tried} — is it running? "
                f"set MYSQL_HOST / MYSQL_PORT ({detail})"
            )
        if code in _ACCESS_DENIED:
            return (
                f"MySQL at {self.address} refused user {self.user!r} — "
                "check MYSQL_USER / MYSQL_PASSWORD"
            )
        if code == _UNKNOWN_DATABASE:
            return (
                f"database {self.database!r} does not exist on {self.address} — "
                "set MYSQL_DATABASE (for the demo: `lake-assets demo seed`)"
            )
        if code == _NO_SUCH_TABLE:
            return (
                f"table {self.database}.{SOURCE_TABLE} does not exist on {self.address} — "
                "set MYSQL_DATABASE to the schema that holds it"
            )
        return f"MySQL error at {self.address}/{self.database}: {detail} (code {code})"

    # -- reads -------------------------------------------------------------------------------

    def table_columns(
        self, conn: pymysql.connections.Connection, table: str = SOURCE_TABLE
    ) -> list[SourceColumn]:
        """The table's declared columns, in order."""
        columns = self.columns_of(conn, table)
        if not columns:
            raise SourceError(self.explain(_NO_SUCH_TABLE, ""))
        return columns

    def columns_of(self, conn: pymysql.connections.Connection, table: str) -> list[SourceColumn]:
        """The table's declared columns, in order; empty if there is no such table."""
        rows = self._fetch_all(
            conn,
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION,"
            " NUMERIC_SCALE, DATETIME_PRECISION FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (self.database, table),
        )
        return [
            SourceColumn(
                name=r[0],
                data_type=r[1],
                column_type=r[2],
                nullable=r[3] == "YES",
                numeric_precision=_int_or_none(r[4]),
                numeric_scale=_int_or_none(r[5]),
                datetime_precision=_int_or_none(r[6]),
            )
            for r in rows
        ]

    def primary_key(self, conn: pymysql.connections.Connection, table: str) -> list[str]:
        """The table's primary key columns, in key order (empty if it has none)."""
        rows = self._fetch_all(
            conn,
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s"
            " AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (self.database, table),
        )
        return [str(r[0]) for r in rows]

    def fingerprints(
        self, conn: pymysql.connections.Connection, first: dt.date, last: dt.date
    ) -> dict[dt.date, DayFingerprint]:
        """Per-day fingerprints for [first, last] in one grouped query (days with no rows are
        absent)."""
        rows = self._fetch_all(
            conn,
            f"SELECT `{DATE_COLUMN}`, COUNT(*), MIN(id), MAX(id), MAX(updated_at),"
            f" BIT_XOR(CRC32({ROW_CHECKSUM_KEY}))"
            f" FROM `{SOURCE_TABLE}` WHERE `{DATE_COLUMN}` BETWEEN %s AND %s"
            f" GROUP BY `{DATE_COLUMN}`",
            (first, last),
        )
        return {
            dt.date.fromisoformat(r[0]): DayFingerprint(
                rows=int(r[1]),
                min_id=_int_or_none(r[2]),
                max_id=_int_or_none(r[3]),
                max_updated_at=r[4],
                checksum=int(r[5] or 0),
            )
            for r in rows
        }

    @contextmanager
    def extract_day(self, day: dt.date) -> Iterator[Extract[DayFingerprint]]:
        """Stream one day of the source, fingerprint and rows from the same snapshot."""
        snapshot = self._snapshot_of(day)
        with self._holding(snapshot.conn) as conn, self.explain_errors():
            zero_dates: dict[str, int] = {}
            yield Extract(
                columns=snapshot.columns,
                expected=snapshot.fingerprint,
                batches=self._batches(snapshot.rows, snapshot.columns, zero_dates),
                zero_dates=zero_dates,
            )
            end_snapshot(conn)

    def _snapshot_of(self, day: dt.date) -> _Snapshot:
        """The day's snapshot: the one the session opened ahead, or a new one; and the next
        DAYS_AHEAD days of the session's plan are opened ahead while this one is read."""
        shared = self._shared
        if shared is None:
            return self._open_snapshot(day)
        pending = shared.ahead.pop(day, None)
        snapshot = pending.result() if pending is not None else self._open_snapshot(day)
        for later in shared.to_open(day):
            shared.open_ahead(later, self._open_snapshot)
        return snapshot

    def _open_snapshot(self, day: dt.date) -> _Snapshot:
        """A connection in a new consistent snapshot, with the columns and the day's
        fingerprint read in it, and the day's rows asked for."""
        conn = self._take()
        try:
            with self.explain_errors():
                columns = self.table_columns(conn)
                with self.cursor(conn) as cur:
                    cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
                fingerprint = self.fingerprints(conn, day, day).get(day) or DayFingerprint(
                    0, None, None, None, 0
                )
                rows = self._select_day(conn, columns, day)
        except BaseException:
            _close(conn)
            raise
        return _Snapshot(conn, columns, fingerprint, rows)

    def _select_day(
        self, conn: pymysql.connections.Connection, columns: list[SourceColumn], day: dt.date
    ) -> SSCursor:
        """The day's rows, selected as any daily copy's are (source/sql.py): the query sent,
        its rows not yet read."""
        [date_column] = [c for c in columns if c.name == DATE_COLUMN]
        window = day_window(date_column, day, "UTC")  # a DATE column: the timezone is unused
        cur = conn.cursor()
        cur.execute(select_sql(SOURCE_TABLE, columns, window, REPORTS.sort_by), window.args)
        return cur

    def stream(
        self,
        conn: pymysql.connections.Connection,
        columns: list[SourceColumn],
        sql: str,
        args: tuple[object, ...],
        zero_dates: dict[str, int],
    ) -> Iterator[pa.RecordBatch]:
        """The rows of `sql`, which selects `columns` in order, as Arrow batches of about
        `batch_bytes` (at most `batch_rows` rows; the first, small, batch measures the rows'
        width); zero dates become null and are counted into `zero_dates`. The query is sent
        when the first batch is asked for."""
        yield from self._batches(conn.cursor(), columns, zero_dates, query=(sql, args))

    def _batches(
        self,
        cur: SSCursor,
        columns: list[SourceColumn],
        zero_dates: dict[str, int],
        query: tuple[str, tuple[object, ...]] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The rows of `cur`'s query (sent first, when `query` is given), read as `stream`
        says; the cursor is closed at the end, or dropped with its connection on a failure."""
        schema = schema_of(columns)
        size = min(FIRST_BATCH_ROWS, self.batch_rows)
        with self.explain_errors(), _discarded_on_error(cur):
            if query is not None:
                cur.execute(*query)
            while texts := fetch_text_columns(cur, size, len(columns)):
                arrays = []
                for col, text in zip(columns, texts, strict=True):
                    array, zeros = col.to_arrow(text)
                    if zeros:
                        zero_dates[col.name] = zero_dates.get(col.name, 0) + zeros
                    arrays.append(array)
                batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
                row_bytes = max(batch.nbytes / batch.num_rows, 1.0)
                size = max(1, min(self.batch_rows, int(self.batch_bytes / row_bytes)))
                yield batch

    def _fetch_all(
        self, conn: pymysql.connections.Connection, sql: str, args: tuple[object, ...]
    ) -> list[tuple[object, ...]]:
        with self.cursor(conn) as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())


class _Connection(pymysql.connections.Connection):
    """pymysql's connection, whose TLS context is built once per process, and which can be
    closed with a result left unread (a day opened ahead and not read, or a failed one).

    With no TLS settings given, pymysql tries TLS if the server offers it and verifies nothing
    (its PREFERRED mode), yet builds a new context for every connection, loading the system's
    CA store each time: 25-50 ms of a one-day run's raw step and of each check's connection.
    That unverifying context is the same every time, so connections share the first one. Any
    other TLS settings take pymysql's own path."""

    def _create_ssl_ctx(self, sslp: object) -> ssl.SSLContext:
        if sslp != {}:
            return super()._create_ssl_ctx(sslp)
        if not _PREFERRED_TLS:  # two threads may both build one: either serves
            _PREFERRED_TLS.append(super()._create_ssl_ctx(sslp))
        return _PREFERRED_TLS[0]

    def abandon_result(self) -> None:
        """Forget an unbuffered result not read to its end, before closing: pymysql would
        otherwise read the rest of it when its cursor or result is collected, from a socket
        by then closed (an error printed from a destructor)."""
        if self._result is not None:
            self._result.unbuffered_active = False
            self._result = None


_PREFERRED_TLS: list[ssl.SSLContext] = []


def _int_or_none(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[arg-type]
