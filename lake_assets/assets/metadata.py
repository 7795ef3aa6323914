"""Metadata helpers: per-day tables and range totals, as Dagster shows them in the UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema


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


def range_note(n_days: int) -> dict[str, Any]:
    """Dagster copies one metadata dict onto every day of a single-run range: say so."""
    if n_days <= 1:
        return {}
    return {
        "figures": MetadataValue.text(
            f"totals over the run's {n_days} days; each day's own figures are in its "
            "_manifest.json and the per-day table"
        )
    }
