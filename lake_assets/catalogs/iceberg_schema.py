"""Iceberg schemas for the lake's tables (each column's type: catalogs/types.py); the data
files' layout that goes with them is lake/file_layout.py.

A day's files are the ones the project streams anyway; for an Iceberg table they differ in
two ways: timestamps are in microseconds (Iceberg's only precision), and a daily table's files
carry the `date` partition column (YYYYMMDD, one value per file, with min/max statistics, from
which `add_files` reads the file's partition).

The files carry no Iceberg field ids. The table's name mapping (`schema.name-mapping.default`,
which `add_files` sets and every schema change keeps up to date) maps their columns by name, so
a column the source gains later gets a new id in the table, and older files read it as null.
(Ids written into the files would have to match ids the catalog assigns and renumbers.)

Iceberg has no unsigned or 8/16-bit integers and its decimals stop at 38 digits:

| stored (Arrow) | Iceberg |
|---|---|
| int8, int16, int32, uint8, uint16 | int |
| uint32, int64 | long |
| decimal(20,0) (BIGINT UNSIGNED) | decimal(20,0) |
| decimal(p,s), p ≤ 38 | decimal(p,s) |
| decimal(p,s), p > 38 (e.g. DECIMAL(65,30)) | string: the exact digits, the scale kept |
| timestamp (UTC) | timestamptz (µs) |
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import NestedField

from lake_assets.catalogs.types import iceberg_type
from lake_assets.core.days import PARTITION_COLUMN

PARTITION_FIELD_ID = 1000  # Iceberg numbers partition fields from 1000


def table_schema(files: pa.Schema) -> Schema:
    """The Iceberg schema of a table whose data files have the Arrow schema `files` (its
    field ids are the catalog's to assign)."""
    return Schema(
        *(
            NestedField(i, f.name, iceberg_type(f.type), required=not f.nullable)
            for i, f in enumerate(files, start=1)
        )
    )


def partition_spec(schema: Schema) -> PartitionSpec:
    """Identity on `date` (YYYYMMDD) when the table has one; else unpartitioned."""
    if PARTITION_COLUMN not in schema.column_names:
        return PartitionSpec()
    source = schema.find_field(PARTITION_COLUMN).field_id
    return PartitionSpec(
        PartitionField(source, PARTITION_FIELD_ID, IdentityTransform(), PARTITION_COLUMN)
    )
