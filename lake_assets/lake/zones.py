"""The lake's layout (contract: raw/, data/, quarantine/ … /date=YYYYMMDD/) and day manifests.

Every write of a day goes to a fresh attempt folder, `<zone>/<table>/date=YYYYMMDD/<attempt>/`.
The day's `_manifest.json` (ignored by Athena and Hive, which skip `_` files) names the current
attempt, its files and its figures; replacing it, by compare-and-set and only ever forward, is
the atomic switch from the old version of a day to the new one. Superseded attempts are deleted
by `lake/retention.py`, so a failed run always leaves the last good version in place.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lake_assets.core.days import date_to_path_value
from lake_assets.core.tables import REPORTS
from lake_assets.lake.store import LakeStore

RAW, DATA, QUARANTINE = "raw", "data", "quarantine"
TABLE = REPORTS.name
MANIFEST = "_manifest.json"


ATTEMPT_TIME = "%Y%m%dT%H%M%S%fZ"


def new_attempt_id(run_id: str) -> str:
    """Sortable by start time and unique per run: `20260102T030405123456Z-1a2b3c4d` (no '=', so
    never a Hive key). Order decides which of two runs of the same day wins: the later."""
    return f"{dt.datetime.now(dt.UTC):{ATTEMPT_TIME}}-{run_id[:8]}"


def attempt_started(attempt: str) -> dt.datetime | None:
    """When an attempt started, from its id; None for a name that is not an attempt id."""
    try:
        started = dt.datetime.strptime(attempt.split("-", 1)[0], ATTEMPT_TIME)
    except ValueError:
        return None
    return started.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class DayPath:
    """One day of one zone."""

    zone: str
    day: dt.date | None  # None: an unpartitioned table (a full copy), `<zone>/<table>/`
    table: str = TABLE

    @property
    def prefix(self) -> str:
        return f"{self.zone}/{self.table}/" + (
            f"date={date_to_path_value(self.day)}/" if self.day else ""
        )

    @property
    def manifest_key(self) -> str:
        return self.prefix + MANIFEST

    def attempt_prefix(self, attempt: str) -> str:
        return f"{self.prefix}{attempt}/"


@dataclass(frozen=True)
class FileEntry:
    key: str
    rows: int
    bytes: int


@dataclass
class DayManifest:
    """What one attempt of a day holds; the day's current version is the one its manifest names."""

    zone: str
    table: str
    date: str  # YYYYMMDD, or "" for an unpartitioned table
    attempt: str
    files: list[FileEntry]
    columns: dict[str, str]  # name → Arrow type, as written
    run_id: str
    written_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    stats: dict[str, Any] = field(default_factory=dict)
    # Other zones' manifests of the same attempt, switched together with this one: the decoded
    # day's data manifest carries its quarantine, so the two can never disagree.
    linked: list[DayManifest] = field(default_factory=list)

    def linked_zone(self, zone: str) -> DayManifest | None:
        return next((m for m in self.linked if m.zone == zone), None)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def key(self) -> str:
        """Where this manifest lives."""
        day = f"date={self.date}/" if self.date else ""
        return f"{self.zone}/{self.table}/{day}{MANIFEST}"

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def to_json(self) -> bytes:
        body = asdict(self) | {"rows": self.rows, "bytes": self.bytes}
        return json.dumps(body, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DayManifest:
        body = json.loads(data)
        body.pop("rows", None)
        body.pop("bytes", None)
        body["files"] = [FileEntry(**f) for f in body["files"]]
        body["linked"] = [cls.from_json(json.dumps(m)) for m in body.get("linked", [])]
        return cls(**body)


def read_manifest(store: LakeStore, path: DayPath) -> DayManifest | None:
    data = store.get_bytes(path.manifest_key)
    return DayManifest.from_json(data) if data is not None else None


def read_decoded(store: LakeStore, day: dt.date) -> tuple[DayManifest, DayManifest] | None:
    """The decoded day as one unit: the data manifest and the quarantine switched with it."""
    data = read_manifest(store, DayPath(DATA, day))
    if data is None:
        return None
    quarantine = data.linked_zone(QUARANTINE) or read_manifest(store, DayPath(QUARANTINE, day))
    return (data, quarantine) if quarantine is not None else None


def attempt_of(key: str, path: DayPath) -> str | None:
    """The attempt folder a key of the day lies in (None for the day's own files)."""
    rest = key[len(path.prefix) :]
    return rest.split("/", 1)[0] if "/" in rest else None


class AttemptIncomplete(RuntimeError):
    """The attempt's objects are not what was written; the day was not switched."""


class Superseded(RuntimeError):
    """A run that started later already switched the day; this older attempt is dropped (the
    day is not lost: it holds the newer run's version)."""


def switch_manifest(store: LakeStore, path: DayPath, manifest: DayManifest) -> None:
    """Verify the attempt, then switch to it: from now on the day's current version is
    `manifest.attempt`. Verification compares the stored objects (keys and sizes) with the
    files written, so a lost or truncated upload never becomes current. The switch is a
    compare-and-set that only ever moves the day forward, to a later-started attempt: a run
    that lost the race raises `Superseded` and changes nothing."""
    for part in [manifest, *manifest.linked]:
        folder = DayPath(part.zone, path.day, path.table).attempt_prefix(part.attempt)
        stored = store.list_sizes(folder)
        written = {f.key: f.bytes for f in part.files}
        if stored != written:
            # a run that started later may have switched the day meanwhile and, by the
            # retention rule, deleted this superseded attempt: that is Superseded, not a loss
            _forward_version(store, path, manifest)
            raise AttemptIncomplete(
                f"{folder}: stored objects {sorted(stored.items())} differ "
                f"from those written {sorted(written.items())}; the day was not switched"
            )
    while True:
        version = _forward_version(store, path, manifest)
        if version is _SWITCHED:
            return
        if store.put_if(path.manifest_key, manifest.to_json(), version):
            return


_SWITCHED = "switched"  # the manifest already names this very attempt


def later_attempt(store: LakeStore, path: DayPath, attempt: str) -> str | None:
    """The attempt the day's manifest names, if a run that started later than `attempt`
    switched the day to it (else None): by the retention rule, that run may then delete
    `attempt`'s files, even while they are still being written."""
    current = read_manifest(store, path)
    return current.attempt if current is not None and current.attempt > attempt else None


def _forward_version(store: LakeStore, path: DayPath, manifest: DayManifest) -> str | None:
    """The day manifest's current version, if switching to `manifest` moves the day forward;
    `_SWITCHED` if it already names `manifest`'s attempt (our own conditional write was
    applied but its reply lost: the retried write's 412 is not a lost race); else
    `Superseded`."""
    data, version = store.get_versioned(path.manifest_key)
    current = DayManifest.from_json(data) if data is not None else None
    if current is not None and current.attempt == manifest.attempt:
        return _SWITCHED
    if current is not None and current.attempt >= manifest.attempt:
        raise Superseded(
            f"{path.prefix}: a run that started later (attempt {current.attempt}) already "
            f"replaced this day; this run's attempt {manifest.attempt} is discarded"
        )
    return version
