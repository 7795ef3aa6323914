"""Settings reach the code by one route: every variable is read once into `LakeSettings`, and
the resources are built from it (the password only as an EnvVar, resolved in the run)."""

from __future__ import annotations

import pytest
from dagster import EnvVar

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.project import build_resources
from lake_assets.settings import LakeSettings, SettingsError


def test_resources_are_built_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSQL_PASSWORD", "s3cret")
    settings = LakeSettings.from_env(
        {
            "MYSQL_HOST": "db.internal",
            "MYSQL_PORT": "3307",
            "MYSQL_USER": "lake",
            "MYSQL_DATABASE": "prod",
            "MYSQL_READ_TIMEOUT_S": "5",
            "MYSQL_PASSWORD": "s3cret",
            "LAKE_ROOT": "s3://bucket/lake",
            "GLUE_DATABASE": "sensors",
            "ATHENA_WORKGROUP": "lake",
            "LAKE_S3_KMS_KEY_ID": " alias/lake ",
        }
    )
    resources = build_resources(settings)
    mysql = resources["mysql"]
    assert (mysql.host, mysql.port, mysql.user, mysql.database, mysql.read_timeout_s) == (
        "db.internal",
        3307,
        "lake",
        "prod",
        5,
    )
    assert mysql.password == EnvVar("MYSQL_PASSWORD"), "the secret stays an EnvVar"
    assert "s3cret" not in repr(settings)
    catalog = resources["catalog"]
    assert (catalog.database, catalog.athena_workgroup) == ("sensors", "lake")
    assert resources["lake"].kms_key_id == catalog.kms_key_id == "alias/lake"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MYSQL_PORT", "33o6", r"MYSQL_PORT='33o6' must be a whole number ≥ 1"),
        ("MYSQL_READ_TIMEOUT_S", "0", r"MYSQL_READ_TIMEOUT_S='0' must be a whole number ≥ 1"),
    ],
)
def test_a_bad_mysql_setting_fails_at_load(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        LakeSettings.from_env({name: value})


def test_backfill_days_per_run_splits_a_backfill_into_runs_of_n_days(tmp_path) -> None:
    """0 (default): a range is one run (what --partition-range needs); N: runs of N days."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json\n"
        "from lake_assets.definitions import defs\n"
        "graph = defs.resolve_asset_graph()\n"
        "out = {}\n"
        "for key in graph.get_all_asset_keys():\n"
        "    policy = graph.get(key).backfill_policy\n"
        "    out[key.to_user_string()] = policy.max_partitions_per_run if policy else 'none'\n"
        "print(json.dumps(out))\n"
    )
    seen = {}
    for value in ("", "2"):
        env = {**os.environ, "LAKE_BACKFILL_DAYS_PER_RUN": value, "LAKE_ROOT": str(tmp_path)}
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        seen[value] = json.loads(proc.stdout.strip().splitlines()[-1])
    daily = ("raw_reports", "decoded_reports", "reports_table")
    assert all(seen[""][k] is None for k in daily), "single run: no limit per run"
    assert all(seen["2"][k] == 2 for k in daily)
    with pytest.raises(SettingsError, match=r"LAKE_BACKFILL_DAYS_PER_RUN='two' must be a whole"):
        LakeSettings.from_env({"LAKE_BACKFILL_DAYS_PER_RUN": "two"})


def test_the_table_format_chooses_the_catalog_and_the_file_layout(tmp_path) -> None:
    settings = LakeSettings.from_env({"LAKE_ROOT": str(tmp_path), "LAKE_TABLE_FORMAT": "Iceberg"})
    resources = build_resources(settings)
    assert isinstance(resources["catalog"], IcebergCatalogResource)
    assert resources["lake"].layout().iceberg
    hive = build_resources(LakeSettings.from_env({"LAKE_ROOT": str(tmp_path)}))
    assert isinstance(hive["catalog"], DuckDBCatalogResource)
    assert not hive["lake"].layout().iceberg


def test_an_unknown_table_format_fails_at_load() -> None:
    with pytest.raises(SettingsError, match=r"LAKE_TABLE_FORMAT='delta': set it to one of hive"):
        LakeSettings.from_env({"LAKE_TABLE_FORMAT": "delta"})


def test_an_s3_iceberg_lake_keeps_its_tables_in_glue() -> None:
    settings = LakeSettings.from_env(
        {"LAKE_TABLE_FORMAT": "iceberg", "LAKE_ROOT": "s3://bucket/lake", "GLUE_DATABASE": "g"}
    )
    catalog = build_resources(settings)["catalog"]
    assert isinstance(catalog, IcebergCatalogResource)
    assert catalog.on_s3 and catalog.describe() == "iceberg:glue:g"
    assert catalog.location("reports") == "s3://bucket/lake/iceberg/reports"
