"""The raw zone's declared type contract: MySQL column types (from information_schema) → Arrow.

Types are declared from the table definition, never inferred from a batch, so every day of a
table has the same Parquet schema and Athena never sees a partition schema mismatch.
Every value is read as the text the server sent (rows.py) and cast by Arrow per column,
which is both exact and much faster than building Python objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pymysql import converters
from pymysql.constants import FIELD_TYPE

# pymysql decoders with temporal and decimal types left as text, for the connection's own
# queries (schema, fingerprints, checksums). A table's rows bypass them: rows.py reads
# every value as text and `SourceColumn.to_arrow` casts it.
TEXT_DECODERS = dict(converters.conversions)  # encoders too: pymysql uses one map
for _t in (
    FIELD_TYPE.DATETIME,
    FIELD_TYPE.TIMESTAMP,
    FIELD_TYPE.DATE,
    FIELD_TYPE.NEWDATE,
    FIELD_TYPE.TIME,
    FIELD_TYPE.DECIMAL,
    FIELD_TYPE.NEWDECIMAL,
):
    TEXT_DECODERS[_t] = converters.through

_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"}
STRINGS = {  # types whose value arrives, and is kept, as text
    "char",
    "varchar",
    "tinytext",
    "text",
    "mediumtext",
    "longtext",
    "enum",
    "set",
    "json",
    "time",
}
_BINARIES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
GEOMETRIES = {
    "geometry",
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
    "geomcollection",
}
# Above 38 digits neither Athena nor DuckDB has a decimal: such values are kept as their exact
# decimal text.
MAX_DECIMAL_DIGITS = 38


class UnsupportedColumnType(TypeError):
    pass


@dataclass(frozen=True)
class SourceColumn:
    """One column of the source table as information_schema.COLUMNS describes it."""

    name: str
    data_type: str  # e.g. "bigint"
    column_type: str  # e.g. "bigint(20) unsigned"
    nullable: bool
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    datetime_precision: int | None = None

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type.lower()

    @property
    def select_sql(self) -> str:
        """How the column is selected, so that its value arrives exactly: BIT as its unsigned
        integer, FLOAT widened to DOUBLE (MySQL prints a FLOAT with only 6 digits, which does
        not round-trip), geometry as WKB."""
        name = f"`{self.name}`"
        t = self.data_type.lower()
        if t == "bit":
            return f"{name} + 0"
        if t == "float":
            return f"CAST({name} AS DOUBLE)"
        if t in GEOMETRIES:
            return f"ST_AsBinary({name})"
        return name

    @property
    def _unsigned_64(self) -> bool:
        """Values up to 2^64 - 1: BIGINT UNSIGNED, and BIT(64)."""
        t = self.data_type.lower()
        return (t == "bigint" and self.unsigned) or (t == "bit" and self._bits == 64)

    @property
    def _bits(self) -> int:
        return self.numeric_precision or 1

    @property
    def arrow_type(self) -> pa.DataType:
        t = self.data_type.lower()
        if self._unsigned_64:
            return pa.decimal128(20, 0)  # may exceed int64; Athena has no uint64
        if t == "bit":
            return pa.bool_() if self._bits == 1 else pa.int64()
        if t in _INTEGERS:
            return pa.int64()
        if t in ("decimal", "numeric"):
            p, s = self.numeric_precision or 10, self.numeric_scale or 0
            return pa.decimal128(p, s) if p <= MAX_DECIMAL_DIGITS else pa.string()
        if t == "float":
            return pa.float32()
        if t in ("double", "real"):
            return pa.float64()
        if t == "date":
            return pa.date32()
        if t in ("datetime", "timestamp"):
            unit = "ms" if (self.datetime_precision or 0) <= 3 else "us"
            return pa.timestamp(unit, tz="UTC")  # the session's time_zone is pinned to UTC
        if t in STRINGS:
            return pa.string()
        if t in _BINARIES or t in GEOMETRIES:
            return pa.binary()
        raise UnsupportedColumnType(
            f"column {self.name!r} has type {self.column_type!r}, which the raw zone cannot map"
        )

    @property
    def temporal(self) -> bool:
        return self.data_type.lower() in ("date", "datetime", "timestamp")

    def field(self) -> pa.Field:
        """Temporal columns are nullable whatever the table says: MySQL keeps zero dates
        (see `zero_dates`) even in NOT NULL columns, and they become null."""
        return pa.field(self.name, self.arrow_type, nullable=self.nullable or self.temporal)

    def to_arrow(self, text: pa.Array) -> tuple[pa.Array, int]:
        """Arrow array of this column's values from their text as the server sent it (binary or
        string, null for NULL; see rows.py), and how many zero dates became null."""
        target = self.arrow_type
        if pa.types.is_binary(target):
            return text.cast(target), 0
        text = text.cast(pa.string())  # a text column's bytes are UTF-8: the session's charset
        if pa.types.is_boolean(target):  # BIT(1), selected as its integer
            return text.cast(pa.int64()).cast(target), 0
        if pa.types.is_float32(target):  # FLOAT, selected as DOUBLE: its value exactly
            return text.cast(pa.float64()).cast(target), 0
        if pa.types.is_date(target) or pa.types.is_timestamp(target):
            zero = zero_dates(text)
            zeros = pc.sum(zero).as_py() or 0
            if zeros:
                text = pc.if_else(zero, pa.scalar(None, pa.string()), text)
            if pa.types.is_date(target):
                return text.cast(target), zeros
            return text.cast(pa.timestamp(target.unit)).cast(target), zeros
        # integers (BIGINT UNSIGNED and BIT(64) into decimal(20,0)), decimals, doubles, text
        return text.cast(target), 0


# -- zero dates ------------------------------------------------------------------------------
# Without NO_ZERO_DATE / NO_ZERO_IN_DATE in its sql_mode (common on legacy servers), MySQL stores
# DATE, DATETIME and TIMESTAMP values with a zero year, month or day: `0000-00-00`, `2024-00-15`,
# `2024-01-00`, `0000-01-01`. None names a day of any calendar the lake's readers share (Python,
# and so pyiceberg and Dagster's metadata, have no year 0; MySQL itself supports 1000-9999), so
# the lake holds each as null and counts it per column. The rule is written twice, once for
# each side of a checksum, and both test the value's text exactly alike: here for the text the
# server sent, and in SQL (`zero_date_sql`) for the server's own checksum of the same rows.


def zero_dates(text: pa.Array) -> pa.Array:
    """Which of a temporal column's values (their `YYYY-MM-DD…` text) have a zero year,
    month or day; false for NULL."""
    zero = pc.or_(
        pc.or_(
            pc.equal(pc.utf8_slice_codeunits(text, 0, 4), "0000"),
            pc.equal(pc.utf8_slice_codeunits(text, 5, 7), "00"),
        ),
        pc.equal(pc.utf8_slice_codeunits(text, 8, 10), "00"),
    )
    return pc.fill_null(zero, False)


def zero_date_sql(name: str) -> str:
    """SQL that is true where the temporal column `name` (quoted) holds a zero date, reading
    its text as `zero_dates` does (MONTH() and friends return NULL for such values under some
    sql_modes; the text is what the client receives under every mode)."""
    return (
        f"(LEFT({name}, 4) = '0000' OR SUBSTRING({name}, 6, 2) = '00'"
        f" OR SUBSTRING({name}, 9, 2) = '00')"
    )


def without_zero_date_sql(name: str) -> str:
    """The temporal column `name` (quoted), NULL where it holds a zero date: as the lake has it."""
    return f"IF({zero_date_sql(name)}, NULL, {name})"


def schema_of(columns: Sequence[SourceColumn]) -> pa.Schema:
    return pa.schema([c.field() for c in columns])
