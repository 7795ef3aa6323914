"""daily_reports_schedule in a non-UTC timezone, across both DST changes: each tick at the
configured local time requests the local day just closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lake_assets_tests.conftest import REPO

EVALUATE = r"""
import datetime as dt, json
from zoneinfo import ZoneInfo
from dagster import build_schedule_context
from lake_assets.definitions import defs

schedule = defs.resolve_schedule_def("daily_reports_schedule")
berlin = ZoneInfo("Europe/Berlin")
out = {"cron": schedule.cron_schedule, "tz": schedule.execution_timezone, "ticks": {}}
for day in ["2026-03-28", "2026-03-29", "2026-03-30", "2026-10-25", "2026-10-26"]:
    at = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0, 45), berlin)
    context = build_schedule_context(scheduled_execution_time=at)
    [request] = schedule.evaluate_tick(context).run_requests
    out["ticks"][day] = request.partition_key
print(json.dumps(out))
"""


def test_schedule_requests_the_local_day_just_closed_across_dst() -> None:
    env = {
        **os.environ,
        "LAKE_TIMEZONE": "Europe/Berlin",
        "LAKE_SCHEDULE_TIME": "00:45",
        "LAKE_START_DATE": "2026-01-01",
    }
    proc = subprocess.run(
        [sys.executable, "-c", EVALUATE],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["cron"] == "45 0 * * *"
    assert out["tz"] == "Europe/Berlin"
    assert out["ticks"] == {  # 2026-03-29 has 23 hours, 2026-10-25 has 25
        "2026-03-28": "2026-03-27",
        "2026-03-29": "2026-03-28",
        "2026-03-30": "2026-03-29",
        "2026-10-25": "2026-10-24",
        "2026-10-26": "2026-10-25",
    }
