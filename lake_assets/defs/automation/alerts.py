"""Failed runs, said where people look, and never lost on the way.

`lake_failure_alerts` sends each failed run's message (job, days, failing step, first error
line, a link to the run when DAGSTER_WEBSERVER_URL is set) to an SNS topic
(LAKE_ALERT_SNS_TOPIC_ARN) and/or a webhook (LAKE_ALERT_WEBHOOK_URL, e.g. Slack's incoming
webhooks, which take {"text": …}); with neither it is only logged. Each destination is tried
on its own. Dagster moves a run-failure sensor past a run even when the tick errors, so a
delivery that fails is not raised: it is written onto the failed run as tags, and
`lake_alert_retries` tries those destinations again, with backoff, until they take it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

# On a failed run whose alert is still owed to some destination:
PENDING = "lake/alert_pending"  # "true" while owed, "false" once delivered
OWED_TO = "lake/alert_owed_to"  # comma-separated destinations: sns, webhook
MESSAGE = "lake/alert_message"
ATTEMPTS = "lake/alert_attempts"
NEXT_AT = "lake/alert_next_at"  # unix time of the next try
RETRY_EVERY_S = 60
RETRY_BACKOFF_CAP_S = 3600


def describe_days(tags: Mapping[str, str]) -> str:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    return f"{start}…{end}" if start and end else "no partition"


def format_alert(
    job: str,
    run_id: str,
    tags: Mapping[str, str],
    step: str | None,
    error: str | None,
    webserver_url: str | None,
) -> str:
    first_line = (error or "no error message").strip().splitlines()[0][:300]
    lines = [
        f"lake-assets: run of {job} failed",
        f"days: {describe_days(tags)}",
        f"step: {step or 'unknown'}",
        f"error: {first_line}",
    ]
    if webserver_url:
        lines.append(f"run: {webserver_url.rstrip('/')}/runs/{run_id}")
    return "\n".join(lines)


class ErrorInfo(Protocol):
    """The shape of Dagster's serialised errors that we read."""

    message: str
    cause: ErrorInfo | None


def root_cause(error: ErrorInfo) -> str:
    """The innermost error: Dagster wraps the user's exception (and, after retries, wraps it
    again as "Exceeded max_retries"), and the first line people need is the original one."""
    while error.cause is not None:
        error = error.cause
    return error.message


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET and drop the message: refuse it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


@dataclass(frozen=True)
class AlertTargets:
    """Where alerts go (LAKE_ALERT_SNS_TOPIC_ARN, LAKE_ALERT_WEBHOOK_URL; either, both or
    neither: the log only) and the UI they link to (DAGSTER_WEBSERVER_URL)."""

    sns_topic_arn: str = ""
    webhook_url: str = ""
    webserver_url: str = ""


def destinations(targets: AlertTargets) -> list[str]:
    return [
        name
        for name, configured in (
            ("sns", targets.sns_topic_arn),
            ("webhook", targets.webhook_url),
        )
        if configured
    ]


def deliver(message: str, targets: AlertTargets, to: list[str]) -> dict[str, str]:
    """Send `message` to each destination in `to`, each on its own; returns the ones that
    failed, with why."""
    failed: dict[str, str] = {}
    for name in to:
        try:
            if name == "sns":
                from lake_assets.lake.aws import aws_client  # boto3 only where alerts use SNS

                aws_client(None, "sns").publish(
                    TopicArn=targets.sns_topic_arn,
                    Subject="lake-assets run failed",
                    Message=message,
                )
            else:
                _post(targets.webhook_url, message)
        except Exception as e:  # any failure of one destination must not stop the others
            failed[name] = f"{type(e).__name__}: {e}"
    return failed


def _post(url: str, message: str) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": message}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as e:
        if 300 <= e.code < 400:
            raise RuntimeError(
                f"the webhook answered {e.code}, a redirect to {e.headers.get('Location')}: "
                "set LAKE_ALERT_WEBHOOK_URL to the final address"
            ) from None
        raise


