"""Every MySQL type lands exactly, as a type DuckDB reads and Athena reads through the Glue
schema: a table with every type at its extremes, NULL in every nullable column and zero dates,
copied from the real MariaDB and read back through the catalog."""

from __future__ import annotations

import datetime as dt
import math
import random
import struct
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pymysql
import pytest

from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.core.tables import CopyMode, TableSpec
from lake_assets.defs.resources import lake_resource
from lake_assets.source.checksums import mysql_double_text, render
from lake_assets.source.client import MySQLResource
from lake_assets.source.types import SourceColumn
from lake_assets_tests.conftest import materialize_days
from lake_assets_tests.report_defs import copy_defs

pytestmark = pytest.mark.mysql

# column → (MySQL type, Glue/Athena type in the catalog)
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("BIGINT UNSIGNED NOT NULL PRIMARY KEY", "decimal(20,0)"),
    "ti": ("TINYINT", "bigint"),
    "tiu": ("TINYINT UNSIGNED", "bigint"),
    "si": ("SMALLINT", "bigint"),
    "siu": ("SMALLINT UNSIGNED", "bigint"),
    "mi": ("MEDIUMINT", "bigint"),
    "miu": ("MEDIUMINT UNSIGNED", "bigint"),
    "i": ("INT", "bigint"),
    "iu": ("INT UNSIGNED", "bigint"),
    "bi": ("BIGINT", "bigint"),
    "biu": ("BIGINT UNSIGNED", "decimal(20,0)"),
    "d65": ("DECIMAL(65,30)", "string"),
    "d38": ("DECIMAL(38,10)", "decimal(38,10)"),
    "f": ("FLOAT", "float"),
    "dbl": ("DOUBLE", "double"),
    "b1": ("BIT(1)", "boolean"),
    "b64": ("BIT(64)", "decimal(20,0)"),
    "bo": ("BOOL", "bigint"),
    "d": ("DATE", "date"),
    "dt0": ("DATETIME", "timestamp"),
    "dt3": ("DATETIME(3)", "timestamp"),
    "dt6": ("DATETIME(6)", "timestamp"),
    "ts6": ("TIMESTAMP(6) NULL DEFAULT NULL", "timestamp"),
    "tm": ("TIME(6)", "string"),
    "yr": ("YEAR", "bigint"),
    "zd": ("DATE NOT NULL DEFAULT '2000-01-01'", "date"),
    "zdt": ("DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00'", "timestamp"),
    "zdn": ("DATE NULL", "date"),
    "c": ("CHAR(4)", "string"),
    "vc": ("VARCHAR(64)", "string"),
    "tx": ("TEXT", "string"),
    "bn": ("BINARY(4)", "binary"),
    "vb": ("VARBINARY(16)", "binary"),
    "bl": ("BLOB", "binary"),
    "en": ("ENUM('a','b')", "string"),
    "st": ("SET('x','y','z')", "string"),
    "js": ("JSON", "string"),
    "geo": ("GEOMETRY", "binary"),
}
UTC = dt.UTC
D65_MAX = "9" * 35 + "." + "9" * 30
POINT_WKB = bytes.fromhex("0101000000000000000000f03f0000000000000040")

