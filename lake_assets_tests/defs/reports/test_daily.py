"""reports_daily: per device, channel and day, the published readings rolled up; equal to the
same aggregation over `reports` through the catalog, on Hive and Iceberg; a re-run of a day
with changed readings re-makes its rollup; the check recomputes it from the files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from lake_assets.defs.reports.rollup import rollup
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets_tests.conftest import materialize_days
from lake_assets_tests.defs.reports.test_pipeline import (  # each test on both table formats
    ASSETS,
    DAYS,
    canned,
    catalog_of,
    resources,
    table_format,  # noqa: F401
)
from lake_assets_tests.report_defs import reports_daily, rollup_matches_readings

ALL = [*ASSETS, reports_daily, rollup_matches_readings]
EXPECTED_SQL = (
    "SELECT date, device_id, channel, count(value), count(*) - count(value), min(value),"
    " max(value), sum(value), min(ts), max(ts) FROM reports GROUP BY ALL ORDER BY ALL"
)
ROLLUP_SQL = (
    "SELECT date, device_id, channel, readings, nulls, min, max, sum, first_ts, last_ts"
    " FROM reports_daily ORDER BY ALL"
)


def run(lake_root: str, rows: dict, first: str, last: str | None = None):
    return materialize_days(ALL, resources(lake_root, rows), first, last)


def test_a_range_leaves_each_days_rollup_equal_to_the_readings(lake_root: str) -> None:
    result = run(lake_root, canned(DAYS, reports=5), DAYS[0], DAYS[-1])
    assert result.success
    checks = [e for e in result.get_asset_check_evaluations()]
    rollup_checks = [e for e in checks if e.check_name == "rollup_matches_readings"]
    assert rollup_checks and all(e.passed for e in rollup_checks)
    catalog = catalog_of(lake_root)
    _, want = catalog.query(EXPECTED_SQL)
    _, got = catalog.query(ROLLUP_SQL)
    assert got == want
    assert {r[0] for r in got} == {d.replace("-", "") for d in DAYS}
    _, [(mean,)] = catalog.query(
        "SELECT sum(sum) / sum(readings) FROM reports_daily WHERE channel = 'temperature'"
    )
    _, [(direct,)] = catalog.query("SELECT avg(value) FROM reports WHERE channel = 'temperature'")
    assert mean == pytest.approx(direct, rel=1e-12), "re-aggregating sums is exact"


def test_a_day_rerun_with_changed_readings_remakes_its_rollup(lake_root: str) -> None:
    assert run(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    store = LocalStore(lake_root)
    day = dt.date.fromisoformat(DAYS[1])
    before = read_manifest(store, DayPath(DATA, day, "reports_daily"))
    assert run(lake_root, canned(DAYS, reports=4, value=1000), DAYS[1]).success
    after = read_manifest(store, DayPath(DATA, day, "reports_daily"))
    assert before is not None and after is not None and after.attempt != before.attempt
    catalog = catalog_of(lake_root)
    _, want = catalog.query(EXPECTED_SQL)
    _, got = catalog.query(ROLLUP_SQL)
    assert got == want, "the day's rollup is the new readings', the others unchanged"


def test_the_rollup_folds_batches_exactly_as_one_aggregation() -> None:
    """Against DuckDB over the same readings, in batches of any size: groups, counts, min,
    max and timestamps exact, sums within 1e-12 relative."""
    import duckdb

    rng = np.random.default_rng(5)
    n = 50_000
    values = rng.normal(20, 5, n)
    missing = rng.random(n) < 0.02
    table = pa.table(
        {
            "device_id": pa.array(rng.integers(1, 9, n), pa.int64()),
            "channel": pa.array(rng.choice(["t", "h", "p"], n)).dictionary_encode(),
            "unit": pa.array(rng.choice(["C", None], n, p=[0.9, 0.1])).dictionary_encode(),
            "value": pa.array(values, pa.float64(), mask=missing),
            "ts": pa.array(rng.integers(0, 86_400_000, n), pa.timestamp("ms", tz="UTC")),
        }
    )
    conn = duckdb.connect()
    conn.register("t", table)
    want = conn.execute(
        "SELECT device_id, channel::VARCHAR AS c, unit::VARCHAR AS u, count(value),"
        " count(*) - count(value), min(value), max(value), sum(value), sum(value * value),"
        " min(ts), max(ts) FROM t GROUP BY ALL ORDER BY 1, 2, 3 NULLS LAST"
    ).fetchall()
    for size in (1_000, 7_777, n):
        got = rollup(table.to_batches(max_chunksize=size))
        cols = ["device_id", "channel", "unit", "readings", "nulls", "min", "max"]
        rows = list(zip(*(got[c].to_pylist() for c in cols), strict=True))
        assert rows == [w[:7] for w in want]
        for name, i in (("sum", 7), ("sum_sq", 8)):
            assert got[name].to_pylist() == pytest.approx([w[i] for w in want], rel=1e-12)
        assert got["first_ts"].to_pylist() == [w[9] for w in want]
        assert got["last_ts"].to_pylist() == [w[10] for w in want]


def test_a_day_without_readings_has_an_empty_rollup_that_passes(lake_root: str) -> None:
    rows = canned(DAYS[:1], reports=2)
    rows[DAYS[1]] = []  # the source had nothing that day
    result = run(lake_root, rows, DAYS[0], DAYS[1])
    assert result.success
    checks = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "rollup_matches_readings"
    ]
    assert checks and all(e.passed for e in checks)
    catalog = catalog_of(lake_root)
    _, got = catalog.query("SELECT date, sum(readings) FROM reports_daily GROUP BY 1 ORDER BY 1")
    _, want = catalog.query("SELECT date, count(value) FROM reports GROUP BY 1 ORDER BY 1")
    assert got == want == [(DAYS[0].replace("-", ""), 6)]  # 2 reports × 3 values, 1 missing


@pytest.mark.parametrize(
    ("column", "change", "caught"),
    [
        ("min", lambda v: np.nextafter(v, -np.inf), True),  # one bit off: caught
        ("last_ts", lambda v: v + 1, True),  # a millisecond off
        ("readings", lambda v: v + 1, True),
        ("sum", lambda v: v + 1e-3, True),  # far beyond float error
        ("sum", lambda v: np.nextafter(v, np.inf), False),  # within float error: accepted
    ],
)
def test_the_check_catches_a_rollup_one_bit_off(
    lake_root: str, column: str, change, caught: bool
) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from lake_assets.defs.reports.reconcile import rollup_matches_readings as check

    assert run(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    store, day, catalog = (
        LocalStore(lake_root),
        dt.date.fromisoformat(DAYS[0]),
        catalog_of(lake_root),
    )
    published = catalog.partitions("reports_daily")
    assert check(store, catalog, published, day).passed
    unpublished = check(store, catalog, {}, day)
    assert not unpublished.passed and "not published" in unpublished.description
    [entry] = read_manifest(store, DayPath(DATA, day, "reports_daily")).files
    path = store.path(entry.key)
    table = pq.read_table(path)
    values = table[column].to_numpy(zero_copy_only=False).copy()
    if pa.types.is_timestamp(table[column].type):  # ms, or µs in Iceberg's files
        per_ms = 1000 if table[column].type.unit == "us" else 1
        ints = pc.cast(table[column], pa.int64()).to_numpy().copy()
        ints[0] = change(ints[0] // per_ms) * per_ms
        new = pa.array(ints, pa.int64()).cast(table[column].type)
    else:
        values[0] = change(values[0])
        new = pa.array(values, table[column].type)
    pq.write_table(table.set_column(table.schema.get_field_index(column), column, new), path)
    verdict = check(store, catalog, published, day)
    assert verdict.passed is not caught, verdict.description
