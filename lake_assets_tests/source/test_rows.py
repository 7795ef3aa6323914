"""Rows read as text columns in bulk: the values pymysql's own parser finds, every length
encoding included, and the same rows and connection state as pymysql's unbuffered cursor on
the real server."""

from __future__ import annotations

from contextlib import closing
from unittest import mock

import pymysql
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymysql import converters
from pymysql.cursors import SSCursor
from pymysql.protocol import MysqlPacket

from lake_assets.source import rows as mysql_rows
from lake_assets.source.rows import fetch_text_columns, split_columns


def length_encoded(value: bytes | None) -> bytes:
    """A value as the text protocol sends it (MySQL's "length-encoded string")."""
    if value is None:
        return b"\xfb"
    n = len(value)
    if n < 251:
        head = bytes([n])
    elif n < 2**16:
        head = b"\xfc" + n.to_bytes(2, "little")
    elif n < 2**24:
        head = b"\xfd" + n.to_bytes(3, "little")
    else:
        head = b"\xfe" + n.to_bytes(8, "little")
    return head + value


def pymysql_values(payload: bytes, n_columns: int) -> list[bytes | None]:
    """The oracle: pymysql's own reading of a row packet."""
    packet = MysqlPacket(payload, "utf8")
    return [packet.read_length_coded_string() for _ in range(n_columns)]


VALUE = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.sampled_from([b"", b"\xfb", b"\xfe" * 9, b"x" * 250, b"y" * 251, b"z" * 65_535]),
)


@given(
    st.integers(1, 6).flatmap(lambda n: st.lists(st.lists(VALUE, min_size=n, max_size=n))),
    st.sampled_from([0, 64, 2**62]),  # every column copied a slice each, as is, gathered
)
def test_values_are_the_ones_pymysql_reads(rows: list[list[bytes | None]], gather: int) -> None:
    if not rows:
        return
    n_columns = len(rows[0])
    payloads = [b"".join(length_encoded(v) for v in row) for row in rows]
    with mock.patch.object(mysql_rows, "_GATHER_BYTES_PER_VALUE", gather):
        columns = split_columns(payloads, n_columns)
    got = [list(r) for r in zip(*(c.to_pylist() for c in columns), strict=True)]
    assert got == [pymysql_values(p, n_columns) for p in payloads] == rows


def test_three_and_eight_byte_lengths() -> None:
    big, huge = b"a" * 70_000, b"b" * (2**24 + 3)
    payloads = [length_encoded(big) + length_encoded(None), length_encoded(huge) + b"\x00"]
    first, second = split_columns(payloads, 2)
    assert first.to_pylist() == [big, huge]
    assert second.to_pylist() == [None, b""]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (length_encoded(b"abc"), "fewer values"),  # two columns expected
        (length_encoded(b"abc") + length_encoded(b"d") + b"\x01", "fill it exactly"),
        (b"\x05ab" + length_encoded(b"d"), "runs past the end"),
        (b"\xff\x00" + length_encoded(b"d"), "invalid length"),
    ],
)
def test_a_malformed_row_is_a_protocol_error(payload: bytes, problem: str) -> None:
    with pytest.raises(pymysql.err.InternalError, match=problem):
        split_columns([payload], 2)


@pytest.mark.mysql
def test_rows_and_state_match_pymysqls_cursor(mysql_server: dict, source_db: str) -> None:
    """Every row of a result, over several batches, as pymysql's SSCursor reads it with no
    decoders (each value's text): NULLs, empty strings and values past each length encoding
    included; afterwards the connection serves the next query."""
    encoders_only = {k: v for k, v in converters.conversions.items() if not isinstance(k, int)}
    conn = pymysql.connect(
        **mysql_server, database=source_db, cursorclass=SSCursor, conv=encoders_only
    )
    with closing(conn), conn.cursor() as cur:  # closed even on failure: the database is dropped
        cur.execute(
            "CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, d DATETIME(3), x DECIMAL(30,10),"
            " s TEXT, b MEDIUMBLOB, f DOUBLE)"
        )
        cur.execute(
            "INSERT INTO t VALUES (18446744073709551615, '2026-01-02 03:04:05.678', -1.5,"
            " 'é', NULL, 1e308), (1, NULL, NULL, '', '', NULL),"
            " (2, '0000-00-00 00:00:00', 0, REPEAT('s', 300), REPEAT('b', 70000), -0.1)"
        )
        cur.execute("INSERT INTO t SELECT id + 10, d, x, s, b, f FROM t WHERE id < 10")
        conn.commit()
        query = "SELECT * FROM t ORDER BY id"
        cur.execute(query)
        expected = list(cur.fetchall())
        cur.execute(query)
        got: list[tuple[object, ...]] = []
        while texts := fetch_text_columns(cur, 2, 6):
            got.extend(zip(*(c.to_pylist() for c in texts), strict=True))
        assert fetch_text_columns(cur, 2, 6) == []
        assert cur.rownumber == len(expected) == 5

        def as_bytes(row: tuple[object, ...]) -> tuple[object, ...]:
            return tuple(v.encode() if isinstance(v, str) else v for v in row)

        assert got == [as_bytes(r) for r in expected]
        cur.execute("SELECT 42")
        assert list(cur.fetchall()) == [("42",)]
