"""The data files a table's days are written as, by the lake's table format.

Hive (the default): the stored schema as it is; the day is in the path only. Iceberg: µs
timestamps, and a daily table's `date` column in every file (iceberg/schema.py), so that the
files can be added to an Iceberg table as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
        from lake_assets.iceberg.schema import file_schema

        return file_schema(schema, partitioned)

    def rows(
        self, data: pa.Table | pa.RecordBatch, files: pa.Schema, day: dt.date | None
    ) -> pa.Table | pa.RecordBatch:
        if not self.iceberg:
            return data
        from lake_assets.iceberg.schema import for_day

        return for_day(data, files, date_to_path_value(day) if day else "")

    def statistics(self, columns: list[str], files: pa.Schema) -> list[str]:
        """Min/max columns: the partition column too, from which Iceberg reads a file's day."""
        if self.iceberg and PARTITION_COLUMN in files.names:
            return [*columns, PARTITION_COLUMN]
        return columns


HIVE = FileLayout()
