"""deploy/ecs/dagster.yaml against moto: a run of the project launched by the instance's ECS
run launcher becomes one Fargate task of the code image, whose command is `dagster api
execute_run`, whose environment carries the lake's settings and whose secrets are the two
Secrets Manager ARNs (MySQL, PostgreSQL), with no password in the plain environment or the
command; and the S3 compute log manager writes a step's logs to S3.

The launcher and the compute log manager run in this process, so moto's in-process
`mock_aws` sees every call. moto's `run_task` adds up the containers' `memory`, which Dagster
does not set (it sets the task's); the test fills it from the task's size (`_sized`) rather
than pre-registering a task definition, so that the definition asserted is the one Dagster
registers from this configuration."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from dagster import DagsterInstance, asset, materialize
from dagster._core.test_utils import create_run_for_test, in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import deserialize_value
from moto import mock_aws
from moto.ecs.models import EC2ContainerServiceBackend

from lake_assets.deploy.ecs import LakeEcsRunLauncher
from lake_assets_tests.conftest import REPO, fake_aws_env
from lake_assets_tests.deploy.conftest import pg_env

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lake-assets:2026.11.30"
MYSQL_PASSWORD = "mysql-pw-must-not-leak"
PG_PASSWORD = "pg-pw-must-not-leak"  # the test PostgreSQL trusts local logins: any will do
LOG_BUCKET = "lake-dagster-logs"


def _sized(calculate):
    """moto's resource count, with a container's missing `memory` taken as 0 (the task's own
    cpu/memory, which Dagster sets, are what Fargate sizes by)."""

    def calculate_with_defaults(task_definition):
        for container in task_definition.container_definitions:
            container.setdefault("memory", 0)
        return calculate(task_definition)

    return staticmethod(calculate_with_defaults)


@pytest.fixture
def aws_account(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict]:
    """moto's AWS with a cluster, a network, the two secrets and the logs bucket; the
    environment of the daemon's task; DAGSTER_HOME holding deploy/ecs/dagster.yaml."""
    fake_aws_env(monkeypatch)
    monkeypatch.setattr(
        EC2ContainerServiceBackend,
        "_calculate_task_resource_requirements",
        _sized(EC2ContainerServiceBackend._calculate_task_resource_requirements),
    )
    with mock_aws():
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        # as Fargate in a VPC needs (and moto's task ENIs need a DNS name)
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"]
            for i in (1, 2)
        ]
        group = ec2.create_security_group(GroupName="runs", Description="runs", VpcId=vpc)[
            "GroupId"
        ]
        boto3.client("ecs").create_cluster(clusterName="lake")
        secrets = boto3.client("secretsmanager")
        mysql_arn = secrets.create_secret(Name="lake/mysql", SecretString=MYSQL_PASSWORD)["ARN"]
        pg_arn = secrets.create_secret(Name="lake/dagster-pg", SecretString=PG_PASSWORD)["ARN"]
        boto3.client("s3").create_bucket(Bucket=LOG_BUCKET)
        env = {
            **pg_env(pg_database),
            "DAGSTER_PG_PASSWORD": PG_PASSWORD,
            "DAGSTER_PG_PASSWORD_SECRET_ARN": pg_arn,
            "LAKE_MYSQL_PASSWORD_SECRET_ARN": mysql_arn,
            "DAGSTER_ECS_CLUSTER": "lake",
            "DAGSTER_ECS_SUBNETS": ",".join(subnets),
            "DAGSTER_ECS_SECURITY_GROUPS": group,
            "DAGSTER_ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/lake-run-execution",
            "DAGSTER_ECS_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/lake-run",
            "DAGSTER_ECS_LOG_GROUP": "/lake/runs",
            "DAGSTER_COMPUTE_LOG_BUCKET": LOG_BUCKET,
            "DAGSTER_COMPUTE_LOG_PREFIX": "compute-logs",
            "DAGSTER_WEBSERVER_URL": "https://dagster.internal.example",
            "MYSQL_HOST": "aurora.cluster-ro.example",
            "MYSQL_PORT": "3306",
            "MYSQL_USER": "lake_reader",
            "MYSQL_DATABASE": "sensors",
            "LAKE_ROOT": "s3://lake-bucket/lake",
            "LAKE_START_DATE": "2025-12-01",
            "LAKE_TIMEZONE": "Europe/Berlin",
            "GLUE_DATABASE": "datalake",
            "LAKE_COPIES": "",
            "LAKE_BACKFILL_DAYS_PER_RUN": "2",
            "LAKE_S3_KMS_KEY_ID": "",
            # the daemon's own environment may hold the password: it must not be passed on
            "MYSQL_PASSWORD": MYSQL_PASSWORD,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        home = tmp_path / "home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "ecs" / "dagster.yaml", home / "dagster.yaml")
        yield {
            "home": home,
            "subnets": subnets,
            "group": group,
            "mysql": mysql_arn,
            "pg": pg_arn,
            **env,
        }


def test_a_run_is_one_fargate_task_with_its_passwords_as_ecs_secrets(aws_account: dict) -> None:
    with DagsterInstance.from_config(str(aws_account["home"])) as instance:
        assert isinstance(instance.run_launcher, LakeEcsRunLauncher)
        origin = LoadableTargetOrigin(module_name="lake_assets.definitions")
        with in_process_test_workspace(instance, origin, container_image=IMAGE) as workspace:
            [entry] = workspace.get_code_location_entries().values()
            repo = entry.code_location.get_repository("__repository__")
            job = repo.get_full_job("daily_reports_job")
            run = create_run_for_test(
                instance,
                job_name=job.name,
                remote_job_origin=job.get_remote_origin(),
                job_code_origin=job.get_python_origin(),
                tags={"dagster/partition": "2026-01-01"},
            )
            instance.launch_run(run.run_id, workspace)
        tags = instance.get_run_by_id(run.run_id).tags

    ecs = boto3.client("ecs")
    [task] = ecs.describe_tasks(cluster="lake", tasks=[tags["ecs/task_arn"]])["tasks"]
    assert task["launchType"] == "FARGATE"
    assert task["clusterArn"].endswith(":cluster/lake")
    [override] = task["overrides"]["containerOverrides"]
    assert override["name"] == "run"
    command = override["command"]
    assert command[:3] == ["dagster", "api", "execute_run"]
    execute_args = deserialize_value(command[3], ExecuteRunArgs)
    assert execute_args.run_id == run.run_id
    # the instance travels in the command: its password only as the variable's name
    storage = execute_args.instance_ref.storage_data.config_yaml
    assert "env: DAGSTER_PG_PASSWORD" in storage, storage

    definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])[
        "taskDefinition"
    ]
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("1024", "2048")
    assert definition["executionRoleArn"] == aws_account["DAGSTER_ECS_EXECUTION_ROLE_ARN"]
    assert definition["taskRoleArn"] == aws_account["DAGSTER_ECS_TASK_ROLE_ARN"]
    [container] = definition["containerDefinitions"]
    assert container["image"] == IMAGE
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/lake/runs"
    assert sorted(container["secrets"], key=lambda s: s["name"]) == [
        {"name": "DAGSTER_PG_PASSWORD", "valueFrom": aws_account["pg"]},
        {"name": "MYSQL_PASSWORD", "valueFrom": aws_account["mysql"]},
    ]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    for name in (
        "MYSQL_HOST",
        "MYSQL_USER",
        "MYSQL_DATABASE",
        "LAKE_ROOT",
        "LAKE_TIMEZONE",
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_DB",
    ):
        assert environment[name] == aws_account[name], name
    assert "MYSQL_PASSWORD" not in environment and "DAGSTER_PG_PASSWORD" not in environment
    # the network of the configuration, which moto records as the task's ENI attachment
    [attachment] = task["attachments"]
    details = {d["name"]: d["value"] for d in attachment["details"]}
    assert details["subnetId"] in aws_account["subnets"]
    # no password anywhere in what was sent to ECS, the command (with its instance) included
    sent = json.dumps([task, definition])
    assert MYSQL_PASSWORD not in sent and PG_PASSWORD not in sent


@asset
def talkative() -> None:
    print("hello from a step, on its way to S3")


def test_step_logs_go_to_s3(aws_account: dict) -> None:
    with DagsterInstance.from_config(str(aws_account["home"])) as instance:
        result = materialize([talkative], instance=instance)
        assert result.success
    s3 = boto3.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=LOG_BUCKET, Prefix="compute-logs/").get("Contents", [])
    ]
    out = [k for k in keys if k.endswith(".out")]
    assert out, keys
    texts = [s3.get_object(Bucket=LOG_BUCKET, Key=k)["Body"].read().decode() for k in out]
    assert any("hello from a step, on its way to S3" in t for t in texts)
