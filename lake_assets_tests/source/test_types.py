"""The raw zone's declared type contract, column by column."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from lake_assets.source.types import SourceColumn, UnsupportedColumnType


def col(data_type: str, column_type: str | None = None, **kw: int) -> SourceColumn:
    return SourceColumn("c", data_type, column_type or data_type, True, **kw)


@pytest.mark.parametrize(
    ("column", "arrow_type"),
    [
        (col("bigint", "bigint(20) unsigned"), pa.decimal128(20, 0)),
        (col("bigint", "bigint(20)"), pa.int64()),
        (col("int", "int(10) unsigned"), pa.int64()),
        (
            col("decimal", "decimal(12,4)", numeric_precision=12, numeric_scale=4),
            pa.decimal128(12, 4),
        ),
        (col("double"), pa.float64()),
        (col("datetime", "datetime(3)", datetime_precision=3), pa.timestamp("ms", tz="UTC")),
        (col("timestamp", "timestamp(6)", datetime_precision=6), pa.timestamp("us", tz="UTC")),
        (col("date"), pa.date32()),
        (col("json"), pa.string()),
        (col("mediumtext"), pa.string()),
        (col("blob"), pa.binary()),
    ],
)
def test_declared_types(column: SourceColumn, arrow_type: pa.DataType) -> None:
    assert column.arrow_type == arrow_type


def test_zero_dates_become_null_and_are_counted() -> None:
    array, zeros = col("datetime", datetime_precision=0).to_arrow(
        pa.array([b"2026-01-01 10:00:00", b"0000-00-00 00:00:00", None])
    )
    assert zeros == 1
    assert array.to_pylist() == [dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC), None, None]
    dates, zeros = col("date").to_arrow(pa.array([b"0000-00-00", b"2026-02-03"]))
    assert (zeros, dates.to_pylist()) == (1, [None, dt.date(2026, 2, 3)])


def test_decimals_stay_exact() -> None:
    column = col("decimal", numeric_precision=20, numeric_scale=6)
    array, _ = column.to_arrow(pa.array([b"12345678901234.123456", b"-0.000001"]))
    assert array.to_pylist() == [
        decimal.Decimal("12345678901234.123456"),
        decimal.Decimal("-0.000001"),
    ]


def test_unsupported_type_names_the_column() -> None:
    with pytest.raises(UnsupportedColumnType, match=r"'c'.*vector"):
        _ = col("vector", "vector(3)").arrow_type
