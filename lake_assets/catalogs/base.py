"""What the assets need of a table catalog, and the table's declared columns.

Two implementations: DuckDB (`duckdb_catalog.py`) for a local lake and the AWS Glue Data
Catalog (`glue.py`) for an S3 lake. Either way a day is visible only once published, and
publishing a day switches it from its old files to its new ones in one step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
from dagster import ConfigurableResource

from lake_assets.catalogs.types import glue_type
from lake_assets.core.days import date_to_path_value
from lake_assets.core.tables import REPORTS
from lake_assets.lake.parquet import footer_rows
from lake_assets.lake.retention import Published
from lake_assets.lake.store import LakeStore

# The table's columns in Hive/Glue/Athena types (contract: lake-contract.md, "The table").
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("report_id", "decimal(20,0)"),  # BIGINT UNSIGNED: exact to 2^64 - 1
    ("device_id", "bigint"),
    ("ts", "timestamp"),
    ("channel", "string"),
    ("unit", "string"),
    ("value", "double"),
)


@dataclass(frozen=True)
class TableShape:
    """A catalog table: its name, its columns in Hive/Glue types, and whether it has one
    partition per day (`date`) or is one whole copy."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partitioned: bool = True


REPORTS_SHAPE = TableShape(REPORTS.name, TABLE_COLUMNS)


def as_shape(table: TableShape | str) -> TableShape:
    if isinstance(table, TableShape):
        return table
    if table != REPORTS_SHAPE.name:
        raise ValueError(f"the shape of table {table!r} must be given")
    return REPORTS_SHAPE


def shape_of(name: str, schema: pa.Schema, partitioned: bool) -> TableShape:
    return TableShape(name, tuple((f.name, glue_type(f.type)) for f in schema), partitioned)


@dataclass(frozen=True)
class PartitionSpec:
    """One day of a table as the catalog lists it."""

    date: str  # YYYYMMDD
    location: str  # the attempt folder holding the day's files
    files: list[str]  # absolute paths (or URIs) of the day's Parquet files
    rows: int


def published_attempt(spec: PartitionSpec | None) -> str | None:
    """The attempt folder a published day points at (the last segment of its location)."""
    return spec.location.rstrip("/").rsplit("/", 1)[-1] if spec else None


def published_lookup(catalog: LakeCatalog, table: str) -> Callable[[dt.date | None], Published]:
    """What the catalog shows of a day, read afresh at each call (for retention)."""

    return lambda day: catalog.published(table, slot_value(day))


def slot_value(day: dt.date | None) -> str:
    """A day's partition value, YYYYMMDD; "" for an unpartitioned table's one slot."""
    return date_to_path_value(day) if day else ""


class LakeCatalog(ConfigurableResource):
    """What the assets need of a catalog: DuckDB for a local lake, Glue for an S3 lake, or
    Iceberg tables (iceberg_catalog.py)."""

    def describe(self) -> str:
        raise NotImplementedError

    def partitions(self, table: str) -> dict[str, PartitionSpec]:
        raise NotImplementedError

    def partition(self, table: str, date: str) -> PartitionSpec | None:
        """One published day (YYYYMMDD), or None."""
        return self.partitions(table).get(date)

    def publish(
        self, table: TableShape | str, partitions: Sequence[PartitionSpec], run_id: str
    ) -> None:
        """Make `partitions` the published version of their days (of an unpartitioned table:
        one spec, date "", the whole table)."""
        raise NotImplementedError

    def published(self, table: str, date: str) -> Published:
        """The day as the catalog shows it: the published attempt, which is all it reads (a
        table format with time travel also reads what its retained snapshots do)."""
        attempt = published_attempt(self.partition(table, date))
        return Published(attempt, frozenset([attempt] if attempt else []))

    def retained_attempts(self, table: str, date: str) -> list[str]:
        """The day's attempts the catalog still reads; empty if unpublished."""
        return sorted(self.published(table, date).read)

    def published_by(self, table: str, date: str) -> dict[str, str]:
        """Who published the day's current version, where the catalog records it (an Iceberg
        snapshot's summary: snapshot, run and attempt); empty where it does not."""
        return {}

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run read-only SQL against the table; column names and rows."""
        raise NotImplementedError

    def published_rows(self, table: str, spec: PartitionSpec, store: LakeStore) -> int:
        """The rows a published day (or a whole unpartitioned table) holds, counted through
        the catalog where it can query, else from the Parquet footers at its location."""
        prefix = spec.location.removeprefix(store.uri(""))
        return footer_rows(store, [k for k in store.list_keys(prefix) if k.endswith(".parquet")])
