"""Source schema drift: compare the source table with the raw zone's accepted schema.

The accepted schema (`raw/reports/_schema.json`, name → column type and nullability) is what
every raw day was written with. A new nullable column is accepted and flows into new days
(older days simply lack it, which Parquet readers and Athena read as null). A dropped or
retyped column, or a new NOT NULL one, would make days disagree: the extract stops before
writing and says exactly what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lake_assets.core.errors import ExplainedFailure
from lake_assets.core.tables import REPORTS
from lake_assets.lake.store import LakeStore
from lake_assets.source.types import SourceColumn


class SchemaDrift(ExplainedFailure):
    """The source table changed in a way the raw zone cannot absorb (not retried)."""


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)  # nullable: accepted
    breaking: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.breaking)


def _describe(columns: list[SourceColumn]) -> dict[str, dict[str, object]]:
    return {c.name: {"type": c.column_type, "nullable": c.nullable} for c in columns}


def compare(accepted: dict[str, dict[str, object]], columns: list[SourceColumn]) -> Drift:
    current = _describe(columns)
    drift = Drift()
    for name, was in accepted.items():
        now = current.get(name)
        if now is None:
            drift.breaking.append(f"column `{name}` ({was['type']}) was dropped")
        elif now["type"] != was["type"]:
            drift.breaking.append(
                f"column `{name}` changed type from {was['type']} to {now['type']}"
            )
    for name, now in current.items():
        if name not in accepted:
            if now["nullable"]:
                drift.added.append(f"column `{name}` ({now['type']}, nullable) was added")
            else:
                drift.breaking.append(
                    f"column `{name}` ({now['type']}, NOT NULL) was added; older days have no "
                    "value for it"
                )
    return drift


def schema_key(zone: str, table: str) -> str:
    """Where a daily table's accepted schema lives: `raw/reports/_schema.json`, and for a
    daily copy `data/<table>/_schema.json`."""
    return f"{zone}/{table}/_schema.json"


SCHEMA_KEY = schema_key("raw", REPORTS.name)


def accept_or_refuse(
    store: LakeStore, columns: list[SourceColumn], key: str = SCHEMA_KEY, table: str = REPORTS.table
) -> Drift:
    """Raise SchemaDrift for a breaking change; record an additive one (or the first schema)."""
    stored = store.get_bytes(key)
    if stored is None:
        store.put_bytes(key, json.dumps(_describe(columns), indent=2).encode())
        return Drift()
    drift = compare(json.loads(stored), columns)
    if drift.breaking:
        raise SchemaDrift(
            f"the source table `{table}` changed: "
            + "; ".join(drift.breaking + drift.added)
            + ". Nothing was written. If the change is intended, migrate the lake's "
            f"older days (or start a new LAKE_ROOT) and delete {key} to accept it."
        )
    if drift.added:
        store.put_bytes(key, json.dumps(_describe(columns), indent=2).encode())
    return drift
