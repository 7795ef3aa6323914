"""The real PostgreSQL of DAGSTER_PG_* (what `make test` ensures): fresh databases, dropped
afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest

PG = {
    "host": os.environ.get("DAGSTER_PG_HOST") or "127.0.0.1",
    "port": os.environ.get("DAGSTER_PG_PORT") or "5432",
    "user": os.environ.get("DAGSTER_PG_USER") or "postgres",
    "password": os.environ.get("DAGSTER_PG_PASSWORD") or "",
}


def pg_env(database: str) -> dict[str, str]:
    """The DAGSTER_PG_* settings of deploy/dagster.yaml for `database`."""
    return {f"DAGSTER_PG_{k.upper()}": v for k, v in PG.items()} | {"DAGSTER_PG_DB": database}


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"lake_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **PG)
    except psycopg2.OperationalError as e:
        message = f"PostgreSQL at {PG['host']}:{PG['port']} unreachable ({e})"
        if os.environ.get("LAKE_REQUIRE_POSTGRES"):
            pytest.fail(message + " — start PostgreSQL or set DAGSTER_PG_HOST/_PORT/_USER")
        pytest.skip(message)  # plain pytest; `make test` runs scripts/ensure-postgres first
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database on the real PostgreSQL, dropped afterwards."""
    with fresh_database() as name:
        yield name
