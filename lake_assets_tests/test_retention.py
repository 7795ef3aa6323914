"""The retention rule's data-zone case without the catalog (decoded_reports): only an abandoned
attempt that no manifest has reached may go; whatever a manifest reached may be published."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lake_assets.resources.lake import LocalStore
from lake_assets.retention import remove_unreferenced
from lake_assets.zones import DATA, DayManifest, DayPath, FileEntry, switch_manifest

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
    assert remove_unreferenced(store, DAY, [DATA], lambda day: ["a2"]) == 2
    assert attempts(store) == {"a2"}


def test_attempts_a_retained_snapshot_reads_are_kept(tmp_path: Path) -> None:
    """An Iceberg table still reads the attempts of its retained snapshots (time travel):
    those stay; what is older than all of them goes; once the snapshot expires, so does its
    attempt."""
    store = LocalStore(str(tmp_path))
    write_attempt(store, "a0")
    switch(store, "a1")
    switch(store, "a2")
    assert remove_unreferenced(store, DAY, [DATA], lambda day: ["a1", "a2"]) == 1
    assert attempts(store) == {"a1", "a2"}
    assert remove_unreferenced(store, DAY, [DATA], lambda day: ["a2"]) == 1
    assert attempts(store) == {"a2"}
