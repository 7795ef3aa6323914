"""lake_failure_alerts: a real failed run produces one message, delivered to SNS (moto) and
to a webhook (a local HTTP server), or only logged when neither is configured."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    instance_for_test,
    materialize,
)

from lake_assets.defs.automation.alerts import format_alert
from lake_assets_tests.defs.reports.test_pipeline import ASSETS, canned, resources
from lake_assets_tests.report_defs import alert_sensors


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict]]]:
    """A local HTTP endpoint that records the JSON bodies posted to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    with webhook_server() as hook:
        yield hook


def failed_run_context(instance: DagsterInstance, lake_root: str):
    result = materialize(
        ASSETS,
        resources=resources(lake_root, canned(["2026-01-02"], 2), fail_on_day="2026-01-02"),
        partition_key="2026-01-02",
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    [failure] = [
        r.dagster_event
        for r in instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
    ]
    return build_run_status_sensor_context(
        sensor_name="lake_failure_alerts",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()


def test_alert_goes_to_sns_and_webhook(
    aws: None, webhook: tuple[str, list[dict]], lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="lake-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    url, received = webhook
    monkeypatch.setenv("LAKE_ALERT_SNS_TOPIC_ARN", topic)
    monkeypatch.setenv("LAKE_ALERT_WEBHOOK_URL", url)
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://dagster.example:3000/")

    with instance_for_test() as instance:
        context = failed_run_context(instance, lake_root)
        alert_sensors().failures(context)
        run_id = context.dagster_run.run_id

    [posted] = received
    text = posted["text"]
    assert "days: 2026-01-02" in text
    assert "step: raw_reports" in text
    assert "injected failure on 2026-01-02" in text
    assert f"run: http://dagster.example:3000/runs/{run_id}" in text
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(message["Body"])["Message"] == text


def test_without_destinations_the_alert_is_only_logged(
    lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LAKE_ALERT_SNS_TOPIC_ARN", "LAKE_ALERT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    with instance_for_test() as instance:
        alert_sensors().failures(failed_run_context(instance, lake_root))  # no network, no error


def test_range_runs_name_their_days() -> None:
    text = format_alert(
        "daily_reports_job",
        "abc",
        {
            "dagster/asset_partition_range_start": "2026-01-01",
            "dagster/asset_partition_range_end": "2026-01-31",
        },
        None,
        "boom\nmore",
        None,
    )
    assert "days: 2026-01-01…2026-01-31" in text
    assert "error: boom" in text and "more" not in text and "run:" not in text


@pytest.fixture
def picky_webhook() -> Iterator[tuple[str, list[str]]]:
    """Answers every POST with a redirect, and records every request's method."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append("POST")
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def do_GET(self) -> None:
            seen.append("GET")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", seen
    server.shutdown()


def test_a_failing_destination_neither_stops_the_other_nor_loses_the_alert(
    aws: None, webhook: tuple[str, list[dict]], lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import build_sensor_context

    from lake_assets.defs.automation import alerts

    topic = "arn:aws:sns:us-east-1:123456789012:lake-alerts"  # not created yet: SNS fails
    url, received = webhook
    monkeypatch.setenv("LAKE_ALERT_SNS_TOPIC_ARN", topic)
    monkeypatch.setenv("LAKE_ALERT_WEBHOOK_URL", url)
    with instance_for_test() as instance:
        context = failed_run_context(instance, lake_root)
        alert_sensors().failures(context)  # does not raise: Dagster would skip the run for good
        assert len(received) == 1, "the webhook got it although SNS failed"
        run = instance.get_run_by_id(context.dagster_run.run_id)
        assert (run.tags[alerts.PENDING], run.tags[alerts.OWED_TO]) == ("true", "sns")

        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        assert sns.create_topic(Name="lake-alerts")["TopicArn"] == topic  # SNS is back
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])

        alert_sensors().retries(build_sensor_context(instance=instance))
        assert "Messages" not in sqs.receive_message(QueueUrl=queue), "backoff: not yet"
        instance.add_run_tags(run.run_id, {alerts.NEXT_AT: "0"})  # the backoff has passed
        alert_sensors().retries(build_sensor_context(instance=instance))
        [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
        assert json.loads(message["Body"])["Message"] == received[0]["text"]
        run = instance.get_run_by_id(run.run_id)
        assert run.tags[alerts.PENDING] == "false"
        assert len(received) == 1, "the webhook, which took it, is not sent it twice"


def test_a_redirect_is_a_failed_delivery_never_a_get(
    picky_webhook: tuple[str, list[str]], lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lake_assets.defs.automation import alerts

    url, seen = picky_webhook
    monkeypatch.delenv("LAKE_ALERT_SNS_TOPIC_ARN", raising=False)
    monkeypatch.setenv("LAKE_ALERT_WEBHOOK_URL", url)
    with instance_for_test() as instance:
        context = failed_run_context(instance, lake_root)
        alert_sensors().failures(context)
        run = instance.get_run_by_id(context.dagster_run.run_id)
    assert seen == ["POST"]
    assert run.tags[alerts.OWED_TO] == "webhook"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "hooks.slack.com"])
def test_only_http_webhooks_are_accepted(url: str) -> None:
    from lake_assets.settings import LakeSettings, SettingsError

    with pytest.raises(SettingsError, match="LAKE_ALERT_WEBHOOK_URL"):
        LakeSettings.from_env({"LAKE_ALERT_WEBHOOK_URL": url})


def test_runs_of_other_code_are_not_alerted(
    webhook: tuple[str, list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sensor watches every code location (CLI runs have none), so it picks its own."""
    from dagster import asset

    @asset
    def someone_elses() -> None:
        raise RuntimeError("not ours")

    url, received = webhook
    monkeypatch.setenv("LAKE_ALERT_WEBHOOK_URL", url)
    with instance_for_test() as instance:
        result = materialize([someone_elses], instance=instance, raise_on_error=False)
        [failure] = [
            r.dagster_event
            for r in instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
        ]
        alert_sensors().failures(
            build_run_status_sensor_context(
                sensor_name="lake_failure_alerts",
                dagster_event=failure,
                dagster_instance=instance,
                dagster_run=instance.get_run_by_id(result.run_id),
            ).for_run_failure()
        )
    assert received == []
