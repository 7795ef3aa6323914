"""The code location loads the way `dagster dev` loads it, with the contract's names, and bad
settings fail at load time with the variable to fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DailyPartitionsDefinition, instance_for_test
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from lake_assets_tests.conftest import REPO


def test_workspace_yaml_loads_the_reports_assets_with_daily_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    with (
        instance_for_test() as instance,
        WorkspaceProcessContext(
            instance, WorkspaceFileTarget(paths=[str(REPO / "workspace.yaml")])
        ) as process_context,
    ):
        request_context = process_context.create_request_context()
        errors = request_context.code_location_errors()
        assert not errors, errors
        location = request_context.get_code_location("lake_assets")
        repo = next(iter(location.get_repositories().values()))
        nodes = {n.asset_key.to_user_string(): n for n in repo.get_asset_node_snaps()}
        assert set(nodes) == {"raw_reports", "decoded_reports", "reports_table", "reports_daily"}
        for node in nodes.values():
            assert node.partitions is not None
            assert "TimeWindow" in type(node.partitions).__name__
            assert node.backfill_policy is not None
        assert repo.has_job("daily_reports_job")
        assert repo.has_schedule("daily_reports_schedule")


def test_definitions_share_one_daily_partitions_definition() -> None:
    from lake_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    partitions = {graph.get(k).partitions_def for k in graph.get_all_asset_keys()}
    assert len(partitions) == 1
    [daily] = partitions
    assert isinstance(daily, DailyPartitionsDefinition)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LAKE_START_DATE", "2021-13-01", "LAKE_START_DATE='2021-13-01' is not a date"),
        ("LAKE_TIMEZONE", "Mars/Olympus", "LAKE_TIMEZONE='Mars/Olympus' is not an IANA timezone"),
        ("LAKE_ROOT", "s3://", "has no bucket"),
    ],
)
def test_bad_settings_fail_at_load_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    env = {**os.environ, variable: value}
    proc = subprocess.run(
        [sys.executable, "-c", "import lake_assets.definitions"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert message in proc.stderr


def test_password_is_an_env_var_not_a_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import EnvVar

    from lake_assets.project import build_resources
    from lake_assets.settings import LakeSettings

    monkeypatch.setenv("MYSQL_PASSWORD", "hunter2")
    mysql = build_resources(LakeSettings.from_env({}))["mysql"]
    assert isinstance(mysql.password, EnvVar)  # resolved at run time, hidden in the UI
    monkeypatch.delenv("MYSQL_PASSWORD")
    assert build_resources(LakeSettings.from_env({}))["mysql"].password == ""


@pytest.mark.cli
def test_dg_knows_the_project(tmp_path: Path) -> None:
    """`[tool.dg]` makes this a dg project: `dg check defs` and `dg list defs` load it."""
    dg = str(Path(sys.executable).parent / "dg")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "LAKE_ROOT": str(tmp_path / "lake")}
    check = subprocess.run(
        [dg, "check", "defs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert "All definitions loaded successfully" in check.stdout + check.stderr
    listed = subprocess.run(
        [dg, "list", "defs", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    body = json.loads(listed.stdout)
    keys = {a["asset_key"] for a in body["assets"]}
    assert {"raw_reports", "decoded_reports", "reports_table"} <= keys


# Each costs every process that loads the code location a start-up share (on the 2-core
# bench machine: dagster-aws ~0.9 s, pyiceberg's catalog ~1 s, boto3 ~0.15 s, DuckDB ~0.08 s).
OPTIONAL = ("pyiceberg", "dagster_aws", "boto3", "botocore", "s3transfer", "duckdb")


@pytest.mark.parametrize(
    ("root", "table_format", "needed", "lake", "catalog"),
    [
        ("local", "hive", set(), "LakeResource", "DuckDBCatalogResource"),
        ("local", "iceberg", set(), "LakeResource", "IcebergCatalogResource"),
        (
            "s3://bucket/lake",
            "hive",
            {"dagster_aws", "boto3", "botocore", "s3transfer"},
            "S3LakeResource",
            "GlueCatalogResource",
        ),
    ],
)
def test_loading_the_code_location_imports_only_what_the_lake_needs(
    tmp_path: Path, root: str, table_format: str, needed: set[str], lake: str, catalog: str
) -> None:
    """A local lake's processes never import dagster-aws, boto3 or DuckDB, and no lake's
    load imports pyiceberg: each is imported where it is first used (an S3 lake needs
    dagster-aws's S3Resource as soon as its resources are built)."""
    probe = (
        "import sys, lake_assets.definitions as d; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({OPTIONAL!r}))); "
        "print(type(d.defs.resources['lake']).__name__, type(d.defs.resources['catalog']).__name__)"
    )
    env = {
        **os.environ,
        "LAKE_ROOT": str(tmp_path) if root == "local" else root,
        "LAKE_TABLE_FORMAT": table_format,
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    imported, resources = out.stdout.strip().splitlines()
    assert imported == str(sorted(needed))
    assert resources == f"{lake} {catalog}"


def test_the_code_location_freezes_its_long_lived_objects(tmp_path: Path) -> None:
    """What exists once the code location is loaded is out of the collector's way (see
    lake_assets/collector.py), and exiting skips the collection: a cycle left at exit is not
    collected (its finalizer would have printed)."""
    probe = (
        "import gc, lake_assets.definitions\n"
        "print(gc.get_freeze_count() > 100_000)\n"
        "class Cycle:\n"
        "    def __del__(self): print('collected at exit')\n"
        "c = Cycle(); c.me = c; del c\n"
    )
    env = {**os.environ, "LAKE_ROOT": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True"]
