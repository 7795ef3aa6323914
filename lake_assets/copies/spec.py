"""A copied table as a value: what to copy, how, and under which names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dagster import AssetKey

COPIES_GROUP = "copies"


class CopyMode(StrEnum):
    FULL = "full"  # the whole table each run, replaced atomically
    DAILY = "daily"  # one day's rows per partition, by a DATE/DATETIME/TIMESTAMP column


@dataclass(frozen=True)
class TableSpec:
    """One copied table. `table` is the MySQL table; the lake folder, the DuckDB view and the
    Glue table are `name` (the table's name in lower case, as Glue and Athena store it)."""

    table: str
    mode: CopyMode
    date_column: str | None = None
    sort_by: tuple[str, ...] = ()  # empty: the primary key
    checksum_columns: tuple[str, ...] = ()  # empty: every column
    origin: str = ""  # where it was declared, for messages: "copies.yaml, entry 2 (devices)"

    @property
    def name(self) -> str:
        return self.table.lower()

    @property
    def daily(self) -> bool:
        return self.mode is CopyMode.DAILY

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey([COPIES_GROUP, self.name])

    @property
    def label(self) -> str:
        return self.origin or f"copy of {self.table}"
