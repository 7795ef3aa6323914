"""`lake_failure_alerts`: when a run fails, say so where people look.

The message (job, days, failing step, first error line, and a link to the run when
DAGSTER_WEBSERVER_URL is set) goes to an SNS topic (LAKE_ALERT_SNS_TOPIC_ARN) and/or a webhook
(LAKE_ALERT_WEBHOOK_URL, e.g. Slack's incoming webhooks, which take {"text": …}). With neither
set it is only logged.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from typing import Protocol

import boto3
from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor


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


def send_alert(message: str, sns_topic_arn: str | None, webhook_url: str | None) -> list[str]:
    """Deliver `message`; returns where it went. Delivery errors propagate (the sensor tick
    then shows them)."""
    sent = []
    if sns_topic_arn:
        boto3.client("sns").publish(
            TopicArn=sns_topic_arn, Subject="lake-assets run failed", Message=message
        )
        sent.append("sns")
    if webhook_url:
        request = urllib.request.Request(
            webhook_url,
            data=json.dumps({"text": message}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        sent.append("webhook")
    return sent


@run_failure_sensor(
    name="lake_failure_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    description="Posts failed runs to LAKE_ALERT_SNS_TOPIC_ARN and/or LAKE_ALERT_WEBHOOK_URL.",
)
def lake_failure_alerts(context: RunFailureSensorContext) -> None:
    run = context.dagster_run
    failures = context.get_step_failure_events()
    step = failures[0].step_key if failures else None
    error = (
        root_cause(failures[0].step_failure_data.error)
        if failures and failures[0].step_failure_data.error
        else context.failure_event.message
    )
    message = format_alert(
        run.job_name, run.run_id, run.tags, step, error, os.environ.get("DAGSTER_WEBSERVER_URL")
    )
    sent = send_alert(
        message,
        os.environ.get("LAKE_ALERT_SNS_TOPIC_ARN"),
        os.environ.get("LAKE_ALERT_WEBHOOK_URL"),
    )
    context.log.info(f"alert ({', '.join(sent) or 'log only'}):\n{message}")
