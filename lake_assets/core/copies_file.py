"""The copies file (LAKE_COPIES, else ./copies.yaml): read and judged at load, without MySQL.

Everything that can be judged from the file alone fails here, naming the file, the entry and
what is wrong. What only the source can judge (does the table exist, is the date column a
DATE/DATETIME/TIMESTAMP) fails the copy's run at once (extract.py) and `lake-assets doctor`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lake_assets.core.tables import CopyMode, TableSpec

KEYS = {"table", "mode", "date_column", "sort_by"}
# Names the lake already uses: the reports pipeline's assets and table, the partition column,
# and the DuckDB catalog's own bookkeeping table.
RESERVED = {
    "reports",  # lake_assets.core.tables.REPORTS
    "raw_reports",
    "decoded_reports",
    "reports_table",
    "quarantine",
    "date",
    "lake_partitions",
    "lake_tables",
}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class CopiesConfigError(ValueError):
    """The copies file is wrong; the message names the file, the entry and the fix."""


def load_copies(path: Path) -> tuple[TableSpec, ...]:
    try:
        body = yaml.safe_load(path.read_text())
    except OSError as e:
        raise CopiesConfigError(
            f"{path}: cannot be read ({e.strerror}); set LAKE_COPIES to the copies file"
        ) from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise CopiesConfigError(f"{path}: not valid YAML{line}: {e}") from None
    if body is None:
        return ()
    if not isinstance(body, dict) or set(body) - {"copies"}:
        raise CopiesConfigError(f"{path}: expected one key, `copies:`, holding a list of tables")
    entries = body.get("copies") or []
    if not isinstance(entries, list):
        raise CopiesConfigError(f"{path}: `copies:` must be a list of tables")
    specs: list[TableSpec] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        spec = _spec(path, number, entry)
        if spec.name in seen:
            raise CopiesConfigError(
                f"{spec.origin}: table `{spec.table}` is already copied by entry {seen[spec.name]}"
            )
        seen[spec.name] = number
        specs.append(spec)
    return tuple(specs)


def _spec(path: Path, number: int, entry: Any) -> TableSpec:
    if not isinstance(entry, dict):
        raise CopiesConfigError(f"{path}, entry {number}: must be a mapping with `table:`")
    table = entry.get("table")
    named = f" ({table})" if isinstance(table, str) else ""
    where = f"{path}, entry {number}{named}"

    def fail(problem: str) -> CopiesConfigError:
        return CopiesConfigError(f"{path}, entry {number}{named}: {problem}")

    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}")
    if not isinstance(table, str) or not IDENTIFIER.match(table):
        raise fail("`table:` must be a MySQL table name (letters, digits, _)")
    if table.lower() in RESERVED:
        raise fail(
            f"`{table}` clashes with a name the lake already uses ({', '.join(sorted(RESERVED))})"
        )
    mode = entry.get("mode")
    if mode not in {m.value for m in CopyMode}:
        raise fail(f"`mode: {mode}` is not one of: full, daily")
    date_column = entry.get("date_column")
    if mode == CopyMode.DAILY:
        if not isinstance(date_column, str) or not IDENTIFIER.match(date_column):
            raise fail("a daily copy needs `date_column:`, a DATE, DATETIME or TIMESTAMP column")
        if date_column.lower() == "date":
            raise fail("`date_column: date` clashes with the lake's `date` partition column")
    elif date_column is not None:
        raise fail("`date_column:` is for daily copies only (`mode: daily`)")
    sort_by = entry.get("sort_by", [])
    if isinstance(sort_by, str):
        sort_by = [sort_by]
    if not isinstance(sort_by, list) or not all(
        isinstance(c, str) and IDENTIFIER.match(c) for c in sort_by
    ):
        raise fail("`sort_by:` must be a column name or a list of them")
    return TableSpec(
        table=table,
        mode=CopyMode(mode),
        date_column=date_column,
        sort_by=tuple(sort_by),
        origin=where,
    )
