"""The store's compare-and-set and lock, the same contract on a local folder and on S3."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from lake_assets.lake import s3 as s3_module
from lake_assets.lake.s3 import S3Store
from lake_assets.lake.store import LakeStore, LocalStore
from lake_assets_tests.conftest import BUCKET

KEY = "data/reports/date=20260101/_manifest.json"


def test_put_if_absent_then_if_unchanged(any_store: LakeStore) -> None:
    first = any_store.put_if(KEY, b"one", None)
    assert first, "an absent key is created"
    assert any_store.put_if(KEY, b"again", None) is None, "If-None-Match: it exists now"
    data, version = any_store.get_versioned(KEY)
    assert (data, version) == (b"one", first)
    second = any_store.put_if(KEY, b"two", version)
    assert second and second != first
    assert any_store.get_bytes(KEY) == b"two"


def test_of_two_writers_that_read_the_same_version_only_one_wins(any_store: LakeStore) -> None:
    any_store.put_if(KEY, b"base", None)
    _, seen_by_a = any_store.get_versioned(KEY)
    _, seen_by_b = any_store.get_versioned(KEY)
    assert any_store.put_if(KEY, b"b wins", seen_by_b)
    assert any_store.put_if(KEY, b"a loses", seen_by_a) is None
    assert any_store.get_bytes(KEY) == b"b wins"


def test_absent_key_has_no_version(any_store: LakeStore) -> None:
    assert any_store.get_versioned("nothing/here") == (None, None)


def test_the_local_lock_excludes_others_and_dies_with_its_holder(tmp_path) -> None:
    import fcntl
    import os

    store = LocalStore(str(tmp_path))
    lock_file = tmp_path / "_locks" / "catalog-reports.lock"
    with store.lock("catalog-reports"):
        fd = os.open(lock_file, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
            except BlockingIOError:
                held = True
        finally:
            os.close(fd)
        assert held, "another opener cannot take the lock while it is held"
    fd = os.open(lock_file, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: free again
    os.close(fd)


def test_the_s3_lease_excludes_others_and_an_expired_one_is_taken_over(aws: None) -> None:
    any_store = S3Store(f"s3://{BUCKET}/lake", boto3.client("s3"))
    key = "_locks/catalog-reports.json"
    with any_store.lock("catalog-reports"):
        assert any_store.put_if(key, b"{}", None) is None, "held: If-None-Match fails"
    assert any_store.get_bytes(key) is None, "released"
    # a holder killed mid-publish leaves its lease; once expired, the next run takes over
    any_store.put_if(key, json.dumps({"expires": time.time() - 1}).encode(), None)
    with any_store.lock("catalog-reports"):
        lease = json.loads(any_store.get_bytes(key))
        assert lease["expires"] > time.time() + s3_module.LOCK_LEASE_S - 60


def test_the_lease_is_released_where_conditional_deletes_are_not_supported(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An S3-compatible store without If-Match on DELETE must not keep the lock for the
    lease's 10 minutes."""
    from botocore.exceptions import ClientError

    store = S3Store(f"s3://{BUCKET}/lake", boto3.client("s3"))
    real = store.client.delete_object

    def no_conditions(**kwargs: object) -> object:
        if "IfMatch" in kwargs:
            raise ClientError({"Error": {"Code": "NotImplemented"}}, "DeleteObject")
        return real(**kwargs)

    monkeypatch.setattr(store.client, "delete_object", no_conditions)
    with store.lock("catalog-reports"):
        pass
    assert store.get_bytes("_locks/catalog-reports.json") is None
