"""Freshness: at the deadline, yesterday itself must be published (DST-safe), and a deadline
that cannot work is refused at load, naming the variable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import DagsterInstance

from lake_assets.catalogs.base import PartitionSpec
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.defs.automation.freshness import SCHEDULED_AT, build_freshness, day_due
from lake_assets.settings import LakeSettings, SettingsError

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("local", "due"),
    [
        ("2026-03-29 06:00", "2026-03-28"),  # the 23-hour day
        ("2026-03-30 06:00", "2026-03-29"),
        ("2026-10-25 06:00", "2026-10-24"),  # the 25-hour day
        ("2026-10-26 06:00", "2026-10-25"),
        ("2026-10-26 00:30", "2026-10-25"),
    ],
)
def test_the_day_due_is_the_local_day_before_across_dst(local: str, due: str) -> None:
    at = dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(BERLIN))
    assert day_due(at.astimezone(dt.UTC), BERLIN) == dt.date.fromisoformat(due)


def test_the_schedule_ticks_at_the_local_deadline() -> None:
    schedule = build_freshness(dt.time(6, 0), BERLIN).schedule
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", BERLIN)


def publish(catalog: DuckDBCatalogResource, date: str) -> None:
    spec = PartitionSpec(date, f"/lake/data/reports/date={date}/a/", [], 10)
    catalog.publish("reports", [spec], "run")


def check_at(catalog: DuckDBCatalogResource, local: str) -> tuple[bool, str]:
    at = dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(BERLIN))
    result = build_freshness(dt.time(6, 0), BERLIN).job.execute_in_process(
        resources={"catalog": catalog},
        tags={SCHEDULED_AT: at.isoformat()},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    failures = [e for e in result.all_events if e.is_step_failure]
    return result.success, str(failures[0].step_failure_data.error.message) if failures else ""


def test_a_rerun_of_an_older_day_does_not_hide_a_missing_yesterday(tmp_path: Path) -> None:
    catalog = DuckDBCatalogResource(path=str(tmp_path / "catalog.duckdb"))
    publish(catalog, "20261022")
    publish(catalog, "20261023")  # re-published just now: "materialized since midnight"
    ok, message = check_at(catalog, "2026-10-25 06:00")
    assert not ok and "2026-10-24 is not published" in message and "Europe/Berlin" in message
    publish(catalog, "20261024")
    assert check_at(catalog, "2026-10-25 06:00") == (True, "")


@pytest.mark.parametrize("deadline", ["00:00", "00:30", "00:10"])
def test_a_deadline_before_the_schedule_is_refused_naming_it(deadline: str) -> None:
    with pytest.raises(SettingsError, match="LAKE_FRESHNESS_DEADLINE"):
        LakeSettings.from_env({"LAKE_FRESHNESS_DEADLINE": deadline})
