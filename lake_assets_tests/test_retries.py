"""Transient errors are retried with backoff; permanent ones fail at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, materialize

from lake_assets.core.fingerprints import DayFingerprint
from lake_assets.defs.resources import lake_resource
from lake_assets.source.client import Extract, MySQLResource
from lake_assets_tests.conftest import FakeMySQL
from lake_assets_tests.report_defs import raw_reports


class FlakyMySQL(FakeMySQL):
    """Raises the MySQL error `code` on the first `failures` extracts (counted in a file, since
    Dagster re-creates resources between attempts)."""

    code: int = 2013
    failures: int = 1
    counter: str = ""

    @contextmanager
    def extract_day(self, day: dt.date) -> Iterator[Extract[DayFingerprint]]:
        count = Path(self.counter)
        seen = int(count.read_text()) if count.exists() else 0
        count.write_text(str(seen + 1))
        if seen < self.failures:
            import pymysql

            with self.explain_errors():
                raise pymysql.err.OperationalError(self.code, "injected")
        with super().extract_day(day) as extract:
            yield extract


def run(mysql: MySQLResource, lake_root: str):
    return materialize(
        [raw_reports],
        partition_key="2026-01-01",
        raise_on_error=False,
        instance=DagsterInstance.ephemeral(),
        resources={"mysql": mysql, "lake": lake_resource(lake_root)},
    )


def retries(result) -> int:
    return len([e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY])


def test_lost_connection_is_retried(lake_root: str, tmp_path: Path) -> None:
    result = run(FlakyMySQL(code=2013, failures=2, counter=str(tmp_path / "n")), lake_root)
    assert result.success
    assert retries(result) == 2


def test_access_denied_fails_at_once(lake_root: str, tmp_path: Path) -> None:
    result = run(FlakyMySQL(code=1045, failures=9, counter=str(tmp_path / "n")), lake_root)
    assert not result.success
    assert retries(result) == 0
    assert (tmp_path / "n").read_text() == "1"
