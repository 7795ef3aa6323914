"""The rows of an unbuffered pymysql result as Arrow columns of their wire text, in bulk.

In MySQL's text protocol every value of a row arrives as a length-encoded string (or the NULL
marker). pymysql turns each row into a tuple of Python objects, value by value (about 12 µs a
row of `reports`). Here each row's packet is kept as it arrives, a batch's packets are joined,
and the values' boundaries in all its rows are found at once with NumPy, column after column.
What reaches Arrow is each column's text exactly as the server sent it, as one binary array,
which `SourceColumn.to_arrow` casts to the column's declared type.

Packets are still read by pymysql's own reader: sequence numbers, rows over 16 MB, the read
timeout, a lost connection and the server's error packets behave as they do in pymysql.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pymysql import err
from pymysql.cursors import SSCursor

# The first byte of a length-encoded string: its length itself below 0xFB; 0xFB is NULL; 0xFC,
# 0xFD and 0xFE say that the length follows in 2, 3 or 8 bytes (little-endian).
_NULL = 0xFB
_LENGTH_BYTES = {0xFC: 2, 0xFD: 3, 0xFE: 8}
_SPARE = 9  # zero bytes after a batch: reading a length past a truncated row stays in bounds
_GATHER_BYTES_PER_VALUE = 64  # a column's values up to this long on average are gathered by index


def fetch_text_columns(cur: SSCursor, size: int, n_columns: int) -> list[pa.Array]:
    """Up to `size` rows of `cur`'s result (a query executed, its rows not yet read), as one
    binary array per column holding each value's text (null for NULL); [] once the result
    has been read to its end."""
    payloads = _read_row_packets(cur, size)
    if not payloads:
        return []
    return split_columns(payloads, n_columns)


def _read_row_packets(cur: SSCursor, size: int) -> list[bytes]:
    """What pymysql's SSCursor.fetchmany does (MySQLResult._read_rowdata_packet_unbuffered,
    row by row), keeping each row's packet whole instead of parsing it."""
    result = cur._result
    if result is None or not result.unbuffered_active:
        return []
    read_packet = result.connection._read_packet
    payloads: list[bytes] = []
    for _ in range(size):
        packet = read_packet()
        if result._check_packet_is_eof(packet):
            result.unbuffered_active = False
            result.connection = None  # as pymysql: the result is over, the cursor is free
            result.rows = None
            cur.warning_count = result.warning_count
            break
        payloads.append(packet.get_all_data())
    cur.rownumber += len(payloads)
    return payloads


def split_columns(payloads: list[bytes], n_columns: int) -> list[pa.Array]:
    """The values of rows (each a row packet's payload) as one binary array per column."""
    buf = np.frombuffer(b"".join([*payloads, bytes(_SPARE)]), dtype=np.uint8)  # one copy
    sizes = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
    row_end = np.cumsum(sizes)
    pos = row_end - sizes
    columns = []
    for _ in range(n_columns):
        if (pos >= row_end).any():
            raise err.InternalError("a row packet holds fewer values than the result has columns")
        start, length, null = _next_values(buf, pos)
        if (start + length > row_end).any():
            raise err.InternalError("a value runs past the end of its row packet")
        columns.append(_binary_array(buf, start, length, null))
        pos = start + length
    if (pos != row_end).any():
        raise err.InternalError("a row packet's values do not fill it exactly")
    return columns


def _next_values(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The value that starts at `pos` in each row: where its text starts, how long it is, and
    whether it is NULL."""
    first = buf[pos].astype(np.int64)
    null = first == _NULL
    length = np.where(null, 0, first)
    start = pos + 1
    if (first > _NULL).any():  # a value of 251 bytes or more: its length follows
        if (first == 0xFF).any():
            raise err.InternalError("a row packet holds an invalid length")
        for marker, n_bytes in _LENGTH_BYTES.items():
            rows = np.flatnonzero(first == marker)
            if len(rows):
                at = pos[rows] + 1
                length[rows] = sum(buf[at + k].astype(np.int64) << (8 * k) for k in range(n_bytes))
                start[rows] = at + n_bytes
    return start, length, null


def _binary_array(
    buf: np.ndarray, start: np.ndarray, length: np.ndarray, null: np.ndarray
) -> pa.Array:
    offsets = np.zeros(len(start) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    nulls = int(null.sum())
    validity = pa.py_buffer(np.packbits(~null, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(
        pa.large_binary(),
        len(start),
        [validity, pa.py_buffer(offsets), _gather(buf, start, length, offsets)],
        null_count=nulls,
    )


def _gather(
    buf: np.ndarray, start: np.ndarray, length: np.ndarray, offsets: np.ndarray
) -> pa.Buffer:
    """The bytes of every value, one after another. Short values (ids, dates, numbers) are
    gathered by one index over all their bytes; long ones (blobs) are copied a slice each,
    without an index eight times their size."""
    total = int(offsets[-1])
    if total > _GATHER_BYTES_PER_VALUE * len(start):
        raw = buf.data
        return pa.py_buffer(
            b"".join([raw[s : s + n] for s, n in zip(start.tolist(), length.tolist(), strict=True)])
        )
    index = np.repeat(start - offsets[:-1], length)
    index += np.arange(total, dtype=np.int64)
    return pa.py_buffer(buf[index])
