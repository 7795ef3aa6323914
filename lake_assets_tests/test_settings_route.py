"""Settings reach the code by one route: every variable is read once into `LakeSettings`, and
the resources are built from it (the password only as an EnvVar, resolved in the run)."""

from __future__ import annotations

import pytest
from dagster import EnvVar

from lake_assets.definitions import build_resources
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
