"""Shared fixtures: the real MariaDB (a throwaway database per test session), a temp lake,
and a fake MySQL resource for asset tests that need no server."""

from __future__ import annotations

import os

# Before lake_assets is imported: retries (transient errors, injected failures) without waits.
os.environ.setdefault("LAKE_RETRY_DELAY_S", "0.05")
# The tests' days start in 2021, whatever a `.env` left by `make demo` says.
os.environ.setdefault("LAKE_START_DATE", "2021-01-01")

import datetime as dt
import json
import socket
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pymysql
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult, materialize
from hypothesis import settings

from lake_assets.core.fingerprints import DayFingerprint
from lake_assets.demo.seed import ensure_schema
from lake_assets.source.client import Extract, MySQLResource
from lake_assets.source.types import SourceColumn, schema_of

REPO = Path(__file__).resolve().parents[1]


def mysql_params() -> dict[str, object]:
    return {
        "host": os.environ.get("MYSQL_HOST") or "127.0.0.1",
        "port": int(os.environ.get("MYSQL_PORT") or 3306),
        "user": os.environ.get("MYSQL_USER") or "root",
        "password": os.environ.get("MYSQL_PASSWORD") or "",
    }


@pytest.fixture(scope="session")
def mysql_server() -> dict[str, object]:
    """Connection parameters of a reachable server; `make test` requires one (no skipping)."""
    params = mysql_params()
    try:
        pymysql.connect(**params, connect_timeout=3).close()  # type: ignore[arg-type]
    except pymysql.err.OperationalError as e:
        msg = f"MySQL at {params['host']}:{params['port']} unreachable ({e.args[-1]})"
        if os.environ.get("LAKE_REQUIRE_MYSQL"):
            pytest.fail(msg + " — run scripts/ensure-mysql or set MYSQL_HOST")
        pytest.skip(msg)
    return params


@pytest.fixture
def source_db(mysql_server: dict[str, object]) -> Iterator[str]:
    """A fresh database with the contract's `reports` table, dropped afterwards."""
    name = f"lake_test_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(**mysql_server, autocommit=True)  # type: ignore[arg-type]
    try:
        ensure_schema(conn, name)
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def source_conn(mysql_server: dict[str, object], source_db: str) -> Iterator[pymysql.Connection]:
    conn = pymysql.connect(**mysql_server, database=source_db, autocommit=True)  # type: ignore[arg-type]
    yield conn
    conn.close()


@pytest.fixture
def mysql_resource(mysql_server: dict[str, object], source_db: str) -> MySQLResource:
    return MySQLResource(**mysql_server, database=source_db)  # type: ignore[arg-type]


