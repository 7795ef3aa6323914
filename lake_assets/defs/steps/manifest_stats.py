"""What a day manifest records besides its files, typed: the reports' zones (raw, quarantine,
decoded) and a table copy's. One way to read them: `XStats.of(manifest)`.

The JSON is unchanged (manifests written before these types read back the same); a key an
older manifest lacks takes its default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self

from lake_assets.core.fingerprints import DayFingerprint, RowChecksum
from lake_assets.lake.zones import DayManifest
from lake_assets.source.types import SourceColumn


class _Stats:
    @classmethod
    def of(cls, manifest: DayManifest) -> Self:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls._from({k: v for k, v in manifest.stats.items() if k in known})

    @classmethod
    def _from(cls, body: dict[str, Any]) -> Self:
        return cls(**body)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class RawStats(_Stats):
    """A raw day: the source snapshot it was read in."""

    fingerprint: DayFingerprint
    zero_dates: dict[str, int] = field(default_factory=dict)
    source_columns: dict[str, str] = field(default_factory=dict)  # name → MySQL column type
    source: str = ""

    @classmethod
    def _from(cls, body: dict[str, Any]) -> RawStats:
        return cls(**{**body, "fingerprint": DayFingerprint(**body["fingerprint"])})


@dataclass(frozen=True)
class QuarantineStats(_Stats):
    """A quarantine day: what it was decoded from, and why rows were set aside."""

    raw_rows: int = 0
    raw_attempt: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DataStats(_Stats):
    """A decoded day: what it was decoded from, and what it holds."""

    raw_rows: int = 0
    raw_attempt: str | None = None
    source_fingerprint: DayFingerprint | None = None  # of the raw extract it was decoded from
    channels: dict[str, int] = field(default_factory=dict)
    null_values: int = 0
    quarantined: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    # which report yielded how many rows, accounted while written (lake_assets/lake/accounting.py)
    accounting: dict[str, int] = field(default_factory=dict)

    @classmethod
    def _from(cls, body: dict[str, Any]) -> DataStats:
        fp = body.get("source_fingerprint")
        return cls(**{**body, "source_fingerprint": DayFingerprint(**fp) if fp else None})


@dataclass(frozen=True)
class CopyStats(_Stats):
    """A table copy's day (or whole table): the source it was verified against."""

    source_checksum: RowChecksum  # the server's, in the extract's snapshot
    checksummed: tuple[SourceColumn, ...]  # the columns the row checksum covers
    catalog_columns: tuple[tuple[str, str], ...]  # name → Glue type
    source: str  # mysql://user@host:port/db (no password)
    zero_dates: dict[str, int] = field(default_factory=dict)

    @classmethod
    def _from(cls, body: dict[str, Any]) -> CopyStats:
        return cls(
            source_checksum=RowChecksum(**body["source_checksum"]),
            checksummed=tuple(SourceColumn(**c) for c in body["checksummed"]),
            catalog_columns=tuple((n, t) for n, t in body["catalog_columns"]),
            source=body["source"],
            zero_dates=dict(body.get("zero_dates", {})),
        )
