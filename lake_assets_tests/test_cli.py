"""`lake-assets`: demo seed/range/report, query and doctor, against real MariaDB."""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest
from click.testing import CliRunner

from lake_assets.cli import main
from lake_assets_tests.assets.test_pipeline import canned, run


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, mysql_server: dict, source_db: str, lake_root: str
) -> str:
    for name, value in {
        "MYSQL_HOST": mysql_server["host"],
        "MYSQL_PORT": mysql_server["port"],
        "MYSQL_USER": mysql_server["user"],
        "MYSQL_PASSWORD": mysql_server["password"],
        "MYSQL_DATABASE": source_db,
        "LAKE_ROOT": lake_root,
    }.items():
        monkeypatch.setenv(name, str(value))
    return lake_root


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_demo_range_prints_a_dagster_partition_range() -> None:
    assert invoke("demo", "range", "--days", "7", "--end", "2026-01-31") == (
        0,
        "2026-01-25...2026-01-31\n",
    )


@pytest.mark.mysql
def test_demo_seed_is_repeatable(cli_env: str, source_conn: pymysql.Connection) -> None:
    for _ in range(2):
        code, out = invoke("demo", "seed", "--days", "2", "--end", "2026-01-02", "--devices", "3")
        assert code == 0, out
    with source_conn.cursor() as cur:
        cur.execute("SELECT date_start, count(*) FROM reports GROUP BY 1 ORDER BY 1")
        counts = [n for _, n in cur.fetchall()]
    assert counts == [3 * 24 + 5, 3 * 24 + 5], "re-seeding replaces the days"


@pytest.mark.mysql
def test_demo_seed_refuses_a_database_it_did_not_create(
    cli_env: str, source_conn: pymysql.Connection
) -> None:
    with source_conn.cursor() as cur:  # a real source: its table, no demo marker
        cur.execute("DROP TABLE lake_assets_demo")
        cur.execute(
            "INSERT INTO reports (device_id, date_start, created_at, encoded)"
            " VALUES (1, '2026-01-01', NOW(), 'precious')"
        )
    code, out = invoke("demo", "seed", "--days", "1", "--end", "2026-01-01")
    assert code == 1 and "was not created by `lake-assets demo seed`" in out
    assert "--force" in out and "MYSQL_DATABASE" in out
    with source_conn.cursor() as cur:
        cur.execute("SELECT encoded FROM reports")
        assert cur.fetchall() == (("precious",),), "nothing was touched"
    code, out = invoke("demo", "seed", "--days", "1", "--end", "2026-01-01", "--force")
    assert code == 0, out


@pytest.mark.mysql
def test_doctor_passes_then_names_what_is_wrong(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = invoke("doctor")
    assert code == 0, out
    assert "ok    mysql" in out
    monkeypatch.setenv("MYSQL_PORT", "1")
    code, out = invoke("doctor")
    assert code == 1
    assert "FAIL  mysql: cannot reach MySQL at" in out


def test_query_and_report_read_the_catalog(monkeypatch: pytest.MonkeyPatch, lake_root: str) -> None:
    monkeypatch.setenv("LAKE_ROOT", lake_root)
    code, out = invoke("demo", "report")
    assert code == 1 and "no published days yet" in out
    assert run(
        lake_root, canned(["2026-01-01", "2026-01-02"], reports=2), "2026-01-01", "2026-01-02"
    ).success
    code, out = invoke("query", "SELECT date, count(*) AS n FROM reports GROUP BY 1 ORDER BY 1")
    assert code == 0, out
    assert out.splitlines()[2:] == ["20260101  8", "20260102  8"]
    code, out = invoke("demo", "report")
    assert code == 0, out
    assert out.splitlines()[2].split() == ["20260101", "8", "1", "20.005"]


def test_bad_setting_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKE_TIMEZONE", "Nowhere/Special")
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path))
    code, out = invoke("query", "SELECT 1")
    assert code == 1
    assert "LAKE_TIMEZONE='Nowhere/Special' is not an IANA timezone" in out