@pytest.fixture
def lake_root(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


# -- materializing a day, or a range as one run (the tags a single-run backfill carries) -------


def materialize_days(
    assets: list, resources: dict, first: str, last: str | None = None, **kwargs: object
) -> ExecuteInProcessResult:
    """Materialize `first` alone, or `first`…`last` as one run, without raising on failure."""
    tags = (
        {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        if last
        else {}
    )
    kwargs.setdefault("instance", DagsterInstance.ephemeral())
    return materialize(
        assets,
        resources=resources,
        partition_key=None if last else first,
        tags=tags,
        raise_on_error=False,
        **kwargs,  # type: ignore[arg-type]
    )


# -- a MySQL resource with canned rows, for asset logic without a server ----------------------

CONTRACT_COLUMNS = [
    SourceColumn("id", "bigint", "bigint(20) unsigned", False),
    SourceColumn("device_id", "int", "int(10) unsigned", False),
    SourceColumn("date_start", "date", "date", False),
    SourceColumn("created_at", "datetime", "datetime(3)", False, datetime_precision=3),
    SourceColumn("updated_at", "datetime", "datetime(3)", False, datetime_precision=3),
    SourceColumn("encoded", "mediumtext", "mediumtext", True),
]


class FakeMySQL(MySQLResource):
    """Serves canned rows per day: `canned` is JSON {YYYY-MM-DD: [[id, device_id, encoded]]}."""

    canned: str = "{}"
    fail_on_day: str = ""
    drop_a_row: bool = False  # a row vanishes between the count and the extract
    wrong_checksum: bool = False  # the snapshot's checksum disagrees with the rows

    @contextmanager
    def extract_day(self, day: dt.date) -> Iterator[Extract[DayFingerprint]]:
        rows = json.loads(self.canned).get(day.isoformat(), [])
        if day.isoformat() == self.fail_on_day:
            raise RuntimeError(f"injected failure on {day}")
        stamp = f"{day} 01:00:00.000"
        columns = [
            [r[0] for r in rows],
            [r[1] for r in rows],
            [day.isoformat()] * len(rows),
            [stamp] * len(rows),
            [stamp] * len(rows),
            [r[2] for r in rows],
        ]
        checksum = 0
        for r in rows:  # what MySQL computes: BIT_XOR(CRC32(CONCAT(id, '|', updated_at)))
            checksum ^= zlib.crc32(f"{r[0]}|{stamp}".encode())
        if self.drop_a_row and rows:
            columns = [c[:-1] for c in columns]
        arrays = [  # each value as the text MySQL would send
            c.to_arrow(pa.array([None if x is None else str(x) for x in v], pa.string()))[0]
            for c, v in zip(CONTRACT_COLUMNS, columns, strict=True)
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema_of(CONTRACT_COLUMNS))
        fingerprint = DayFingerprint(
            rows=len(rows),
            min_id=min((r[0] for r in rows), default=None),
            max_id=max((r[0] for r in rows), default=None),
            max_updated_at=stamp if rows else None,
            checksum=checksum ^ (1 if self.wrong_checksum else 0),
        )
        yield Extract(CONTRACT_COLUMNS, fingerprint, iter([batch]), {})


# Property tests run a few thousand examples in CI; HYPOTHESIS_PROFILE=dev runs fewer.
settings.register_profile("ci", max_examples=2000, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- AWS, mocked in-process by moto -----------------------------------------------------------

BUCKET = "lake-bucket"


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    """Fake credentials and a region, and nothing of the developer's own AWS setup."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, and moto's in-process AWS with an empty bucket."""
    import boto3
    from moto import mock_aws

    fake_aws_env(monkeypatch)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture(params=["local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path):
    """The same LakeStore contract on a local folder and on S3 (moto)."""
    from lake_assets.lake.store import LocalStore

    if request.param == "local":
        yield LocalStore(str(tmp_path / "lake"))
        return
    import boto3
    from moto import mock_aws

    from lake_assets.lake.s3 import S3Store

    monkeypatch = request.getfixturevalue("monkeypatch")
    fake_aws_env(monkeypatch)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield S3Store(f"s3://{BUCKET}/lake", boto3.client("s3"))


@pytest.fixture(autouse=True)
def fresh_aws_clients() -> Iterator[None]:
    """AWS clients are cached per process; a test that patches one must not leak it."""
    from lake_assets.lake import aws

    yield
    aws._client.cache_clear()


HTTP_BUCKET = "lake-http"


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server over HTTP, reached through AWS_ENDPOINT_URL as a real endpoint would be
    (Arrow's S3 client, which pyiceberg uses, is not intercepted by the in-process mock), with
    the empty bucket HTTP_BUCKET."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    fake_aws_env(monkeypatch, AWS_ENDPOINT_URL=endpoint)
    try:
        boto3.client("s3").create_bucket(Bucket=HTTP_BUCKET)
        yield endpoint
    finally:
        # moto's state lives in this process, not in the server: the next test starts clean
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on moto's HTTP server is marked `s3_server` by its fixture, so that no test
    has to remember to say so."""
    for item in items:
        if "moto_endpoint" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.s3_server)
