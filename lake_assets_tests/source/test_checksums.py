"""The lake side of the copy's row checksum renders values as MySQL does (the server side is
checked against MariaDB in test_type_contract.py; here, the renderings on their own)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from lake_assets.source.checksums import mysql_datetime_text

# DATETIME's range in MySQL
DATETIMES = st.datetimes(
    min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
)


def stored_as(value: dt.datetime, fsp: int) -> dt.datetime:
    """The value a DATETIME(fsp) column holds: fsp fractional digits."""
    step = 10 ** (6 - fsp)
    return value.replace(microsecond=value.microsecond // step * step)


def as_mysql_prints(value: dt.datetime, fsp: int) -> str:
    """DATETIME(fsp) as MySQL's CONCAT gives it: a stored value has fsp digits, none dropped."""
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    return text + (f".{value.microsecond:06d}"[: fsp + 1] if fsp else "")


@given(st.lists(st.one_of(st.none(), DATETIMES), max_size=50), st.integers(0, 6), st.booleans())
def test_datetimes_render_as_mysql_prints_them(
    values: list[dt.datetime | None], fsp: int, utc: bool
) -> None:
    # the lake's timestamps are UTC (tz-aware); a naive array is the same wall clock
    unit = "ms" if fsp <= 3 else "us"
    stored = [None if v is None else stored_as(v, fsp) for v in values]
    arrow_type = pa.timestamp(unit, tz="UTC" if utc else None)
    array = pa.array(
        [None if v is None else v.replace(tzinfo=dt.UTC) if utc else v for v in stored], arrow_type
    )
    expected = [None if v is None else as_mysql_prints(v, fsp) for v in stored]
    assert mysql_datetime_text(array, fsp).to_pylist() == expected
