"""Bad settings and permanent faults fail at once (no retry), with one sentence naming the
setting to change; only known transient errors are retried. Default retry settings, except
the retry delay that conftest shortens (the count of retries is what is asserted)."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, materialize

from lake_assets.defs.lake import LakeResource
from lake_assets.defs.resources import lake_resource
from lake_assets.source.client import MySQLResource
from lake_assets_tests.conftest import FakeMySQL
from lake_assets_tests.defs.reports.test_pipeline import canned
from lake_assets_tests.report_defs import raw_reports


class RecordingMySQL(FakeMySQL):
    """Records whether the source was read at all."""

    marker: str = ""

    @contextmanager
    def extract_day(self, day):  # type: ignore[no-untyped-def]
        Path(self.marker).write_text("read")
        with super().extract_day(day) as extract:
            yield extract


def run_raw(mysql: MySQLResource, lake: LakeResource):
    started = time.monotonic()
    result = materialize(
        [raw_reports],
        partition_key="2026-01-01",
        raise_on_error=False,
        instance=DagsterInstance.ephemeral(),
        resources={"mysql": mysql, "lake": lake},
    )
    return result, time.monotonic() - started


def failure_of(result) -> tuple[int, str]:
    """(retries, the step's error sentence)."""
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    while error.cause is not None and "Failure" not in error.cls_name:
        error = error.cause
    return len(retries), error.message


@pytest.mark.parametrize("root", ["/proc/lake", "/sys/lake", "/proc/self/lake"])
def test_lake_root_under_proc_or_sys_fails_at_once_before_reading_the_source(
    root: str, tmp_path: Path
) -> None:
    marker = tmp_path / "read"
    mysql = RecordingMySQL(canned="{}", marker=str(marker))
    result, seconds = run_raw(mysql, lake_resource(root))
    retries, message = failure_of(result)
    assert (retries, marker.exists()) == (0, False)
    assert "LAKE_ROOT" in message and root in message
    assert seconds < 60


def test_a_missing_bucket_fails_at_once_naming_it(aws: None) -> None:
    result, seconds = run_raw(FakeMySQL(), lake_resource("s3://no-such-bucket/lake"))
    retries, message = failure_of(result)
    assert retries == 0
    assert "no-such-bucket" in message and "LAKE_ROOT" in message
    assert seconds < 60


def test_an_unexpected_error_is_not_retried(lake_root: str) -> None:
    result, _ = run_raw(FakeMySQL(fail_on_day="2026-01-01"), lake_resource(lake_root))
    retries, message = failure_of(result)
    assert retries == 0 and "injected failure on 2026-01-01" in message


def test_a_full_disk_fails_at_once_naming_lake_root(
    lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lake_assets.lake.parquet import PartWriter

    def full(self: PartWriter, batch: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", f"{lake_root}/raw/x.parquet")

    monkeypatch.setattr(PartWriter, "write", full)
    import json

    mysql = FakeMySQL(canned=json.dumps(canned(["2026-01-01"], reports=2)))
    result, _ = run_raw(mysql, lake_resource(lake_root))
    retries, message = failure_of(result)
    assert retries == 0 and "full" in message and "LAKE_ROOT" in message


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("setting", "change", "named"),
    [
        ("password", {"password": "wrong"}, "MYSQL_USER / MYSQL_PASSWORD"),
        ("database", {"database": "no_such_db"}, "MYSQL_DATABASE"),
        # a refused port is retried for MYSQL_CONNECT_RETRY_S (30 s), which this case times
        pytest.param("port", {"port": "free"}, "MYSQL_HOST / MYSQL_PORT", marks=pytest.mark.waits),
    ],
)
def test_wrong_mysql_settings_fail_within_a_minute_naming_them(
    mysql_server: dict, lake_root: str, setting: str, change: dict, named: str
) -> None:
    params = {**mysql_server, "database": "mysql", **change}
    if params["port"] == "free":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            params["port"] = s.getsockname()[1]  # nothing listens there once closed
    result, seconds = run_raw(MySQLResource(**params), lake_resource(lake_root))
    retries, message = failure_of(result)
    assert retries == 0, message
    assert named in message and "wrong" not in message, "names the setting, never the password"
    assert seconds < 60


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP listener that accepts and never answers (a stalled server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for s in [*accepted, listener]:
            s.close()


def test_a_stalled_server_cannot_hang_a_run(lake_root: str) -> None:
    """A silence is a transient fault (the server may come back): each try gives up after
    MYSQL_READ_TIMEOUT_S, the step is retried LAKE_RETRY_MAX times, then fails, bounded."""
    with silent_server() as port:
        mysql = MySQLResource(port=port, read_timeout_s=1, connect_retry_s=0, database="x")
        result, seconds = run_raw(mysql, lake_resource(lake_root))
    retries, message = failure_of(result)
    assert retries == 3
    assert f"127.0.0.1:{port}" in message and "timed out" in message
    assert seconds < 30
