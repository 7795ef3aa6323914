"""`lake_dead_runs`: a run whose process died (kill -9, OOM, a lost machine) is marked failed.

A run launched from a code server (`dagster dev`, the daemon) is that server's child, and the
server marks it failed within a second of its death. A run started by `dagster asset
materialize` has no such parent: it would stay STARTED for ever, holding its queue and pool
slots, sending no alert, and keeping its days "in flight" for the late-data sensor. So every
asset step tags its run with its host and process id, and this sensor, every 30 s, marks
failed the STARTED runs of its own host whose process is gone; the failure then flows on like
any other (alert, pool slots freed, days asked for again). Runs on other hosts (ECS tasks) are
left to their launcher's health checks and to run monitoring's `max_runtime_seconds`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from lake_assets.core.run_tags import HOST, PID


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def dead_runs(
    instance: DagsterInstance, host: str, alive: Callable[[int], bool] = pid_alive
) -> list[DagsterRun]:
    """STARTED runs of `host` whose process is gone."""
    runs = instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={HOST: host})
    )
    return [r for r in runs if PID in r.tags and not alive(int(r.tags[PID]))]


@sensor(
    name="lake_dead_runs",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks failed the started runs of this host whose process is gone (kill -9).",
)
def lake_dead_runs(context: SensorEvaluationContext) -> SkipReason:
    host = socket.gethostname()
    dead = dead_runs(context.instance, host)
    for run in dead:
        message = (
            f"the run's process {run.tags[PID]} on {host} is gone (killed?); marked failed "
            "by lake_dead_runs — re-run its days"
        )
        context.log.error(f"run {run.run_id}: {message}")
        context.instance.report_run_failed(run, message)
    return SkipReason(f"{len(dead)} dead run(s) marked failed")
