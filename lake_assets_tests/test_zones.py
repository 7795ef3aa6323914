"""Day manifests and superseded-attempt clean-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lake_assets.resources.lake import LocalStore
from lake_assets.zones import (
    DATA,
    AttemptIncomplete,
    DayManifest,
    DayPath,
    FileEntry,
    StaleAttempt,
    commit_manifest,
    read_manifest,
    remove_superseded,
)

DAY = dt.date(2026, 3, 4)


def test_paths_follow_the_contract() -> None:
    path = DayPath(DATA, DAY)
    assert path.prefix == "data/reports/date=20260304/"
    assert path.attempt_prefix("v1") == "data/reports/date=20260304/v1/"
    assert path.manifest_key == "data/reports/date=20260304/_manifest.json"


def test_manifest_round_trip_and_cleanup(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    path = DayPath(DATA, DAY)
    for attempt in ("a-old", "b-live", "c-new", "d-running"):
        store.put_bytes(path.attempt_prefix(attempt) + "part-00000.parquet", b"x")
    manifest = DayManifest(
        zone=DATA,
        table="reports",
        date="20260304",
        attempt="c-new",
        files=[FileEntry(path.attempt_prefix("c-new") + "part-00000.parquet", 5, 1)],
        columns={"value": "double"},
        run_id="r",
        stats={"reasons": {"crc": 1}},
    )
    commit_manifest(store, path, manifest)
    assert read_manifest(store, path) == manifest
    assert read_manifest(store, DayPath(DATA, DAY + dt.timedelta(1))) is None
    assert remove_superseded(store, path, keep={"c-new", "b-live"}) == 1
    assert store.list_keys(path.prefix) == [
        path.manifest_key,
        path.attempt_prefix("b-live") + "part-00000.parquet",
        path.attempt_prefix("c-new") + "part-00000.parquet",
        path.attempt_prefix("d-running") + "part-00000.parquet",  # another run's, untouched
    ]


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
    commit_manifest(store, path, late)  # the run that started later finishes first
    with pytest.raises(StaleAttempt, match="started later"):
        commit_manifest(store, path, early)
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
        commit_manifest(store, path, manifest)
    assert read_manifest(store, path) is None
