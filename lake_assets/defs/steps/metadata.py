"""Metadata helpers: per-day tables and range totals, as Dagster shows them in the UI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
)


def column_schema(columns: Mapping[str, str]) -> TableSchema:
    """The UI's column schema from a manifest's `columns` (name → stored Arrow type)."""
    return TableSchema(columns=[TableColumn(name=n, type=t) for n, t in columns.items()])


def stored_columns(schema: pa.Schema) -> dict[str, str]:
    """name → type as stored in Parquet (dictionary-encoded strings are plain strings there)."""
    return {
        f.name: str(f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema
    }


def markdown_table(rows: Sequence[dict[str, Any]]) -> MetadataValue:
    if not rows:
        return MetadataValue.md("_no rows_")
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(r.get(h)) for h in header) + " |" for r in rows]
    return MetadataValue.md("\n".join(lines))


def _cell(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.3f}"
    return "" if v is None else str(v).replace("|", "\\|")


def result_per_day(
    context: AssetExecutionContext,
    per_day: Mapping[dt.date, dict[str, Any]],
    common: dict[str, Any],
) -> MaterializeResult:
    """Each day's materialization shows that day's own figures, also inside a single-run range
    (`add_asset_metadata(..., partition_key=day)`: one materialization per day, its figures
    winning over the range's); `common` holds only what is true of every day of the run."""
    if len(per_day) == 1:
        [figures] = per_day.values()
        return MaterializeResult(metadata={**common, **figures})
    for day, figures in per_day.items():
        context.add_asset_metadata(figures, partition_key=day.isoformat())
    return MaterializeResult(metadata=common)
