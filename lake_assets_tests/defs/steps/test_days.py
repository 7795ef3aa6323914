"""An attempt whose files a later run deletes while they are still being written.

Two runs of a day overlap: A started first and is still writing its attempt when B, which
started later, switches the day and applies the retention rule, which deletes A's files (A's
attempt can never be switched to). On a local lake A's writer then finds its open file gone.
That is a lost race, `Superseded`, like the one the switch itself reports; a file that
vanishes while nothing later was switched stays the error it is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from lake_assets.defs.steps.days import new_attempt
from lake_assets.lake.parquet import PartWriter
from lake_assets.lake.retention import remove_unreferenced
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import (
    RAW,
    DayManifest,
    DayPath,
    FileEntry,
    Superseded,
    read_manifest,
    switch_manifest,
)

DAY = dt.date(2026, 1, 1)
PATH = DayPath(RAW, DAY)
A, B = "20260101T000000000000Z-aaaaaaaa", "20260101T000001000000Z-bbbbbbbb"
ROWS = pa.record_batch({"id": pa.array([1, 2], pa.int64())})


def b_switches_the_day_and_applies_retention(store: LocalStore) -> None:
    """Run B's own steps: write its attempt, switch the day to it, delete what it supersedes."""
    key = f"{PATH.attempt_prefix(B)}part-00000.parquet"
    store.put_bytes(key, b"rows")  # the switch checks what is stored against the entry's size
    switch_manifest(
        store, PATH, DayManifest(RAW, PATH.table, "20260101", B, [FileEntry(key, 2, 4)], {}, "b")
    )
    remove_unreferenced(store, DAY, [RAW])


def a_writes_while(store: LocalStore, meanwhile) -> None:
    """Run A writes two row groups into its attempt; between them and its close, `meanwhile`."""
    with (
        new_attempt(store, DAY, [RAW], A),
        PartWriter(store, PATH.attempt_prefix(A), ROWS.schema, row_group_rows=2) as writer,
    ):
        writer.write(ROWS)
        writer.write(ROWS)  # waits until the first row group is in the file
        assert any(A in k for k in store.list_keys(PATH.prefix)), "A's file is open"
        meanwhile()
        writer.close()


def test_a_later_runs_retention_deleting_an_open_attempt_is_superseded(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    with pytest.raises(Superseded, match=f"attempt {B}.*deleted this run's attempt {A}"):
        a_writes_while(store, lambda: b_switches_the_day_and_applies_retention(store))
    manifest = read_manifest(store, PATH)
    assert manifest is not None and manifest.attempt == B
    assert all(B in k for k in store.list_keys(PATH.prefix) if "/" in k[len(PATH.prefix) :])


def test_a_file_that_vanishes_with_nothing_later_switched_stays_an_error(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))

    def deleted_by_hand() -> None:
        for key in store.list_keys(PATH.attempt_prefix(A)):
            store.path(key).unlink()

    with pytest.raises(FileNotFoundError):
        a_writes_while(store, deleted_by_hand)
    assert read_manifest(store, PATH) is None
