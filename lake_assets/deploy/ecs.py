"""The ECS run launcher of deploy/ecs/dagster.yaml: dagster-aws's `EcsRunLauncher`, with the
run tasks' network taken from settings like every other value.

`run_task_kwargs` is free-form in Dagster's config, so `{env: …}` is not resolved inside it;
the subnets and security groups therefore come in as their own (env-sourced) fields and are
put into `run_task_kwargs.networkConfiguration` here. Everything else is dagster-aws's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from dagster import Field, StringSource
from dagster._serdes.config_class import ConfigurableClassData
from dagster_aws.ecs import EcsRunLauncher


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class LakeEcsRunLauncher(EcsRunLauncher):
    """Each run is its own ECS task (Fargate) in the configured subnets and security groups."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **super().config_type(),
            "subnets": Field(StringSource, description="Comma-separated subnet ids of the runs."),
            "security_groups": Field(
                StringSource, description="Comma-separated security group ids of the runs."
            ),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        config = dict(config_value)
        subnets, groups = _ids(config.pop("subnets")), _ids(config.pop("security_groups"))
        if not subnets or not groups:
            raise ValueError(
                "the ECS run launcher needs subnets and security groups: set "
                "DAGSTER_ECS_SUBNETS and DAGSTER_ECS_SECURITY_GROUPS (comma-separated ids)"
            )
        network = {
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": groups,
                "assignPublicIp": "DISABLED",  # private subnets; reach AWS via NAT or endpoints
            }
        }
        config["run_task_kwargs"] = {
            **config.get("run_task_kwargs", {}),
            "networkConfiguration": network,
        }
        return cls(inst_data=inst_data, **config)
