"""Keeping an Iceberg table's storage bounded: expire old snapshots, then delete the files
nothing needs any more.

pyiceberg's `expire_snapshots` removes snapshots from the metadata only; it deletes no file,
and a failed or killed commit leaves its data files behind. After expiring the snapshots older
than the retention, this deletes:

* data files of the table's zone that no live snapshot reads, unless a manifest of the zone
  names their attempt (decoded, not yet published) or their attempt is younger than the safety
  margin (a run may still be writing or committing it);
* manifest lists and manifests (`*.avro`) under the table's metadata folder that no live
  snapshot reads, and `metadata.json` files of commits that never swapped in, older than the
  same margin. Old committed `metadata.json` files are capped by the table property
  `write.metadata.delete-after-commit.enabled`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lake_assets.core.days import PARTITION_COLUMN, path_value_to_date
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, DayPath, attempt_started, read_manifest

if TYPE_CHECKING:
    from pyiceberg.table import Table


@dataclass(frozen=True)
class Maintenance:
    table: str
    expired_snapshots: int
    live_snapshots: int
    removed_data_files: int
    removed_metadata_files: int


def maintain(
    table: Table,
    name: str,
    store: LakeStore,
    retention: dt.timedelta,
    margin: dt.timedelta,
    now: dt.datetime,
) -> Maintenance:
    before = len(table.snapshots())
    expire = table.maintenance.expire_snapshots().older_than(now - retention)
    expire.commit()  # the current snapshot is the branch head: never expired
    table.refresh()
    live = {_path(p) for p in table.inspect.all_data_files().column("file_path").to_pylist()}
    removed_data = _remove_unread_data(store, name, live, now - margin)
    removed_metadata = _remove_unread_metadata(table, store, now - margin)
    return Maintenance(
        table=name,
        expired_snapshots=before - len(table.snapshots()),
        live_snapshots=len(table.snapshots()),
        removed_data_files=removed_data,
        removed_metadata_files=removed_metadata,
    )


def _remove_unread_data(
    store: LakeStore, table: str, live: set[str], started_before: dt.datetime
) -> int:
    named: dict[str, str | None] = {}  # day folder → the attempt its manifest names
    doomed: list[str] = []
    for key in store.list_keys(f"{DATA}/{table}/"):
        if not key.endswith(".parquet") or store.uri(key) in live:
            continue
        folder, attempt = _day_folder_and_attempt(key, table)
        if folder not in named:
            named[folder] = _manifest_attempt(store, table, folder)
        if attempt == named[folder] or _started(attempt) >= started_before:
            continue
        doomed.append(key)
    return store.delete_keys(doomed) if doomed else 0


def _remove_unread_metadata(table: Table, store: LakeStore, written_before: dt.datetime) -> int:
    """Manifest lists and manifests no live snapshot reads, and `metadata.json` files that are
    neither current nor in the metadata log (a commit that never swapped in: killed, or
    refused)."""
    io = table.io
    read: set[str] = {table.metadata_location}
    read.update(entry.metadata_file for entry in table.metadata.metadata_log)
    for snapshot in table.snapshots():
        read.add(snapshot.manifest_list)
        read.update(m.manifest_path for m in snapshot.manifests(io))
    read = {_path(uri) for uri in read}
    folder = _path(table.metadata.location).rstrip("/") + "/metadata/"
    prefix = folder.removeprefix(_path(store.uri("")).rstrip("/") + "/")
    cutoff = written_before.timestamp()
    doomed = [
        key
        for key, modified in store.list_modified(prefix).items()
        if key.endswith((".avro", ".metadata.json"))
        and _path(store.uri(key)) not in read
        and modified < cutoff
    ]
    return store.delete_keys(doomed) if doomed else 0


def _day_folder_and_attempt(key: str, table: str) -> tuple[str, str]:
    """`data/<table>/date=YYYYMMDD/<attempt>/part-…` → ("date=YYYYMMDD", attempt); an
    unpartitioned table's `data/<table>/<attempt>/part-…` → ("", attempt)."""
    parts = key[len(f"{DATA}/{table}/") :].split("/")
    return ("", parts[0]) if len(parts) == 2 else (parts[0], parts[1])


def _manifest_attempt(store: LakeStore, table: str, folder: str) -> str | None:
    day = path_value_to_date(folder.removeprefix(f"{PARTITION_COLUMN}=")) if folder else None
    manifest = read_manifest(store, DayPath(DATA, day, table))
    return manifest.attempt if manifest else None


def _started(attempt: str) -> dt.datetime:
    """When an attempt started; unknown names count as new, so they are never deleted."""
    return attempt_started(attempt) or dt.datetime.max.replace(tzinfo=dt.UTC)


def _path(uri: str) -> str:
    return uri.removeprefix("file://")
