"""What a set of rows looked like, cheap to compute and exact to compare: a day of `reports`
as the late-data sensor and the raw check see it (`DayFingerprint`), and any copied table's
rows (`RowChecksum`). The source computes them in SQL (source/), the lake from its files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DayFingerprint:
    """What a day of the source looked like in one snapshot: cheap to compute, exact to compare."""

    rows: int
    min_id: int | None
    max_id: int | None
    max_updated_at: str | None
    checksum: int  # BIT_XOR of CRC32("id|updated_at") over the day's rows

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "min_id": self.min_id,
            "max_id": self.max_id,
            "max_updated_at": self.max_updated_at,
            "checksum": self.checksum,
        }


@dataclass(frozen=True)
class RowChecksum:
    """COUNT, BIT_XOR and SUM of CRC32 over the rows' keys."""

    rows: int = 0
    xor: int = 0
    sum: int = 0

    def __add__(self, other: RowChecksum) -> RowChecksum:
        return RowChecksum(self.rows + other.rows, self.xor ^ other.xor, self.sum + other.sum)
