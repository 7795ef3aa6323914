"""`lake-assets`: the things people do by hand — seed the demo, query the lake, check the setup.

Materializing is Dagster's job: `dagster asset materialize -m lake_assets.definitions …`
(see the README); this command line covers everything around it.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import click
import pymysql

from lake_assets.lake.zones import TABLE
from lake_assets.settings import LakeSettings, SettingsError

if TYPE_CHECKING:
    from lake_assets.project import Project


def _project() -> Project:
    """The settings and the copies file, as the code location reads them: any problem with
    either stops the command with the same sentences."""
    from lake_assets.project import Project

    try:
        return Project.from_env()
    except SettingsError as e:
        raise click.ClickException(str(e)) from None


def _settings() -> LakeSettings:
    return _project().settings


def _mysql_params() -> dict[str, object]:
    """Connection parameters for the demo's seeding, from the same settings as the resource."""
    mysql = _settings().mysql
    return {
        "host": mysql.host,
        "port": mysql.port,
        "user": mysql.user,
        "password": os.environ.get("MYSQL_PASSWORD", ""),
        "database": mysql.database,
    }


@contextmanager
def _resources(settings: LakeSettings) -> Iterator[dict[str, Any]]:
    """The code location's resources, initialised with their EnvVars resolved, as in a run."""
    from lake_assets.project import build_resources

    with ExitStack() as stack:
        yield {
            name: stack.enter_context(resource.process_config_and_initialize_cm())
            for name, resource in build_resources(settings).items()
        }


