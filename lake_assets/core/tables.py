"""A table as a value: what to copy, how, and under which names. Copies declared in the
copies file are `TableSpec`s (core/copies_file.py), and so is the one table the lake transforms,
`REPORTS`."""

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


# `raw_reports` is the daily copy of `reports` (by `date_start`, device-major), checked against
# the source with the key `id|updated_at`, which the late-data sensor can afford to recompute
# every tick; `decoded_reports` and `reports_table` are the transform and its catalog table.
REPORTS = TableSpec(
    table="reports",
    mode=CopyMode.DAILY,
    date_column="date_start",
    sort_by=("device_id", "id"),  # device-major: row groups prune on device_id, then ts
    origin="the contract's reports table",
)
