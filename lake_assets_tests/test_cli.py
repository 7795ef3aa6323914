"""`lake-assets`: demo seed/range/report, query and doctor, against real MariaDB."""

from __future__ import annotations

import re
from pathlib import Path

import pymysql
import pytest
from click.testing import CliRunner

from lake_assets.cli import main
from lake_assets_tests.defs.reports.test_daily import run  # the reports and their rollup
from lake_assets_tests.defs.reports.test_pipeline import canned
from lake_assets_tests.report_defs import reports_daily


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
    monkeypatch.setenv("MYSQL_CONNECT_RETRY_S", "1")  # the sentence, not the retry window
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
    chart = Path(lake_root).parent / "report.svg"
    code, out = invoke("demo", "report", "--chart", str(chart))
    assert code == 0, out
    assert out.splitlines()[2].split() == ["20260101", "8", "1", "20.005"]
    # the same numbers as asking every reading (what the report read before the rollup)
    from lake_assets.cli import _fmt
    from lake_assets_tests.defs.reports.test_pipeline import table_counts

    assert [line.split()[::3] + line.split()[1:2] for line in out.splitlines()[2:4]] == [
        [date, _fmt(mean), _fmt(n)] for date, (n, mean) in table_counts(lake_root).items()
    ]
    svg = chart.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<title>20260101: 8 readings</title>" in svg
    assert "<title>20260102: 1 quarantined</title>" in svg


def test_bad_setting_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKE_TIMEZONE", "Nowhere/Special")
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path))
    code, out = invoke("query", "SELECT 1")
    assert code == 1
    assert "LAKE_TIMEZONE='Nowhere/Special' is not an IANA timezone" in out


@pytest.mark.mysql
def test_doctor_judges_every_copy_against_the_source(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copies = tmp_path / "copies.yaml"
    copies.write_text(
        "copies:\n"
        "  - table: devices\n    mode: full\n"
        "  - table: device_events\n    mode: daily\n    date_column: kind\n"
        "  - table: gone\n    mode: full\n"
    )
    monkeypatch.setenv("LAKE_COPIES", str(copies))
    code, out = invoke("doctor")
    assert code == 1
    assert "ok    copy devices: 4 columns, full, ordered by device_id" in out
    assert (
        f"FAIL  copy device_events: {copies}, entry 2 (device_events): date_column `kind` is "
        "enum('boot','battery_low','calibrated'), not a DATE, DATETIME or TIMESTAMP" in out
    )
    assert f"FAIL  copy gone: {copies}, entry 3 (gone): table `" in out
    assert "ok    mysql" in out


@pytest.mark.mysql
def test_demo_report_joins_the_readings_with_the_copied_devices(
    cli_env: str, mysql_resource, source_conn: pymysql.Connection
) -> None:
    """The demo end to end on MariaDB: seed, the reports pipeline and the demo's copies, then
    the mean temperature per site, answered from the catalog."""
    from lake_assets.core.copies_file import load_copies
    from lake_assets.defs.resources import lake_resource
    from lake_assets.project import Project, build_catalog
    from lake_assets.settings import LakeSettings
    from lake_assets_tests.conftest import materialize_days
    from lake_assets_tests.defs.reports.test_pipeline import ASSETS

    code, out = invoke("demo", "seed", "--days", "1", "--end", "2026-01-01", "--devices", "6")
    assert code == 0, out
    settings = LakeSettings.from_env({"LAKE_ROOT": cli_env})
    copies = load_copies(Path(__file__).parents[1] / "lake_assets/demo/copies.yaml")
    built = [Project(settings).copy_defs(spec) for spec in copies]
    resources = {
        "mysql": mysql_resource,
        "lake": lake_resource(cli_env),
        "catalog": build_catalog(settings),
    }
    daily = [a for (a, _), s in zip(built, copies, strict=True) if s.daily]
    full = [a for (a, _), s in zip(built, copies, strict=True) if not s.daily]
    assert materialize_days([*ASSETS, reports_daily, *daily], resources, "2026-01-01").success
    assert materialize_days(full, resources, None).success  # type: ignore[arg-type]
    code, out = invoke("demo", "report")
    assert code == 0, out
    with source_conn.cursor() as cur:
        cur.execute("SELECT site, count(*) FROM devices GROUP BY site ORDER BY site")
        sites = cur.fetchall()
    lines = out.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("site")))
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[header + 2 :]]
    assert [(cells[0], int(cells[1])) for cells in table] == [(site, n) for site, n in sites]
    from lake_assets.demo.seed import SITE_WARMTH, SITES

    warmth = dict(zip(SITES, SITE_WARMTH, strict=True))
    for cells in table:  # each site's own climate comes through the join
        assert float(cells[2]) == pytest.approx(21 + warmth[cells[0]], abs=0.1)
    # the same figures as asking every reading (what the report read before the rollup)
    _, every_reading = resources["catalog"].query(
        "SELECT d.site, count(DISTINCT r.device_id), round(avg(r.value), 2)"
        " FROM reports r JOIN devices d ON d.device_id = r.device_id"
        " WHERE r.channel = 'temperature' GROUP BY d.site ORDER BY d.site"
    )
    assert [[site, int(n), float(mean)] for site, n, mean in table] == [
        list(row) for row in every_reading
    ]


