"""Environment → typed settings, validated once when the code location loads. Only the
environment (and ./.env): the copies file it names is read by lake_assets/project.py.

The names and defaults are the contract's (docs/lake-contract.md). A `.env` file in the
working directory is read too; variables already set win over it.
"""

from __future__ import annotations

import datetime as dt
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster import EnvVar
from dotenv import load_dotenv

T = TypeVar("T")

DEFAULTS: dict[str, str] = {
    "MYSQL_HOST": "127.0.0.1",
    "MYSQL_PORT": "3306",
    "MYSQL_USER": "root",
    "MYSQL_PASSWORD": "",
    "MYSQL_DATABASE": "lake_demo",
    "MYSQL_CONNECT_RETRY_S": "30",  # a restart or failover; then a wrong host/port fails
    "MYSQL_READ_TIMEOUT_S": "60",  # a silent server is given up on after this long
    "LAKE_ROOT": ".lake",
    "LAKE_START_DATE": "2021-01-01",
    "LAKE_TIMEZONE": "UTC",
    "GLUE_DATABASE": "datalake",
    # Athena, for `lake-assets query` on an S3 lake (not part of the contract's table)
    "LAKE_MAX_QUARANTINE_RATE": "0.01",
    # automation
    "LAKE_SCHEDULE_TIME": "00:30",  # when the day just closed is materialized (LAKE_TIMEZONE)
    "LAKE_LATE_LOOKBACK_DAYS": "7",
    "LAKE_LATE_SENSOR_INTERVAL_S": "900",
    "LAKE_FRESHNESS_DEADLINE": "06:00",  # yesterday must be published by then (LAKE_TIMEZONE)
    "LAKE_RETRY_MAX": "3",  # retries of a step after a transient error
    "LAKE_RETRY_DELAY_S": "30",  # first retry delay; doubles, with jitter
    "LAKE_ALERT_SNS_TOPIC_ARN": "",
    "LAKE_ALERT_WEBHOOK_URL": "",  # http(s) only; redirects are refused
    "DAGSTER_WEBSERVER_URL": "",  # base URL for run links in alerts
    "ATHENA_WORKGROUP": "primary",
    "ATHENA_OUTPUT_LOCATION": "",
    # table copies: a YAML file; unset → ./copies.yaml if it exists, else no copies
    "LAKE_COPIES": "",
    # 0: a backfill range is one run; N: runs of N days
    "LAKE_BACKFILL_DAYS_PER_RUN": "0",
    # a KMS key (id, ARN or alias) for SSE-KMS on every object the lake and Athena write
    "LAKE_S3_KMS_KEY_ID": "",
    # how the published tables are kept: Hive-style partitions (Glue / a DuckDB view), or
    # Apache Iceberg tables (Glue for an S3 lake, a SQLite SQL catalog for a local one)
    "LAKE_TABLE_FORMAT": "hive",
    # Iceberg maintenance: snapshots older than this are expired; files nothing reads are
    # deleted once their attempt is older than the margin (a run may still be committing it)
    "LAKE_SNAPSHOT_RETENTION_DAYS": "7",
    "LAKE_ORPHAN_MARGIN_HOURS": "24",
}
TABLE_FORMATS = ("hive", "iceberg")


