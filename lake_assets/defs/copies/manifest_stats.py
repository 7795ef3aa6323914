"""What a copy's manifest records besides its files: typed, read back by the checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lake_assets.core.fingerprints import RowChecksum
from lake_assets.source.types import SourceColumn


@dataclass(frozen=True)
class CopyStats:
    source_checksum: RowChecksum  # the server's, in the extract's snapshot
    checksummed: tuple[SourceColumn, ...]  # the columns the row checksum covers
    catalog_columns: tuple[tuple[str, str], ...]  # name → Glue type
    source: str  # mysql://user@host:port/db (no password)
    zero_dates: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> CopyStats:
        return cls(
            source_checksum=RowChecksum(**body["source_checksum"]),
            checksummed=tuple(SourceColumn(**c) for c in body["checksummed"]),
            catalog_columns=tuple((n, t) for n, t in body["catalog_columns"]),
            source=body["source"],
            zero_dates=dict(body.get("zero_dates", {})),
        )
