"""Day manifests: layout, the forward-only compare-and-set switch, verification."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import (
    DATA,
    QUARANTINE,
    AttemptIncomplete,
    DayManifest,
    DayPath,
    FileEntry,
    Superseded,
    read_decoded,
    read_manifest,
    switch_manifest,
)

DAY = dt.date(2026, 3, 4)


def test_paths_follow_the_contract() -> None:
    path = DayPath(DATA, DAY)
    assert path.prefix == "data/reports/date=20260304/"
    assert path.attempt_prefix("v1") == "data/reports/date=20260304/v1/"
    assert path.manifest_key == "data/reports/date=20260304/_manifest.json"


def test_manifest_round_trip_with_its_linked_zone(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    path = DayPath(DATA, DAY)
    q_key = DayPath(QUARANTINE, DAY).attempt_prefix("c-new") + "part-00000.parquet"
    store.put_bytes(path.attempt_prefix("c-new") + "part-00000.parquet", b"x")
    store.put_bytes(q_key, b"yy")
    quarantine = DayManifest(
        zone=QUARANTINE,
        table="reports",
        date="20260304",
        attempt="c-new",
        files=[FileEntry(q_key, 1, 2)],
        columns={"reason": "string"},
        run_id="r",
        stats={"reasons": {"crc": 1}},
    )
    manifest = DayManifest(
        zone=DATA,
        table="reports",
        date="20260304",
        attempt="c-new",
        files=[FileEntry(path.attempt_prefix("c-new") + "part-00000.parquet", 5, 1)],
        columns={"value": "double"},
        run_id="r",
        linked=[quarantine],
    )
    switch_manifest(store, path, manifest)
    assert read_manifest(store, path) == manifest
    assert read_decoded(store, DAY) == (manifest, quarantine)
    assert read_manifest(store, DayPath(QUARANTINE, DAY)) is None, "no mirror written here"
    assert read_manifest(store, DayPath(DATA, DAY + dt.timedelta(1))) is None


def test_a_linked_zone_with_a_lost_file_is_never_switched_to(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    path = DayPath(DATA, DAY)
    store.put_bytes(path.attempt_prefix("a1") + "part-00000.parquet", b"x")
    lost = DayPath(QUARANTINE, DAY).attempt_prefix("a1") + "part-00000.parquet"
    manifest = DayManifest(
        zone=DATA,
        table="reports",
        date="20260304",
        attempt="a1",
        files=[FileEntry(path.attempt_prefix("a1") + "part-00000.parquet", 1, 1)],
        columns={},
        run_id="r",
        linked=[
            DayManifest(QUARANTINE, "reports", "20260304", "a1", [FileEntry(lost, 1, 2)], {}, "r")
        ],
    )
    with pytest.raises(AttemptIncomplete, match="quarantine"):
        switch_manifest(store, path, manifest)
    assert read_manifest(store, path) is None


def test_an_older_attempt_never_replaces_a_newer_one(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    path = DayPath(DATA, DAY)

    def manifest(attempt: str) -> DayManifest:
        key = path.attempt_prefix(attempt) + "part-00000.parquet"
        store.put_bytes(key, b"xy")
        return DayManifest(
            zone=DATA,
            table="reports",
            date="20260304",
            attempt=attempt,
            files=[FileEntry(key, 1, 2)],
            columns={},
            run_id="r",
        )

    early, late = manifest("20260101T000000000000Z-a"), manifest("20260101T000001000000Z-b")
    switch_manifest(store, path, late)  # the run that started later finishes first
    with pytest.raises(Superseded, match="started later"):
        switch_manifest(store, path, early)
    assert read_manifest(store, path).attempt == late.attempt


def test_an_attempt_deleted_because_a_later_run_switched_is_superseded(tmp_path: Path) -> None:
    """Run B, started later, switched the day and its retention deleted run A's attempt
    before A verified it: A is superseded (the day holds B's version), not a failed upload."""
    store = LocalStore(str(tmp_path))
    path = DayPath(DATA, DAY)

    def manifest(attempt: str) -> DayManifest:
        key = path.attempt_prefix(attempt) + "part-00000.parquet"
        store.put_bytes(key, b"xy")
        files = [FileEntry(key, 1, 2)]
        return DayManifest(DATA, "reports", "20260304", attempt, files, {}, "r")

    early, late = manifest("20260101T000000000000Z-a"), manifest("20260101T000001000000Z-b")
    switch_manifest(store, path, late)
    store.delete_keys([f.key for f in early.files])
    with pytest.raises(Superseded, match="started later"):
        switch_manifest(store, path, early)
    assert read_manifest(store, path).attempt == late.attempt


def test_a_lost_upload_is_never_switched_to(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    path = DayPath(DATA, DAY)
    key = path.attempt_prefix("a1") + "part-00000.parquet"
    manifest = DayManifest(
        zone=DATA,
        table="reports",
        date="20260304",
        attempt="a1",
        files=[FileEntry(key, 1, 2)],
        columns={},
        run_id="r",
    )
    with pytest.raises(AttemptIncomplete):
        switch_manifest(store, path, manifest)
    assert read_manifest(store, path) is None
