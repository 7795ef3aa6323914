"""The one type mapping of the catalogs: a stored Arrow type as Glue/Athena (Hive), DuckDB
and Iceberg read it. (What a MySQL column is stored as is source/types.py; docs/copies.md's type
table shows the whole chain.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from pyiceberg.types import IcebergType


def glue_type(t: pa.DataType) -> str:
    """The Hive/Glue type Athena reads a stored Arrow type as (DuckDB reads them all too)."""
    if pa.types.is_dictionary(t):
        return glue_type(t.value_type)
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    raise TypeError(f"no catalog type for Arrow type {t}")


DUCKDB_TYPES = {
    "boolean": "BOOLEAN",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "binary": "BLOB",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}


def duckdb_type(glue_type: str) -> str:
    return glue_type.upper() if glue_type.startswith("decimal(") else DUCKDB_TYPES[glue_type]


def iceberg_type(t: pa.DataType) -> IcebergType:
    """The Iceberg type of a stored Arrow type: no unsigned or 8/16-bit integers (int, long),
    decimals up to 38 digits, timestamps with a zone as timestamptz (µs)."""
    from pyiceberg.types import (  # here: a Hive lake never loads pyiceberg
        BinaryType,
        BooleanType,
        DateType,
        DecimalType,
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        StringType,
        TimestampType,
        TimestamptzType,
    )

    if pa.types.is_dictionary(t):
        return iceberg_type(t.value_type)
    if pa.types.is_boolean(t):
        return BooleanType()
    if pa.types.is_integer(t):
        return LongType() if t.bit_width == 64 or t == pa.uint32() else IntegerType()
    if pa.types.is_float32(t):
        return FloatType()
    if pa.types.is_floating(t):
        return DoubleType()
    if pa.types.is_decimal(t):
        if t.precision > 38:
            raise TypeError(f"Iceberg decimals stop at 38 digits: {t} has no Iceberg type")
        return DecimalType(t.precision, t.scale)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return StringType()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return BinaryType()
    if pa.types.is_date(t):
        return DateType()
    if pa.types.is_timestamp(t):
        return TimestamptzType() if t.tz else TimestampType()
    raise TypeError(f"no Iceberg type for Arrow type {t}")
