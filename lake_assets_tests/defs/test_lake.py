"""LocalStore: atomic puts, listing, deleting, and a clear error for an unwritable root."""

from __future__ import annotations

from pathlib import Path

import pytest

from lake_assets.defs.lake import LakeResource
from lake_assets.defs.resources import lake_resource
from lake_assets.lake.store import LakeError, LocalStore


def test_put_get_list_delete(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    store.put_bytes("a/b/_manifest.json", b"{}")
    with store.writing("a/b/v1/part-0.parquet") as path:
        path.write_bytes(b"x")
    assert store.get_bytes("a/b/_manifest.json") == b"{}"
    assert store.get_bytes("a/missing") is None
    assert store.list_keys("a/b/") == ["a/b/_manifest.json", "a/b/v1/part-0.parquet"]
    assert store.delete_keys(["a/b/v1/part-0.parquet"]) == 1
    assert not (tmp_path / "a/b/v1").exists(), "emptied attempt folders are pruned"
    assert not [p for p in (tmp_path / "a/b").iterdir() if p.name.startswith(".tmp")]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    with pytest.raises(RuntimeError), store.writing("x/part.parquet") as path:
        path.write_bytes(b"half")
        raise RuntimeError("writer died")
    assert store.list_keys("x/") == []


def test_root_under_a_file_names_lake_root(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(LakeError, match="set LAKE_ROOT"):
        lake_resource(str(tmp_path / "file" / "lake")).store()


def test_lake_resource_follows_lake_root(tmp_path: Path) -> None:
    from lake_assets.defs.s3_lake import S3LakeResource

    local = lake_resource(str(tmp_path), "iceberg")
    assert type(local) is LakeResource and local.table_format == "iceberg"
    s3 = lake_resource("s3://bucket/lake", kms_key_id="alias/lake")
    assert isinstance(s3, S3LakeResource) and s3.kms_key_id == "alias/lake"
    with pytest.raises(LakeError, match="S3LakeResource"):
        LakeResource(root="s3://bucket/lake").store()


def test_every_lake_file_gets_the_same_mode(tmp_path: Path) -> None:
    """One policy: data files and manifests alike follow the umask (mkstemp alone gives 0600)."""
    import os

    from lake_assets.lake.store import FILE_MODE

    store = LocalStore(str(tmp_path))
    with store.writing("raw/reports/date=20260101/a1/part-00000.parquet") as path:
        path.write_bytes(b"rows")
    store.put_bytes("raw/reports/date=20260101/_manifest.json", b"{}")
    store.put_if("data/reports/date=20260101/_manifest.json", b"{}", None)
    modes = {
        p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777
        for p in tmp_path.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    assert set(modes.values()) == {FILE_MODE}, modes
    mask = os.umask(0)
    os.umask(mask)
    assert 0o666 & ~mask == FILE_MODE