# Each row: the values inserted (SQL literals) and the values expected back through DuckDB.
ROWS = [
    (
        {
            "id": "18446744073709551615",
            "ti": "127",
            "tiu": "255",
            "si": "32767",
            "siu": "65535",
            "mi": "8388607",
            "miu": "16777215",
            "i": "2147483647",
            "iu": "4294967295",
            "bi": "9223372036854775807",
            "biu": "18446744073709551615",
            "d65": D65_MAX,
            "d38": "9" * 28 + "." + "9" * 10,
            "f": "1.2345678",
            "dbl": "1.7976931348623157e308",
            "b1": "b'1'",
            "b64": "b'" + "1" * 64 + "'",
            "bo": "TRUE",
            "d": "'9999-12-31'",
            "dt0": "'9999-12-31 23:59:59'",
            "dt3": "'9999-12-31 23:59:59.999'",
            "dt6": "'9999-12-31 23:59:59.999999'",
            "ts6": "'2038-01-19 03:14:07.999999'",
            "tm": "'838:59:59.999999'",
            "yr": "2155",
            "zd": "'0000-00-00'",
            "zdt": "'0000-00-00 00:00:00'",
            "zdn": "'0000-00-00'",
            "c": "'😀ab|'",
            "vc": "'Zürich 😀 \\\\N'",
            "tx": "'línea\\nzwei\\t|'",
            "bn": "x'00010000'",
            "vb": "x'00'",
            "bl": "x'00ff00'",
            "en": "'b'",
            "st": "'x,z'",
            "js": '\'{"k": [1, "😀"]}\'',
            "geo": "ST_GeomFromText('POINT(1 2)')",
        },
        {
            "id": Decimal("18446744073709551615"),
            "ti": 127,
            "tiu": 255,
            "si": 32767,
            "siu": 65535,
            "mi": 8388607,
            "miu": 16777215,
            "i": 2147483647,
            "iu": 4294967295,
            "bi": 9223372036854775807,
            "biu": Decimal("18446744073709551615"),
            "d65": D65_MAX,
            "d38": Decimal("9" * 28 + "." + "9" * 10),
            "f": struct.unpack("f", struct.pack("f", 1.2345678))[0],
            "dbl": 1.7976931348623157e308,
            "b1": True,
            "b64": Decimal(2**64 - 1),
            "bo": 1,
            "d": dt.date(9999, 12, 31),
            "dt0": dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            "dt3": dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
            "dt6": dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "ts6": dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=UTC),
            "tm": "838:59:59.999999",
            "yr": 2155,
            "zd": None,
            "zdt": None,
            "zdn": None,
            "c": "😀ab|",
            "vc": "Zürich 😀 \\N",
            "tx": "línea\nzwei\t|",
            "bn": b"\x00\x01\x00\x00",
            "vb": b"\x00",
            "bl": b"\x00\xff\x00",
            "en": "b",
            "st": "x,z",
            "js": '{"k": [1, "😀"]}',
            "geo": POINT_WKB,
        },
    ),
    (
        {
            "id": "0",
            "ti": "-128",
            "tiu": "0",
            "si": "-32768",
            "siu": "0",
            "mi": "-8388608",
            "miu": "0",
            "i": "-2147483648",
            "iu": "0",
            "bi": "-9223372036854775808",
            "biu": "0",
            "d65": "-" + D65_MAX,
            "d38": "-0.0000000001",
            "f": "-3.40282e38",
            "dbl": "-2.2250738585072014e-308",
            "b1": "b'0'",
            "b64": "b'0'",
            "bo": "FALSE",
            "d": "'1000-01-01'",
            "dt0": "'1000-01-01 00:00:00'",
            "dt3": "'1000-01-01 00:00:00.001'",
            "dt6": "'1000-01-01 00:00:00.000001'",
            "ts6": "'1970-01-01 00:00:01.000000'",
            "tm": "'-838:59:59.999999'",
            "yr": "1901",
            "zd": "'2000-01-01'",
            "zdt": "'2000-01-01 12:00:00'",
            "c": "''",
            "vc": "''",
            "tx": "''",
            "bn": "x''",
            "vb": "x''",
            "bl": "x''",
            "en": "'a'",
            "st": "''",
            "js": "'null'",
            "geo": "NULL",
        },
        {
            "id": Decimal(0),
            "ti": -128,
            "tiu": 0,
            "si": -32768,
            "siu": 0,
            "mi": -8388608,
            "miu": 0,
            "i": -2147483648,
            "iu": 0,
            "bi": -9223372036854775808,
            "biu": Decimal(0),
            "d65": "-" + D65_MAX,
            "d38": Decimal("-0.0000000001"),
            "f": struct.unpack("f", struct.pack("f", -3.40282e38))[0],
            "dbl": -2.2250738585072014e-308,
            "b1": False,
            "b64": Decimal(0),
            "bo": 0,
            "d": dt.date(1000, 1, 1),
            "dt0": dt.datetime(1000, 1, 1, tzinfo=UTC),
            "dt3": dt.datetime(1000, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
            "dt6": dt.datetime(1000, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
            "ts6": dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
            "tm": "-838:59:59.999999",
            "yr": 1901,
            "zd": dt.date(2000, 1, 1),
            "zdt": dt.datetime(2000, 1, 1, 12, tzinfo=UTC),
            "c": "",
            "vc": "",
            "tx": "",
            "bn": b"\x00\x00\x00\x00",
            "vb": b"",
            "bl": b"",
            "en": "a",
            "st": "",
            "js": "null",
            "geo": None,
        },
    ),
]
# The third row: NULL in every nullable column, 0 and small fractions in the rest.
NULL_ROW = (
    {
        "id": "1",
        "dbl": "5e-324",
        "f": "1e-7",
        "d65": "0.000000000000000000000000000001",
        "d38": "0",
        "yr": "0",
    },
    {
        "id": Decimal(1),
        "dbl": 5e-324,
        "f": struct.unpack("f", struct.pack("f", 1e-7))[0],
        "d65": "0.000000000000000000000000000001",
        "d38": Decimal("0E-10"),
        "yr": 0,
        "zd": dt.date(2000, 1, 1),
        "zdt": dt.datetime(2000, 1, 1, tzinfo=UTC),
    },
)


def create_every_type(conn: pymysql.Connection) -> None:
    body = ",\n".join(f"`{name}` {sql}" for name, (sql, _) in COLUMNS.items())
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # a legacy server that keeps zero dates
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute(f"CREATE TABLE every_type ({body}) DEFAULT CHARSET = utf8mb4")
        for given, _ in [*ROWS, NULL_ROW]:
            names = ", ".join(f"`{n}`" for n in given)
            cur.execute(f"INSERT INTO every_type ({names}) VALUES ({', '.join(given.values())})")


def copy_full(mysql: MySQLResource, root: str, spec: TableSpec):
    asset, check = copy_defs(spec)
    resources = {
        "mysql": mysql,
        "lake": lake_resource(root),
        "catalog": DuckDBCatalogResource(path=str(Path(root) / "catalog.duckdb")),
    }
    return materialize_days([asset, check], resources, first=None), resources  # type: ignore[arg-type]


def test_every_type_lands_exactly(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    create_every_type(source_conn)
    spec = TableSpec("every_type", CopyMode.FULL)
    result, resources = copy_full(mysql_resource, lake_root, spec)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed, check.description
    [materialization] = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["zero_dates_to_null"].value == {"zd": 1, "zdt": 1, "zdn": 1}

    catalog = resources["catalog"]
    names, rows = catalog.query("SELECT * FROM every_type ORDER BY id DESC")
    assert names == list(COLUMNS)
    got = [dict(zip(names, row, strict=True)) for row in rows]
    expected = [{name: want.get(name) for name in COLUMNS} for _, want in [*ROWS, NULL_ROW]]
    expected.sort(key=lambda r: r["id"], reverse=True)
    for got_row, want_row in zip(got, expected, strict=True):
        for name in COLUMNS:
            value = got_row[name]
            if isinstance(value, dt.datetime):
                value = value.astimezone(UTC)
            assert value == want_row[name], f"{name}: {value!r} != {want_row[name]!r}"

    _, described = catalog.query("DESCRIBE every_type")
    with catalog.connect(read_only=True) as conn:
        [(shape,)] = conn.execute(
            "SELECT columns FROM lake_tables WHERE table_name = 'every_type'"
        ).fetchall()
    import json

    assert dict(json.loads(shape)) == {n: glue for n, (_, glue) in COLUMNS.items()}
    assert len(described) == len(COLUMNS)


DOUBLE = SourceColumn("x", "double", "double", True)


def test_decimal_text_is_the_servers(mysql_server: dict[str, object]) -> None:
    """Every decimal of a DECIMAL(38,10) column is rendered as the server prints it, tiny
    ones and zero included (Arrow alone would print `1E-10`)."""
    rng = random.Random(3)
    values = ["0", "-0.0000000001", "0.0000001", "1", "-123.5"] + [
        f"{rng.randint(-(10**12), 10**12)}.{rng.randint(0, 10**10 - 1):010d}" for _ in range(300)
    ]
    conn = pymysql.connect(**mysql_server)  # type: ignore[arg-type]
    with conn, conn.cursor() as cur:
        cur.execute("SELECT " + ", ".join(f"CONCAT(CAST('{v}' AS DECIMAL(38,10)))" for v in values))
        server = list(cur.fetchone())
    column = pa.array([Decimal(v) for v in values], pa.decimal128(38, 10))
    decimal_column = SourceColumn("x", "decimal", "decimal(38,10)", True, 38, 10)
    assert [v.decode() for v in render(column, decimal_column).to_pylist()] == server


def test_double_text_is_the_servers(mysql_server: dict[str, object]) -> None:
    """The lake renders a DOUBLE exactly as MariaDB's CONCAT does, over every magnitude."""
    rng = random.Random(12)
    values = [
        0.0,
        5e-324,
        1.7976931348623157e308,
        2.2250738585072014e-308,
        1e15,
        1e16,
        1234567890123456.8,
        123456789012345678.0,
        0.1,
        -0.000025,
        1e-15,
        1e-16,
    ]
    while len(values) < 2000:
        x = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if rng.random() < 0.5:
            x = rng.uniform(-1, 1) * 10.0 ** rng.randint(-20, 20)
        if math.isfinite(x):
            values.append(x)
    conn = pymysql.connect(**mysql_server)  # type: ignore[arg-type]
    with conn, conn.cursor() as cur:
        for i in range(0, len(values), 250):
            chunk = values[i : i + 250]
            cur.execute("SELECT " + ", ".join(f"CONCAT(CAST({v!r} AS DOUBLE))" for v in chunk))
            server = cur.fetchone()
            assert [mysql_double_text(v) for v in chunk] == list(server)
            column = render(pa.array(chunk, pa.float64()), DOUBLE)
            assert [v.decode() for v in column.to_pylist()] == list(server)


# The Iceberg type of each stored (Glue) type, with LAKE_TABLE_FORMAT=iceberg.
ICEBERG_TYPES = {
    "bigint": "long",
    "decimal(20,0)": "decimal(20, 0)",
    "decimal(38,10)": "decimal(38, 10)",
    "string": "string",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
    "binary": "binary",
}


def test_every_type_lands_exactly_in_an_iceberg_table(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    """The same table copied into an Iceberg table: the same values back (through DuckDB over
    the current snapshot's files), and the Iceberg type of every column as the README says."""
    create_every_type(source_conn)
    asset, check = copy_defs(TableSpec("every_type", CopyMode.FULL))
    catalog = IcebergCatalogResource(lake_root=lake_root)
    resources = {
        "mysql": mysql_resource,
        "lake": lake_resource(lake_root, "iceberg"),
        "catalog": catalog,
    }
    result = materialize_days([asset, check], resources, first=None)  # type: ignore[arg-type]
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.description

    names, rows = catalog.query("SELECT * FROM every_type ORDER BY id DESC")
    assert names == list(COLUMNS)
    expected = [{name: want.get(name) for name in COLUMNS} for _, want in [*ROWS, NULL_ROW]]
    expected.sort(key=lambda r: r["id"], reverse=True)
    for row, want in zip(rows, expected, strict=True):
        for name, value in zip(names, row, strict=True):
            if isinstance(value, dt.datetime):
                value = value.astimezone(UTC)
            assert value == want[name], f"{name}: {value!r} != {want[name]!r}"

    table = catalog.table("every_type")
    assert table is not None
    got = {f.name: str(f.field_type) for f in table.schema().fields}
    assert got == {n: ICEBERG_TYPES[glue] for n, (_, glue) in COLUMNS.items()}


# Partly zero dates (a zero month or day, or year 0), kept by a legacy server (sql_mode=''),
# in every temporal type, NOT NULL and nullable: null in the lake, counted per column, and the
# copy's blocking check agrees with the server's checksum of the same rows.
PARTIAL_ZERO_COLUMNS = {
    "d": "DATE NOT NULL",
    "dn": "DATE NULL",
    "dt0": "DATETIME NOT NULL",
    "dt3": "DATETIME(3) NULL",
    "dt6": "DATETIME(6) NOT NULL",
    "ts": "TIMESTAMP NULL DEFAULT NULL",
}
PARTIAL_ZERO_DAYS = ["2024-00-15", "2024-01-00", "2024-00-00", "0000-01-01", "0000-00-00"]


def test_partly_zero_dates_land_as_counted_nulls_and_the_checksum_agrees(
    source_conn: pymysql.Connection, mysql_resource: MySQLResource, lake_root: str
) -> None:
    body = ", ".join(f"`{n}` {sql}" for n, sql in PARTIAL_ZERO_COLUMNS.items())
    good = "2024-02-29"
    values = [*PARTIAL_ZERO_DAYS, good]
    with source_conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute(f"CREATE TABLE legacy_dates (id INT PRIMARY KEY, {body})")
        for i, day in enumerate(values):
            cur.execute(
                "INSERT INTO legacy_dates VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    i,
                    day,
                    day,
                    f"{day} 01:02:03",
                    f"{day} 01:02:03.004",
                    f"{day} 23:59:59.999999",
                    f"{day} 12:00:00",
                ),
            )
        # what the server holds (TIMESTAMP keeps no partly zero date: it stores 0000-00-00)
        cur.execute("SELECT * FROM legacy_dates ORDER BY id")
        held = cur.fetchall()
    result, resources = copy_full(
        mysql_resource, lake_root, TableSpec("legacy_dates", CopyMode.FULL)
    )
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed, check.description  # the server's checksum of the rows agrees
    [materialization] = result.get_asset_materialization_events()
    zeros = materialization.materialization.metadata["zero_dates_to_null"].value
    assert zeros == {name: len(PARTIAL_ZERO_DAYS) for name in PARTIAL_ZERO_COLUMNS}

    names, rows = resources["catalog"].query("SELECT * FROM legacy_dates ORDER BY id")
    assert names == ["id", *PARTIAL_ZERO_COLUMNS]
    for row, server_row in zip(rows, held, strict=True):
        if row[0] < len(PARTIAL_ZERO_DAYS):
            assert all(v is None for v in row[1:]), f"row {row[0]}: {row}"
            assert all(isinstance(v, str) for v in server_row[1:]), "pymysql: not a date"
        else:
            assert row[1:3] == (dt.date(2024, 2, 29),) * 2
            assert row[3].astimezone(UTC) == dt.datetime(2024, 2, 29, 1, 2, 3, tzinfo=UTC)
            assert row[5].astimezone(UTC) == dt.datetime(
                2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC
            )


def test_the_zero_date_rule_is_the_same_in_arrow_and_in_sql(
    mysql_server: dict[str, object],
) -> None:
    """`zero_dates` (on the text the client receives) and `zero_date_sql` (on the server)
    pick the same values, under a strict sql_mode as under a legacy one."""
    from lake_assets.source.types import zero_date_sql, zero_dates

    texts = [
        "2024-00-15",
        "2024-01-00",
        "2024-00-00",
        "0000-01-01",
        "0000-00-00",
        "2024-02-29",
        "1000-01-01",
        "2024-10-10",
        "2000-01-01 00:00:00",
        "2024-00-01 00:00:00.000001",
        "0001-01-01",
        "9999-12-31 23:59:59.999999",
        "2010-10-00 10:00:00",
    ]
    arrow = zero_dates(pa.array([*texts, None], pa.string())).to_pylist()
    conn = pymysql.connect(**mysql_server)  # type: ignore[arg-type]
    with conn, conn.cursor() as cur:
        for mode in ("", "NO_ZERO_IN_DATE,NO_ZERO_DATE,STRICT_ALL_TABLES"):
            cur.execute("SET SESSION sql_mode = %s", (mode,))
            literals = [conn.escape(t) for t in texts]
            cur.execute(
                "SELECT "
                + ", ".join(f"{zero_date_sql(f'CAST({v} AS CHAR)')} = 1" for v in literals)
                + f", {zero_date_sql('NULL')} = 1"
            )
            server = [bool(v) if v is not None else False for v in cur.fetchone()]
            assert server == arrow, mode
    zero = {"2024-00-15", "2024-01-00", "2024-00-00", "0000-01-01", "0000-00-00"}
    zero |= {"2024-00-01 00:00:00.000001", "2010-10-00 10:00:00"}
    assert arrow == [t in zero for t in texts] + [False]
