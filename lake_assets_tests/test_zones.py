"""Day manifests and superseded-attempt clean-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lake_assets.resources.lake import LocalStore
from lake_assets.zones import (
    DATA,
    DayManifest,
    DayPath,
    FileEntry,
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
    for attempt in ("old", "live", "new"):
        store.put_bytes(path.attempt_prefix(attempt) + "part-00000.parquet", b"x")
    manifest = DayManifest(
        zone=DATA,
        table="reports",
        date="20260304",
        attempt="new",
        files=[FileEntry(path.attempt_prefix("new") + "part-00000.parquet", 5, 1)],
        columns={"value": "double"},
        run_id="r",
        stats={"reasons": {"crc": 1}},
    )
    commit_manifest(store, path, manifest)
    assert read_manifest(store, path) == manifest
    assert read_manifest(store, DayPath(DATA, DAY + dt.timedelta(1))) is None
    assert remove_superseded(store, path, keep={"new", "live"}) == 1
    assert store.list_keys(path.prefix) == [
        path.manifest_key,
        path.attempt_prefix("live") + "part-00000.parquet",
        path.attempt_prefix("new") + "part-00000.parquet",
    ]
