"""The lake's layout (contract: raw/, data/, quarantine/ … /date=YYYYMMDD/) and day manifests.

Every write of a day goes to a fresh attempt folder, `<zone>/<table>/date=YYYYMMDD/<attempt>/`.
The day's `_manifest.json` (ignored by Athena and Hive, which skip `_` files) names the current
attempt, its files and its figures; replacing it is the atomic switch from the old version of a
day to the new one. Superseded attempts are deleted only after the switch, so a failed run
always leaves the last good version in place.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lake_assets.partitions import date_to_path_value
from lake_assets.resources.lake import LakeStore

RAW, DATA, QUARANTINE = "raw", "data", "quarantine"
TABLE = "reports"
MANIFEST = "_manifest.json"


def new_attempt_id(run_id: str) -> str:
    """Sortable by start time and unique per run: `20260102T030405123456Z-1a2b3c4d` (no '=', so
    never a Hive key). Order decides which of two runs of the same day wins: the later."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{run_id[:8]}"


@dataclass(frozen=True)
class DayPath:
    """One day of one zone."""

    zone: str
    day: dt.date
    table: str = TABLE

    @property
    def prefix(self) -> str:
        return f"{self.zone}/{self.table}/date={date_to_path_value(self.day)}/"

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
    date: str  # YYYYMMDD
    attempt: str
    files: list[FileEntry]
    columns: dict[str, str]  # name → Arrow type, as written
    run_id: str
    written_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def key(self) -> str:
        """Where this manifest lives."""
        return f"{self.zone}/{self.table}/date={self.date}/{MANIFEST}"

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
        return cls(**body)


def read_manifest(store: LakeStore, path: DayPath) -> DayManifest | None:
    data = store.get_bytes(path.manifest_key)
    return DayManifest.from_json(data) if data is not None else None


class AttemptIncomplete(RuntimeError):
    """The attempt's objects are not what was written; the day was not switched."""


class StaleAttempt(RuntimeError):
    """A run that started later already switched the day; this older attempt is dropped."""


def commit_manifest(store: LakeStore, path: DayPath, manifest: DayManifest) -> None:
    """Verify the attempt, then switch to it: from now on the day's current version is
    `manifest.attempt`. Verification compares the stored objects (keys and sizes) with the
    files written, so a lost or truncated upload never becomes current."""
    current = read_manifest(store, path)
    if current is not None and current.attempt > manifest.attempt:
        raise StaleAttempt(
            f"{path.prefix}: a run that started later (attempt {current.attempt}) already "
            f"replaced this day; this run's attempt {manifest.attempt} is discarded"
        )
    stored = store.list_sizes(path.attempt_prefix(manifest.attempt))
    written = {f.key: f.bytes for f in manifest.files}
    if stored != written:
        raise AttemptIncomplete(
            f"{path.prefix}{manifest.attempt}: stored objects {sorted(stored.items())} differ "
            f"from those written {sorted(written.items())}; the day was not switched"
        )
    store.put_bytes(path.manifest_key, manifest.to_json())


def remove_superseded(store: LakeStore, path: DayPath, keep: set[str]) -> int:
    """Delete the day's attempts older than the newest in `keep`, except those in `keep`.
    Newer attempts belong to runs still writing the same day and are left to them."""
    newest = max(keep)
    stale = []
    for key in store.list_keys(path.prefix):
        if key == path.manifest_key:
            continue
        attempt = key[len(path.prefix) :].split("/", 1)[0]
        if attempt not in keep and attempt < newest:
            stale.append(key)
    return store.delete_keys(stale)
