"""The data files a table's days are written as, by the lake's table format.

Hive (the default): the stored schema as it is; the day is in the path only. Iceberg: µs
timestamps, and a daily table's `date` column in every file (below), so that the
files can be added to an Iceberg table as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lake_assets.core.days import PARTITION_COLUMN, date_to_path_value


@dataclass(frozen=True)
class FileLayout:
    table_format: str = "hive"

    @property
    def iceberg(self) -> bool:
        return self.table_format == "iceberg"

    def schema(self, schema: pa.Schema, partitioned: bool = True) -> pa.Schema:
        if not self.iceberg:
            return schema
        return file_schema(schema, partitioned)

    def rows(
        self, data: pa.Table | pa.RecordBatch, files: pa.Schema, day: dt.date | None
    ) -> pa.Table | pa.RecordBatch:
        if not self.iceberg:
            return data
        return for_day(data, files, date_to_path_value(day) if day else "")

    def statistics(self, columns: list[str], files: pa.Schema) -> list[str]:
        """Min/max columns: the partition column too, from which Iceberg reads a file's day."""
        if self.iceberg and PARTITION_COLUMN in files.names:
            return [*columns, PARTITION_COLUMN]
        return columns


HIVE = FileLayout()


# -- Iceberg's data files (Arrow only: pyiceberg is not needed to write them) --------------


def file_schema(schema: pa.Schema, partitioned: bool = True) -> pa.Schema:
    """The Arrow schema of an Iceberg table's data files: µs timestamps, and the `date` column
    last when the table is partitioned by day."""
    fields = [_storable(f) for f in schema]
    if partitioned:
        fields.append(pa.field(PARTITION_COLUMN, pa.dictionary(pa.int8(), pa.string()), False))
    return pa.schema(fields)


def _storable(f: pa.Field) -> pa.Field:
    """Timestamps in µs; decimals of more than 38 digits as their exact text."""
    if pa.types.is_timestamp(f.type) and f.type.unit != "us":
        return f.with_type(pa.timestamp("us", tz=f.type.tz))
    if pa.types.is_decimal(f.type) and f.type.precision > 38:
        return f.with_type(pa.string())
    return f


def for_day(data: pa.Table | pa.RecordBatch, files: pa.Schema, date: str) -> pa.Table:
    """`data` in the files' layout: timestamps in µs and, when partitioned, the day's `date`."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    columns = list(table.columns)
    if PARTITION_COLUMN in files.names and PARTITION_COLUMN not in table.column_names:
        columns.append(_constant(date, table.num_rows))
    return pa.Table.from_arrays(
        [c.cast(f.type) if c.type != f.type else c for c, f in zip(columns, files, strict=True)],
        schema=files,
    )


def _constant(value: str, n: int) -> pa.DictionaryArray:
    """`value` n times, as a one-entry dictionary (no per-row string)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int8)), pa.array([value], pa.string())
    )
