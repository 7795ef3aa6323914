"""What the assets need of a table catalog, and the table's declared columns.

Two implementations: DuckDB (`duckdb_catalog.py`) for a local lake and the AWS Glue Data
Catalog (`glue.py`) for an S3 lake. Either way a day is visible only once published, and
publishing a day switches it from its old files to its new ones in one step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dagster import ConfigurableResource

from lake_assets.partitions import date_to_path_value

# The table's columns in Hive/Glue/Athena types (contract: lake-contract.md, "The table").
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("report_id", "decimal(20,0)"),  # BIGINT UNSIGNED: exact to 2^64 - 1
    ("device_id", "bigint"),
    ("ts", "timestamp"),
    ("channel", "string"),
    ("unit", "string"),
    ("value", "double"),
)
PARTITION_KEY = "date"  # string YYYYMMDD, in paths only


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


def published_lookup(catalog: LakeCatalog, table: str) -> Callable[[dt.date], str | None]:
    """The catalog's published attempt of a day, read afresh at each call (for retention)."""
    return lambda day: published_attempt(catalog.partition(table, date_to_path_value(day)))


class LakeCatalog(ConfigurableResource):
    """What the assets need of a catalog; DuckDB for a local lake, Glue for an S3 lake."""

    def describe(self) -> str:
        raise NotImplementedError

    def partitions(self, table: str) -> dict[str, PartitionSpec]:
        raise NotImplementedError

    def partition(self, table: str, date: str) -> PartitionSpec | None:
        """One published day (YYYYMMDD), or None."""
        return self.partitions(table).get(date)

    def publish(self, table: str, partitions: Sequence[PartitionSpec], run_id: str) -> None:
        """Make `partitions` the published version of their days."""
        raise NotImplementedError

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run read-only SQL against the table; column names and rows."""
        raise NotImplementedError
