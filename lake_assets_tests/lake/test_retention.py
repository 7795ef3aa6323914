"""The retention rule's data-zone case without the catalog (decoded_reports): only an abandoned
attempt that no manifest has reached may go; whatever a manifest reached may be published."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lake_assets.lake.retention import Published, remove_unreferenced
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, DayManifest, DayPath, FileEntry, switch_manifest

DAY = dt.date(2026, 3, 4)
PATH = DayPath(DATA, DAY)


def write_attempt(store: LocalStore, attempt: str) -> FileEntry:
    key = PATH.attempt_prefix(attempt) + "part-00000.parquet"
    store.put_bytes(key, b"x")
    return FileEntry(key, 1, 1)


def switch(store: LocalStore, attempt: str) -> None:
    manifest = DayManifest(
        DATA, "reports", "20260304", attempt, [write_attempt(store, attempt)], {}, "run"
    )
    switch_manifest(store, PATH, manifest)


def attempts(store: LocalStore) -> set[str]:
    return {
        k[len(PATH.prefix) :].split("/")[0]
        for k in store.list_keys(PATH.prefix)
        if "/" in k[len(PATH.prefix) :]
    }


def test_without_the_catalog_only_unreached_abandoned_attempts_go(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    switch(store, "a1")  # may be published: the catalog is not known here
    switch(store, "a2")  # current
    write_attempt(store, "a0")  # abandoned, older than the manifest: a manifest may have named it
    write_attempt(store, "a3")  # abandoned, never reached
    removed = remove_unreferenced(store, DAY, [DATA], None, abandoned={"a0", "a3"})
    assert removed == 1
    assert attempts(store) == {"a0", "a1", "a2"}
    # With the catalog's pointer (reports_table), the superseded ones go.
    assert remove_unreferenced(store, DAY, [DATA], lambda day: Published("a2")) == 2
    assert attempts(store) == {"a2"}


def test_attempts_a_retained_snapshot_reads_are_kept(tmp_path: Path) -> None:
    """An Iceberg table still reads the attempts of its retained snapshots (time travel):
    those stay, whatever their age; a superseded attempt no snapshot reads goes, even one
    younger than a retained one; once the snapshot expires, its attempt goes too."""
    store = LocalStore(str(tmp_path))
    switch(store, "a1")  # published once, still read by a retained snapshot
    write_attempt(store, "a2")  # a run's attempt that lost to a3: never published
    switch(store, "a3")  # published now
    read = frozenset({"a1", "a3"})
    assert remove_unreferenced(store, DAY, [DATA], lambda day: Published("a3", read)) == 1
    assert attempts(store) == {"a1", "a3"}
    assert remove_unreferenced(store, DAY, [DATA], lambda day: Published("a3", read - {"a1"})) == 1
    assert attempts(store) == {"a3"}