def test_demo_pin_start_writes_the_first_day_once_and_never_overrides_yours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("MYSQL_DATABASE=mine")  # no newline at the end
    monkeypatch.delenv("LAKE_START_DATE", raising=False)
    args = ("demo", "pin-start", "--days", "7", "--end", "2026-01-31", "--env-file", str(env))
    code, out = invoke(*args)
    assert (code, out.splitlines()[0]) == (0, f"LAKE_START_DATE=2026-01-25 written to {env}")
    assert "delete that line" in out
    assert env.read_text().splitlines()[0] == "MYSQL_DATABASE=mine"
    assert env.read_text().splitlines()[-1] == "LAKE_START_DATE=2026-01-25"
    code, out = invoke(
        "demo", "pin-start", "--days", "3", "--end", "2026-03-01", "--env-file", str(env)
    )
    assert (code, out) == (0, "LAKE_START_DATE=2026-01-25 is yours; left as it is\n")
    monkeypatch.setenv("LAKE_START_DATE", "2020-05-05")
    other = tmp_path / "other.env"
    code, out = invoke("demo", "pin-start", "--env-file", str(other))
    assert "LAKE_START_DATE=2020-05-05 is yours" in out and not other.exists()


def test_the_demo_report_is_the_same_on_both_table_formats(
    cli_env: str, mysql_resource, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make demo`'s answer, number for number, from a Hive lake and from an Iceberg lake fed
    by the same source: the reports pipeline and the demo's copies, then `demo report`."""
    from lake_assets.core.copies_file import load_copies
    from lake_assets.defs.resources import lake_resource
    from lake_assets.project import Project, build_catalog
    from lake_assets.settings import LakeSettings
    from lake_assets_tests.conftest import materialize_days
    from lake_assets_tests.defs.reports.test_pipeline import ASSETS

    code, out = invoke("demo", "seed", "--days", "2", "--end", "2026-01-02", "--devices", "6")
    assert code == 0, out
    copies = load_copies(Path(__file__).parents[1] / "lake_assets/demo/copies.yaml")
    reports = {}
    for table_format in ("hive", "iceberg"):
        root = str(tmp_path / table_format)
        env = {"LAKE_ROOT": root, "LAKE_TABLE_FORMAT": table_format}
        settings = LakeSettings.from_env(env)
        built = [Project(settings).copy_defs(spec) for spec in copies]
        resources = {
            "mysql": mysql_resource,
            "lake": lake_resource(root, table_format),
            "catalog": build_catalog(settings),
        }
        daily = [a for (a, _), s in zip(built, copies, strict=True) if s.daily]
        full = [a for (a, _), s in zip(built, copies, strict=True) if not s.daily]
        assert materialize_days(
            [*ASSETS, reports_daily, *daily], resources, "2026-01-01", "2026-01-02"
        ).success
        assert materialize_days(full, resources, None).success  # type: ignore[arg-type]
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code, reports[table_format] = invoke("demo", "report")
        assert code == 0, reports[table_format]
    assert "20260102" in reports["hive"] and "site" in reports["hive"]
    assert reports["iceberg"] == reports["hive"]