class SettingsError(ValueError):
    """Configuration values are wrong: one sentence each (`problems`), naming the variable or
    the copies file's entry and how to fix it; the message is those sentences, a line each."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(problems))


class _Problems:
    """Collects every bad setting instead of stopping at the first, so that one look (the
    code location's error, `lake-assets doctor`) shows them all."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def take(self, parse: Callable[..., T], *args: object, default: T) -> T:
        try:
            return parse(*args)
        except SettingsError as e:
            self.found.extend(e.problems)
            return default

    def raise_any(self) -> None:
        if self.found:
            raise SettingsError(*self.found)


@dataclass(frozen=True)
class MySQLSettings:
    """Where the source is (MYSQL_*). The password is not held here: it reaches the resource
    as an `EnvVar`, resolved in the run and never shown (`password_set` says if there is one)."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    database: str = "lake_demo"
    connect_retry_s: int = 30
    read_timeout_s: int = 60
    password_set: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: _Problems | None = None) -> MySQLSettings:
        own = problems or _Problems()
        settings = cls(
            host=get(env, "MYSQL_HOST"),
            port=own.take(_parse_int, "MYSQL_PORT", get(env, "MYSQL_PORT"), 1, default=0),
            user=get(env, "MYSQL_USER"),
            database=get(env, "MYSQL_DATABASE"),
            connect_retry_s=own.take(
                _parse_int, "MYSQL_CONNECT_RETRY_S", get(env, "MYSQL_CONNECT_RETRY_S"), 0, default=0
            ),
            read_timeout_s=own.take(
                _parse_int, "MYSQL_READ_TIMEOUT_S", get(env, "MYSQL_READ_TIMEOUT_S"), 1, default=1
            ),
            password_set=bool(env.get("MYSQL_PASSWORD")),
        )
        if problems is None:
            own.raise_any()
        return settings


@dataclass(frozen=True)
class LakeSettings:
    start_date: dt.date
    timezone: str
    lake_root: str  # absolute local path, or s3://bucket/prefix
    glue_database: str
    max_quarantine_rate: float = 0.01
    schedule_time: dt.time = dt.time(0, 30)
    late_lookback_days: int = 7
    late_sensor_interval_s: int = 900
    freshness_deadline: dt.time = dt.time(6, 0)
    retry_max: int = 3
    retry_delay_s: float = 30.0
    alert_sns_topic_arn: str = ""
    alert_webhook_url: str = ""
    webserver_url: str = ""
    copies_file: str = ""  # the copies file to read (lake_assets/project.py), "" if none
    mysql: MySQLSettings = MySQLSettings()
    athena_workgroup: str = "primary"
    athena_output_location: str = ""  # "" → <LAKE_ROOT>/_athena/ unless the workgroup sets one
    backfill_days_per_run: int = 0  # 0: a range is one run
    s3_kms_key_id: str = ""  # "" → the bucket's default encryption
    table_format: str = "hive"  # or "iceberg"
    snapshot_retention_days: int = 7
    orphan_margin_hours: int = 24

    def __post_init__(self) -> None:
        if self.freshness_deadline <= self.schedule_time:
            raise SettingsError(
                f"LAKE_FRESHNESS_DEADLINE={self.freshness_deadline:%H:%M} must be later in the "
                f"day than LAKE_SCHEDULE_TIME={self.schedule_time:%H:%M}, when yesterday is "
                "materialized"
            )

    @property
    def is_s3(self) -> bool:
        return self.lake_root.startswith("s3://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LakeSettings:
        """The settings of `env` (the process's environment and ./.env when None). Every bad
        value is reported, not only the first: SettingsError.problems lists them."""
        if env is None:
            load_dotenv(Path.cwd() / ".env", override=False)
            env = os.environ
        p = _Problems()

        def num(name: str, minimum: int, default: int) -> int:
            return p.take(_parse_int, name, get(env, name), minimum, default=default)

        def time_of(name: str, default: dt.time) -> dt.time:
            return p.take(_parse_time, name, get(env, name), default=default)

        values = dict(
            start_date=p.take(
                _parse_date, "LAKE_START_DATE", get(env, "LAKE_START_DATE"), default=dt.date.min
            ),
            timezone=p.take(_parse_timezone, get(env, "LAKE_TIMEZONE"), default="UTC"),
            lake_root=p.take(normalise_lake_root, get(env, "LAKE_ROOT"), default=""),
            glue_database=get(env, "GLUE_DATABASE"),
            max_quarantine_rate=p.take(
                _parse_rate, get(env, "LAKE_MAX_QUARANTINE_RATE"), default=0.0
            ),
            schedule_time=time_of("LAKE_SCHEDULE_TIME", dt.time(0, 30)),
            late_lookback_days=num("LAKE_LATE_LOOKBACK_DAYS", 1, 1),
            late_sensor_interval_s=num("LAKE_LATE_SENSOR_INTERVAL_S", 1, 1),
            freshness_deadline=time_of("LAKE_FRESHNESS_DEADLINE", dt.time(6, 0)),
            retry_max=num("LAKE_RETRY_MAX", 0, 0),
            retry_delay_s=p.take(
                _parse_seconds, "LAKE_RETRY_DELAY_S", get(env, "LAKE_RETRY_DELAY_S"), default=0.0
            ),
            alert_sns_topic_arn=p.take(
                _parse_arn, get(env, "LAKE_ALERT_SNS_TOPIC_ARN"), default=""
            ),
            alert_webhook_url=p.take(
                _parse_url, "LAKE_ALERT_WEBHOOK_URL", get(env, "LAKE_ALERT_WEBHOOK_URL"), default=""
            ),
            webserver_url=p.take(
                _parse_url, "DAGSTER_WEBSERVER_URL", get(env, "DAGSTER_WEBSERVER_URL"), default=""
            ),
            copies_file=p.take(copies_file, env, default=""),
            mysql=MySQLSettings.from_env(env, p),
            athena_workgroup=get(env, "ATHENA_WORKGROUP"),
            athena_output_location=env.get("ATHENA_OUTPUT_LOCATION", ""),
            backfill_days_per_run=num("LAKE_BACKFILL_DAYS_PER_RUN", 0, 0),
            s3_kms_key_id=get(env, "LAKE_S3_KMS_KEY_ID").strip(),
            snapshot_retention_days=num("LAKE_SNAPSHOT_RETENTION_DAYS", 0, 0),
            orphan_margin_hours=num("LAKE_ORPHAN_MARGIN_HOURS", 1, 1),
            table_format=p.take(
                _parse_choice,
                "LAKE_TABLE_FORMAT",
                get(env, "LAKE_TABLE_FORMAT"),
                TABLE_FORMATS,
                default="hive",
            ),
        )
        try:
            settings = cls(**values)  # type: ignore[arg-type]
        except SettingsError as e:  # the values' relations (the deadline after the schedule)
            p.found.extend(e.problems)
        p.raise_any()
        return settings


def get(env: Mapping[str, str], name: str) -> str:
    """The variable's value, or the contract's default when it is unset or empty."""
    return env.get(name) or DEFAULTS[name]


def secret(name: str) -> str | EnvVar:
    """A secret as an `EnvVar` when it is set (Dagster resolves it in the run and never shows
    it), else the contract's default."""
    return EnvVar(name) if os.environ.get(name) else DEFAULTS[name]


def copies_file(env: Mapping[str, str]) -> str:
    """LAKE_COPIES names the copies file; unset, ./copies.yaml is used if it exists ("": none).
    The file is read where the definitions are made (lake_assets/project.py)."""
    value = env.get("LAKE_COPIES", "")
    if value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise SettingsError(f"LAKE_COPIES={value!r} is not a file: name the copies YAML file")
    else:
        path = Path.cwd() / "copies.yaml"
        if not path.is_file():
            return ""
    return str(path.resolve())


def normalise_lake_root(value: str) -> str:
    if value.startswith("s3://"):
        if len(value) <= len("s3://") or value[len("s3://")] == "/":
            raise SettingsError(f"LAKE_ROOT={value!r} has no bucket: use s3://bucket/prefix")
        return value.rstrip("/")
    if "://" in value:
        raise SettingsError(
            f"LAKE_ROOT={value!r}: only a local folder or s3://bucket/prefix is supported"
        )
    return str(Path(value).expanduser().resolve())


def _parse_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.strip().lower() not in choices:
        raise SettingsError(f"{name}={value!r}: set it to one of {', '.join(choices)}")
    return value.strip().lower()


def _parse_date(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a date: use YYYY-MM-DD") from None


def _parse_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"LAKE_TIMEZONE={value!r} is not an IANA timezone: use e.g. UTC or Europe/Berlin"
        ) from None
    return value


def _parse_rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise SettingsError(
            f"LAKE_MAX_QUARANTINE_RATE={value!r} is not a fraction: use e.g. 0.01 for 1 %"
        )
    return rate


def _parse_time(name: str, value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a time of day: use HH:MM") from None


def _parse_int(name: str, value: str, minimum: int) -> int:
    if not value.isdigit() or int(value) < minimum:
        raise SettingsError(f"{name}={value!r} must be a whole number ≥ {minimum}")
    return int(value)


def _parse_seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise SettingsError(f"{name}={value!r} must be a number of seconds ≥ 0")
    return seconds


def _parse_url(name: str, value: str) -> str:
    """Empty, or an http(s) URL with a host (urllib would also open file:// or ftp://)."""
    if not value:
        return ""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SettingsError(f"{name}={value!r} must be an https:// (or http://) URL")
    return value


def _parse_arn(value: str) -> str:
    if value and not value.startswith("arn:"):
        raise SettingsError(
            f"LAKE_ALERT_SNS_TOPIC_ARN={value!r} is not an ARN: "
            "use arn:aws:sns:REGION:ACCOUNT:TOPIC"
        )
    return value
