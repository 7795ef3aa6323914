"""Which report yielded how many rows, accounted while a decoded day is written.

For every batch, `decode_reports` says how many readings each raw report must yield (its
header's n_samples × n_channels) or that it is malformed. `Accounting` folds both sides into
order-free digests — one for what the headers expect, one for what was actually handed to the
writers (the readings' `report_id`s run by run, the quarantine's ids) — plus plain counts. The
`decoded_accounts_for_raw` check then compares the manifest's digests and counts with each
other and with the stored files' footers, instead of reading the day back.

A digest is the sum (mod 2^64) of a 64-bit mix of (report id, rows) over reports: equal
multisets give equal digests; a lost, extra, duplicated or miscounted report changes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, element-wise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def digest(report_ids: np.ndarray, rows: np.ndarray) -> int:
    """Sum over reports of mix(id ^ mix(rows)), mod 2^64."""
    if len(report_ids) == 0:
        return 0
    ids = report_ids.astype(np.uint64, copy=False)
    mixed = _mix(ids ^ _mix(rows.astype(np.uint64)))
    with np.errstate(over="ignore"):
        return int(np.add.reduce(mixed, dtype=np.uint64))


def runs(report_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(id, length) of each run of equal consecutive ids. A report's readings are contiguous;
    if they were not, its runs would not digest like the header's count, and the check fails."""
    if len(report_ids) == 0:
        return report_ids, np.empty(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], report_ids[1:] != report_ids[:-1])))
    lengths = np.diff(np.append(starts, len(report_ids)))
    return report_ids[starts], lengths


@dataclass
class Accounting:
    raw_rows: int = 0
    readings_expected: int = 0
    readings_written: int = 0
    readings_expected_digest: int = 0
    readings_written_digest: int = 0
    malformed: int = 0
    quarantined: int = 0
    malformed_digest: int = 0
    quarantined_digest: int = 0

    def add(
        self,
        raw_ids: np.ndarray,
        expected: np.ndarray,
        reading_ids: np.ndarray,
        quarantine_ids: np.ndarray,
    ) -> None:
        """One batch: its raw report ids with the readings each must yield (-1: malformed),
        and the report ids of the readings and quarantine rows written for it."""
        yielding, malformed = expected > 0, expected < 0
        ids, lengths = runs(reading_ids)
        ones = np.ones(int(malformed.sum()), np.int64)
        self.raw_rows += len(raw_ids)
        self.readings_expected += int(expected[yielding].sum())
        self.readings_written += len(reading_ids)
        self.malformed += len(ones)
        self.quarantined += len(quarantine_ids)
        with np.errstate(over="ignore"):
            self.readings_expected_digest = _add(
                self.readings_expected_digest, digest(raw_ids[yielding], expected[yielding])
            )
            self.readings_written_digest = _add(self.readings_written_digest, digest(ids, lengths))
            self.malformed_digest = _add(self.malformed_digest, digest(raw_ids[malformed], ones))
            self.quarantined_digest = _add(
                self.quarantined_digest,
                digest(quarantine_ids, np.ones(len(quarantine_ids), np.int64)),
            )

    def problems(self) -> dict[str, object]:
        """What does not add up, by name; empty when every report is accounted for."""
        out: dict[str, object] = {}
        if (self.readings_expected, self.readings_expected_digest) != (
            self.readings_written,
            self.readings_written_digest,
        ):
            out["reports with wrong reading counts"] = (
                f"{self.readings_expected:,} readings expected, {self.readings_written:,} written"
                + ("" if self.readings_expected != self.readings_written else " (per report)")
            )
        if (self.malformed, self.malformed_digest) != (self.quarantined, self.quarantined_digest):
            out["malformed reports not quarantined exactly once"] = (
                f"{self.malformed:,} malformed, {self.quarantined:,} quarantined"
            )
        return out

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _add(a: int, b: int) -> int:
    return (a + b) & 0xFFFFFFFFFFFFFFFF