def owe(instance: DagsterInstance, run_id: str, message: str, failed: dict[str, str]) -> None:
    """Record on the run which destinations still owe its alert."""
    attempts = int((instance.get_run_by_id(run_id).tags or {}).get(ATTEMPTS, "0")) + 1
    delay = min(RETRY_EVERY_S * 2 ** (attempts - 1), RETRY_BACKOFF_CAP_S)
    instance.add_run_tags(
        run_id,
        {
            PENDING: "true" if failed else "false",
            OWED_TO: ",".join(sorted(failed)),
            MESSAGE: message,
            ATTEMPTS: str(attempts),
            NEXT_AT: str(int(time.time() + delay)),
        },
    )


OUR_STEPS = {"raw_reports", "decoded_reports", "reports_table", "yesterday_published"}


def is_ours(instance: DagsterInstance, run: DagsterRun) -> bool:
    """A run of this project's steps, whatever started it (a job, the UI, the CLI)."""
    if run.execution_plan_snapshot_id is None:
        return False
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return any(step.key in OUR_STEPS for step in plan.steps)


@dataclass(frozen=True)
class AlertSensors:
    failures: SensorDefinition  # lake_failure_alerts
    retries: SensorDefinition  # lake_alert_retries


def build_alert_sensors(targets: AlertTargets) -> AlertSensors:
    """The two alert sensors, sending to the destinations `targets` names."""

    # A run-status sensor only sees runs launched from its code location unless it monitors
    # all of them, and `dagster asset materialize` runs have no code location: without this, a
    # failed CLI run (or one killed and marked failed by lake_dead_runs) would never be
    # alerted. `is_ours` keeps other code locations' runs out.
    @run_failure_sensor(
        name="lake_failure_alerts",
        default_status=DefaultSensorStatus.RUNNING,
        monitor_all_code_locations=True,
        description="Posts failed runs to LAKE_ALERT_SNS_TOPIC_ARN and/or LAKE_ALERT_WEBHOOK_URL.",
    )
    def lake_failure_alerts(context: RunFailureSensorContext) -> None:
        alert_failed_run(context, targets)

    @sensor(
        name="lake_alert_retries",
        minimum_interval_seconds=RETRY_EVERY_S,
        default_status=DefaultSensorStatus.RUNNING,
        description="Delivers again the failure alerts a destination did not take, with backoff.",
    )
    def lake_alert_retries(context: SensorEvaluationContext) -> SkipReason:
        return deliver_owed_alerts(context, targets)

    return AlertSensors(lake_failure_alerts, lake_alert_retries)


def alert_failed_run(context: RunFailureSensorContext, targets: AlertTargets) -> None:
    run = context.dagster_run
    if not is_ours(context.instance, run):
        return
    failures = context.get_step_failure_events()
    step = failures[0].step_key if failures else None
    error = (
        root_cause(failures[0].step_failure_data.error)
        if failures and failures[0].step_failure_data.error
        else context.failure_event.message
    )
    message = format_alert(run.job_name, run.run_id, run.tags, step, error, targets.webserver_url)
    to = destinations(targets)
    failed = deliver(message, targets, to)
    sent = [d for d in to if d not in failed]
    context.log.info(f"alert ({', '.join(sent) or 'log only'}):\n{message}")
    for name, why in failed.items():
        context.log.error(f"alert to {name} failed, will be retried: {why}")
    if failed:
        owe(context.instance, run.run_id, message, failed)


def deliver_owed_alerts(context: SensorEvaluationContext, targets: AlertTargets) -> SkipReason:
    runs = context.instance.get_runs(
        filters=RunsFilter(statuses=[DagsterRunStatus.FAILURE], tags={PENDING: "true"})
    )
    delivered, still = 0, 0
    for run in runs:
        if float(run.tags.get(NEXT_AT, "0")) > time.time():
            still += 1
            continue
        owed = [d for d in run.tags.get(OWED_TO, "").split(",") if d]
        failed = deliver(run.tags[MESSAGE], targets, owed)
        for name, why in failed.items():
            context.log.error(f"alert of run {run.run_id} to {name} failed again: {why}")
        owe(context.instance, run.run_id, run.tags[MESSAGE], failed)
        delivered += len(owed) - len(failed)
        still += bool(failed)
    return SkipReason(f"{delivered} owed alert(s) delivered; {still} run(s) still owed one")
