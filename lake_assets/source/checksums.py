"""The copy's row checksum computed from Arrow values: the lake's side of `sql.py`.

Each column is rendered as MySQL's CONCAT renders it, so the checksum of what was stored
equals the checksum the server computed in the extract's snapshot. Integers, dates and text
are rendered by Arrow per column; decimals and floats, whose MySQL text Arrow does not
produce, per value.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from lake_assets.core.fingerprints import RowChecksum
from lake_assets.source.sql import NULL_TEXT, SEPARATOR
from lake_assets.source.types import SourceColumn


def checksum_of(batches: Iterable[pa.RecordBatch], columns: Sequence[SourceColumn]) -> RowChecksum:
    total = RowChecksum()
    for batch in batches:
        total += batch_checksum(batch, columns)
    return total


def batch_checksum(batch: pa.RecordBatch, columns: Sequence[SourceColumn]) -> RowChecksum:
    if not batch.num_rows:
        return RowChecksum()
    parts = [render(batch.column(c.name), c) for c in columns]
    keys = pc.binary_join_element_wise(*parts, SEPARATOR.encode())
    xor = total = 0
    for key in keys.to_pylist():
        crc = zlib.crc32(key)
        xor ^= crc
        total += crc
    return RowChecksum(batch.num_rows, xor, total)


def render(values: pa.Array, column: SourceColumn) -> pa.Array:
    """The column's values as the bytes MySQL's CONCAT gives them, NULL as `\\N`."""
    t = values.type
    if pa.types.is_dictionary(t):
        return render(values.cast(t.value_type), column)
    if pa.types.is_boolean(t):
        text = values.cast(pa.int8()).cast(pa.string())
    elif pa.types.is_integer(t):
        text = values.cast(pa.string())
    elif pa.types.is_decimal(t):
        # Arrow prints plain decimals as MySQL does, but small ones as `1E-7`: redo those.
        text = _redo_where(
            values,
            values.cast(pa.string()),
            pc.match_substring(values.cast(pa.string()), "E"),
            lambda v: f"{v:f}",
        )
    elif pa.types.is_floating(t):
        # Arrow's shortest text equals MySQL's in fixed notation; redo exponents and -0.
        doubles = values.cast(pa.float64())
        text = doubles.cast(pa.string())
        odd = pc.or_(pc.match_substring(text, "e"), pc.equal(text, "-0"))
        text = _redo_where(doubles, text, odd, mysql_double_text)
    elif pa.types.is_date(t):
        text = values.cast(pa.string())
    elif pa.types.is_timestamp(t):
        text = mysql_datetime_text(values, column.datetime_precision or 0)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = values
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pc.fill_null(values.cast(pa.binary()), NULL_TEXT.encode())
    else:
        raise TypeError(f"column {column.name!r}: no checksum rendering for {t}")
    return pc.fill_null(text, NULL_TEXT).cast(pa.binary())


def _redo_where(values: pa.Array, text: pa.Array, redo: pa.Array, render_one) -> pa.Array:
    """`text`, with the values where `redo` is true rendered one by one in Python instead."""
    redo = pc.fill_null(redo, False)
    if not pc.any(redo).as_py():
        return text
    fixed = [render_one(v) for v in values.filter(redo).to_pylist()]
    return pc.replace_with_mask(text, redo, pa.array(fixed, pa.string()))


def mysql_datetime_text(values: pa.Array, fsp: int) -> pa.Array:
    """How MySQL renders DATETIME(fsp) values in a UTC session, for a whole column:
    `YYYY-MM-DD HH:MM:SS` plus `fsp` fractional digits."""
    naive = values.cast(pa.timestamp("us"))  # the UTC wall clock
    # `YYYY-MM-DD HH:MM:SS.ffffff`, as pc.strftime(…, "%Y-%m-%d %H:%M:%S") gives it, 9× faster
    text = naive.cast(pa.string())
    return pc.utf8_slice_codeunits(text, 0, 19 + (fsp + 1 if fsp else 0))


_REPR = re.compile(r"^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$")


def mysql_double_text(value: float) -> str:
    """A DOUBLE as MySQL (MariaDB 10.11) prints it: the shortest digits that round-trip (as
    Python's repr), in fixed notation unless the decimal point is 15 or more places left of
    the first digit or the value is an integer of 16 or more digits; -0 prints as 0.
    Checked against the server on random doubles of every magnitude (tests)."""
    if value == 0:
        return "0"
    sign, whole, fraction, exponent = _REPR.match(repr(value)).groups()  # type: ignore[union-attr]
    fraction = fraction or ""
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    n = len(digits)
    if point <= -15 or (point >= 16 and n <= point):
        mantissa = digits[0] + (f".{digits[1:]}" if n > 1 else "")
        return f"{sign}{mantissa}e{point - 1}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= n:
        return f"{sign}{digits}{'0' * (point - n)}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