def print_table(names: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    click.echo("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for row, r in zip(rows, cells, strict=True):
        click.echo(
            "  ".join(
                v.ljust(w) if isinstance(raw, str) else v.rjust(w)
                for raw, v, w in zip(row, r, widths, strict=True)
            ).rstrip()
        )


def _fmt(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:,.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


@click.group()
def main() -> None:
    """Operate the lake-assets data lake (configuration: environment variables or .env)."""


@main.command()
@click.argument("sql")
def query(sql: str) -> None:
    """Run SQL against the `reports` table (DuckDB for a local lake) and print the result."""
    with _resources(_settings()) as resources:
        names, rows = resources["catalog"].query(sql)
    print_table(names, rows)


@main.command()
@click.argument("first", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("last", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--wait", is_flag=True, help="Follow it to the end; exit 1 if a run failed.")
@click.option("--url", help="The Dagster webserver [DAGSTER_WEBSERVER_URL, else 127.0.0.1:3000].")
@click.option("--poll", default=5.0, show_default=True, help="Seconds between progress checks.")
def backfill(
    first: dt.datetime, last: dt.datetime, wait: bool, url: str | None, poll: float
) -> None:
    """Backfill the days FIRST…LAST (YYYY-MM-DD) of every daily asset: a Dagster backfill, as
    the UI's Materialize makes, split into runs of LAKE_BACKFILL_DAYS_PER_RUN days."""
    from lake_assets.backfill import DEFAULT_WEBSERVER_URL, BackfillError, Webserver, follow

    if last < first:
        raise click.BadParameter(f"{last:%Y-%m-%d} is before {first:%Y-%m-%d}", param_hint="LAST")
    webserver = Webserver(url or _settings().webserver_url or DEFAULT_WEBSERVER_URL)
    days = (f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
    try:
        assets = webserver.daily_assets()
        backfill_id = webserver.launch(*days, assets)
        click.echo(f"backfill {backfill_id}: {days[0]}…{days[1]} of {len(assets)} asset(s)")
        click.echo(f"  {webserver.link(backfill_id)}")
        if wait:
            progress = follow(webserver, backfill_id, click.echo, poll_s=poll)
    except BackfillError as e:
        raise click.ClickException(str(e)) from None
    if wait and not progress.succeeded:
        click.echo(f"backfill {backfill_id} did not succeed: {progress}", err=True)
        sys.exit(1)


@main.command()
def pools() -> None:
    """Create the project's concurrency pools on the instance (DAGSTER_HOME) if missing, at its
    default limit, and show them. Run once on a new instance before the first runs."""
    from dagster import DagsterInstance

    from lake_assets.defs.pools import ensure_pools

    with DagsterInstance.get() as instance:
        rows = [
            (p.name, "unlimited" if p.limit is None else p.limit, "yes" if p.from_default else "no")
            for p in ensure_pools(instance)
        ]
    print_table(["pool", "limit", "from default_limit"], rows)


@main.command()
def doctor() -> None:
    """Check the configuration: settings, MySQL, the source table, the lake, the catalog and
    every entry of the copies file against the source."""
    from lake_assets.project import Project

    try:
        project = Project.from_env()
    except SettingsError as e:  # every bad setting, one sentence each, then stop
        for problem in e.problems:
            click.echo(f"FAIL  settings: {problem}")
        sys.exit(1)
    with _resources(project.settings) as resources:
        failed = _doctor_checks(project, resources)
    if failed:
        sys.exit(1)


def _doctor_checks(project: Project, resources: dict[str, Any]) -> bool:
    settings = project.settings
    failed = False

    def check(label: str, fn) -> None:
        nonlocal failed
        try:
            detail = fn()
            click.echo(f"ok    {label}{': ' + detail if detail else ''}")
        except Exception as e:
            failed = True
            click.echo(f"FAIL  {label}: {e}")

    mysql = resources["mysql"]

    def source() -> str:
        with mysql.connect() as conn:
            cols = mysql.table_columns(conn)
        return f"{mysql.describe()} (`reports` has {len(cols)} columns)"

    check("settings", lambda: f"start {settings.start_date}, timezone {settings.timezone}")
    check("mysql", source)
    check("lake", lambda: (resources["lake"].store(), settings.lake_root)[1])
    check("catalog", lambda: f"{len(resources['catalog'].partitions(TABLE))} published day(s)")
    for spec in project.copies:
        check(f"copy {spec.table}", lambda spec=spec: _judge_copy(mysql, spec))
    return failed


def _judge_copy(mysql: Any, spec: Any) -> str:
    """The copies file's entry against the source: the table, its date column, its types."""
    from lake_assets.source.extract import judge_source

    with mysql.connect() as conn:
        source = judge_source(mysql, conn, spec)
    how = f"daily by {spec.date_column}" if spec.daily else "full"
    order = ", ".join(source.order_by) or "no primary key: unordered"
    return f"{len(source.columns)} columns, {how}, ordered by {order}"


@main.group()
def demo() -> None:
    """The demo source: synthetic `reports` rows in MYSQL_DATABASE (default lake_demo)."""


def _demo_days(days: int, end: str | None) -> list[dt.date]:
    last = dt.date.fromisoformat(end) if end else dt.datetime.now(dt.UTC).date() - dt.timedelta(1)
    return [last - dt.timedelta(days=i) for i in reversed(range(days))]


@demo.command()
@click.option("--days", default=7, show_default=True, help="how many days, ending --end")
@click.option("--end", default=None, help="last day (YYYY-MM-DD); default yesterday (UTC)")
@click.option("--devices", default=25, show_default=True)
@click.option("--seed", default=7, show_default=True, help="same seed, same data")
@click.option("--force", is_flag=True, help="seed a database the demo did not create")
def seed(days: int, end: str | None, devices: int, seed: int, force: bool) -> None:
    """Create the demo table and (re)generate its rows for the days; safe to run again.
    A database that the demo did not create is refused (it deletes rows) unless --force."""
    from lake_assets.demo.seed import (
        NotADemoDatabase,
        ensure_schema,
        replace_days,
        replace_devices,
        replace_events,
    )

    params = _mysql_params()
    database = str(params.pop("database"))
    try:
        conn = pymysql.connect(**params, autocommit=False)  # type: ignore[arg-type]
    except pymysql.err.OperationalError as e:
        raise click.ClickException(
            f"cannot reach MySQL at {params['host']}:{params['port']} as {params['user']!r} — "
            f"is it running? set MYSQL_HOST / MYSQL_PORT / MYSQL_USER ({e.args[-1]})"
        ) from None
    with conn:
        try:
            ensure_schema(conn, database, force=force)
        except NotADemoDatabase as e:
            raise click.ClickException(str(e)) from None
        day_list = _demo_days(days, end)
        n = replace_days(conn, day_list, devices, seed=seed)
        n_devices = replace_devices(conn, devices)
        n_events = replace_events(conn, day_list, devices)
    click.echo(
        f"seeded {n:,} rows into {database}.reports, {n_events:,} into device_events for "
        f"{day_list[0]} … {day_list[-1]}, and {n_devices} devices"
    )


@demo.command(name="pin-start")
@click.option("--days", default=7, show_default=True)
@click.option("--end", default=None)
@click.option("--env-file", default=".env", show_default=True, type=click.Path(dir_okay=False))
def pin_start(days: int, end: str | None, env_file: str) -> None:
    """Start the daily partitions at the demo's first day (LAKE_START_DATE in .env), so that the
    UI shows the demo's days, all filled. A LAKE_START_DATE you set yourself, in the
    environment or in the file, is left as it is."""
    from pathlib import Path

    from dotenv import dotenv_values

    path = Path(env_file)
    first = _demo_days(days, end)[0].isoformat()
    mine = os.environ.get("LAKE_START_DATE") or (
        dotenv_values(path).get("LAKE_START_DATE") if path.exists() else None
    )
    if mine:
        click.echo(f"LAKE_START_DATE={mine} is yours; left as it is")
        return
    text = path.read_text() if path.exists() else ""
    separator = "" if not text or text.endswith("\n") else "\n"
    path.write_text(
        f"{text}{separator}# written by `lake-assets demo pin-start`: the partitions start at "
        f"the demo's first day\nLAKE_START_DATE={first}\n"
    )
    click.echo(f"LAKE_START_DATE={first} written to {path}")
    click.echo("(delete that line before you point the project at a source with older days)")


@demo.command(name="range")
@click.option("--days", default=7, show_default=True)
@click.option("--end", default=None)
def range_(days: int, end: str | None) -> None:
    """Print the demo days as a Dagster partition range, `START...END`."""
    day_list = _demo_days(days, end)
    click.echo(f"{day_list[0].isoformat()}...{day_list[-1].isoformat()}")


@demo.command()
@click.option(
    "--chart",
    type=click.Path(dir_okay=False),
    default=None,
    help="also draw readings and quarantined rows per day into this SVG file",
)
def report(chart: str | None) -> None:
    """Per published day: readings, quarantined rows and mean temperature; then per site.
    Read from the daily rollup, `reports_daily`, not from every reading."""
    with _resources(_settings()) as resources:
        _report(resources, chart)


# Each day's readings (missing samples included, as every row of `reports`) and mean
# temperature, re-aggregated exactly from the rollup's counts and sums.
DAYS_SQL = (
    "SELECT date, sum(readings + nulls) AS readings,"
    " sum(sum) FILTER (WHERE channel = 'temperature')"
    " / sum(readings) FILTER (WHERE channel = 'temperature') AS mean_temp_c"
    " FROM reports_daily GROUP BY date ORDER BY date"
)
# Per site (the copied `devices` table): its devices and their mean temperature.
SITES_SQL = (
    "SELECT d.site, count(DISTINCT r.device_id) AS devices,"
    " round(sum(r.sum) / sum(r.readings), 2) AS mean_temp_c"
    " FROM reports_daily r JOIN devices d ON d.device_id = r.device_id"
    " WHERE r.channel = 'temperature' GROUP BY d.site ORDER BY d.site"
)


def _report(resources: dict[str, Any], chart: str | None = None) -> None:
    from lake_assets.core.days import path_value_to_date
    from lake_assets.lake.zones import read_decoded

    store = resources["lake"].store()
    advice = "run `make demo` (or materialize reports_daily)"
    try:
        _, rows = resources["catalog"].query(DAYS_SQL)
    except Exception as e:  # no reports_daily table in the catalog yet, most likely
        said = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise click.ClickException(f"no published days yet ({said}) — {advice}") from e
    if not rows:
        raise click.ClickException(f"no published days yet — {advice}")
    out = []
    for date, readings, mean_temp in rows:
        decoded = read_decoded(store, path_value_to_date(date))
        out.append((date, readings, decoded[1].rows if decoded else None, mean_temp))
    print_table(["date", "readings", "quarantined", "mean_temp_c"], out)
    _report_sites(resources["catalog"])
    if chart:
        from pathlib import Path

        from lake_assets.demo.chart import days_chart

        title = "Readings and quarantined rows per day"
        Path(chart).write_text(days_chart([(d, r, q) for d, r, q, _ in out], title))
        click.echo(f"\nchart: {chart}")


def _report_sites(catalog: Any) -> None:
    """Mean temperature per site: the rollup joined with the copied `devices` table."""
    try:
        names, rows = catalog.query(SITES_SQL)
    except Exception as e:  # no `devices` copy in this lake: say so, the rest stands
        click.echo(f"\n(no per-site figures: the `devices` copy is not in the catalog: {e})")
        return
    click.echo()
    print_table(names, rows)


if __name__ == "__main__":
    main()
