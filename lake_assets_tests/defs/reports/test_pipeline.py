"""The three assets through `dagster.materialize`, with canned source rows (no server):
single days, single-run ranges, re-runs, and failures that must leave the last good day."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from lake_assets.catalogs.base import LakeCatalog
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.codec.encode import encode_report
from lake_assets.defs.resources import lake_resource
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, QUARANTINE, RAW, DayPath, read_manifest
from lake_assets_tests.conftest import FakeMySQL, materialize_days
from lake_assets_tests.report_defs import decoded_reports, raw_reports, reports_table

ASSETS = [raw_reports, decoded_reports, reports_table]
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]


def canned(days: list[str], reports: int, value: int = 2000) -> dict[str, list[list]]:
    """Per day: `reports` good reports of 2 samples × 2 channels, plus one bad row."""
    out: dict[str, list[list]] = {}
    next_id = 1
    for day in days:
        base = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())
        rows = []
        for r in range(reports):
            rows.append(
                [
                    next_id,
                    100 + r,
                    encode_report(base + r, 60, [1, 2], [[value, 4000], [value + 1, None]]),
                ]
            )
            next_id += 1
        rows.append([next_id, 999, "not base64!"])
        next_id += 1
        out[day] = rows
    return out


# The table format these tests (and the checks' tests, which share these helpers) run on: each
# test runs once on a Hive lake and once on an Iceberg lake.
FORMAT = {"table": "hive"}


@pytest.fixture(autouse=True, params=["hive", "iceberg"])
def table_format(request: pytest.FixtureRequest) -> Iterator[str]:
    FORMAT["table"] = request.param
    yield request.param
    FORMAT["table"] = "hive"


def iceberg() -> bool:
    return FORMAT["table"] == "iceberg"


def catalog_of(lake_root: str) -> LakeCatalog:
    if iceberg():
        return IcebergCatalogResource(lake_root=lake_root)
    return DuckDBCatalogResource(path=str(Path(lake_root, "catalog.duckdb")))


def resources(lake_root: str, rows: dict, **fake: str) -> dict[str, object]:
    return {
        "mysql": FakeMySQL(canned=json.dumps(rows), **fake),
        "lake": lake_resource(lake_root, FORMAT["table"]),
        "catalog": catalog_of(lake_root),
    }


def run(lake_root: str, rows: dict, first: str, last: str | None = None, **fake: str):
    return materialize_days(ASSETS, resources(lake_root, rows, **fake), first, last)


def table_counts(lake_root: str) -> dict[str, tuple[int, float]]:
    catalog = catalog_of(lake_root)
    _, rows = catalog.query(
        "SELECT date, count(*), avg(value) FILTER (WHERE channel = 'temperature')"
        " FROM reports GROUP BY date ORDER BY date"
    )
    return {d: (n, t) for d, n, t in rows}


def parquet_files(lake_root: str, zone: str, date: str) -> list[str]:
    return sorted(
        p.relative_to(lake_root).as_posix()
        for p in Path(lake_root, zone, "reports", f"date={date}").rglob("*.parquet")
    )


def test_range_is_one_run_and_every_zone_has_each_day_once(lake_root: str) -> None:
    rows = canned(DAYS, reports=3)
    result = run(lake_root, rows, DAYS[0], DAYS[-1])
    assert result.success
    assert {m.partition for m in result.asset_materializations_for_node("reports_table")} == set(
        DAYS
    )
    assert table_counts(lake_root) == {
        d.replace("-", ""): (3 * 4, pytest.approx((20.0 + 20.01) / 2)) for d in DAYS
    }
    store = LocalStore(lake_root)
    for day in DAYS:
        date = dt.date.fromisoformat(day)
        raw = read_manifest(store, DayPath(RAW, date))
        quarantine = read_manifest(store, DayPath(QUARANTINE, date))
        assert raw is not None and raw.rows == 4
        assert quarantine is not None and quarantine.rows == 1
        assert quarantine.stats["reasons"] == {"base64": 1}
        for zone in (RAW, DATA, QUARANTINE):
            assert len(parquet_files(lake_root, zone, date.strftime("%Y%m%d"))) == 1


def test_decoded_files_are_laid_out_for_athena(lake_root: str) -> None:
    """Min/max only where they prune row groups (device_id, ts); `value` dictionary-encoded,
    the report ids plain."""
    assert run(lake_root, canned(DAYS, reports=3), DAYS[0]).success
    [key] = parquet_files(lake_root, DATA, DAYS[0].replace("-", ""))
    group = pq.ParquetFile(Path(lake_root, key)).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    with_stats = {n for n, c in columns.items() if c.is_stats_set and c.statistics.has_min_max}
    # (and on an Iceberg lake `date`, from which add_files reads the file's partition)
    assert with_stats == {"device_id", "ts"} | ({"date"} if iceberg() else set())
    assert "RLE_DICTIONARY" in columns["value"].encodings
    assert "RLE_DICTIONARY" not in columns["report_id"].encodings


def test_each_day_of_a_range_run_shows_its_own_figures(lake_root: str) -> None:
    """Read back through the instance: one materialization per asset and day, and day D's
    figures are day D's (days of 1, 2 and 3 reports), also in the range run; no range total
    appears as a day's figure."""
    rows = {}
    for n, day in enumerate(DAYS, start=1):
        rows |= canned([day], reports=n)
    instance = DagsterInstance.ephemeral()
    result = materialize_days(
        ASSETS, resources(lake_root, rows), DAYS[0], DAYS[-1], instance=instance
    )
    assert result.success
    figures = {}
    for asset in ("raw_reports", "decoded_reports", "reports_table"):
        records = instance.fetch_materializations(AssetKey(asset), limit=10).records
        assert sorted(r.partition_key for r in records) == DAYS, "one per day, no duplicates"
        for r in records:
            metadata = r.asset_materialization.metadata
            figures[asset, r.partition_key] = {k: v.value for k, v in metadata.items()}
    for n, day in enumerate(DAYS, start=1):
        raw, decoded, table = (
            figures[a, day] for a in ("raw_reports", "decoded_reports", "reports_table")
        )
        assert raw["dagster/row_count"] == raw["dagster/partition_row_count"] == n + 1
        assert raw["source_fingerprint"]["rows"] == n + 1
        readings = n * 2 * 2  # n good reports of 2 samples × 2 channels, and one bad row
        assert decoded["dagster/row_count"] == decoded["readings"] == readings
        assert (decoded["raw_rows"], decoded["quarantined"]) == (n + 1, 1)
        assert decoded["quarantined_by_reason"] == {"base64": 1}
        half = readings // 2  # channels 1 and 2, one reading of each per sample
        assert decoded["readings_by_channel"] == {"temperature": half, "humidity": half}
        assert table["dagster/row_count"] == readings
        assert "temperature" in decoded["preview"] and "| report_id |" in decoded["preview"]
        assert decoded["dagster/uri"].rstrip("/").endswith(f"date={day.replace('-', '')}")
    single = run(lake_root, canned(DAYS, reports=2), DAYS[0])
    [m] = single.asset_materializations_for_node("decoded_reports")
    assert m.metadata["dagster/row_count"].value == 8


def test_rerun_replaces_a_day_without_duplicates(lake_root: str) -> None:
    assert run(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    changed = canned(DAYS, reports=5, value=3000)
    assert run(lake_root, changed, DAYS[1]).success
    counts = table_counts(lake_root)
    assert counts["20260102"] == (5 * 4, pytest.approx((30.0 + 30.01) / 2))
    assert counts["20260101"][0] == counts["20260103"][0] == 12
    for zone in (RAW, DATA, QUARANTINE):
        # an Iceberg table still reads the replaced version (time travel) until maintenance
        kept = 2 if iceberg() and zone == DATA else 1
        assert len(parquet_files(lake_root, zone, "20260102")) == kept, zone


def test_failed_extract_leaves_the_last_good_day(lake_root: str) -> None:
    assert run(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    before = table_counts(lake_root)
    files = {z: parquet_files(lake_root, z, "20260102") for z in (RAW, DATA)}
    result = run(lake_root, canned(DAYS, reports=9), DAYS[0], DAYS[-1], fail_on_day=DAYS[1])
    assert not result.success
    after = table_counts(lake_root)
    assert after["20260102"] == before["20260102"]
    assert after["20260103"] == before["20260103"]
    assert {z: parquet_files(lake_root, z, "20260102") for z in (RAW, DATA)} == files


def test_failure_while_writing_readings_leaves_the_published_day(
    lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    before = table_counts(lake_root)
    published = parquet_files(lake_root, DATA, "20260101")

    from lake_assets.lake.parquet import PartWriter

    original = PartWriter.close

    def explode(self: PartWriter):
        if self.prefix.startswith("data/"):
            raise OSError("disk full (injected)")
        return original(self)

    monkeypatch.setattr(PartWriter, "close", explode)
    result = run(lake_root, canned(DAYS[:1], reports=7), DAYS[0])
    assert not result.success
    assert table_counts(lake_root) == before
    assert parquet_files(lake_root, DATA, "20260101") == published, "partial attempt removed"


def test_decoded_without_raw_says_what_to_run(lake_root: str) -> None:
    result = materialize(
        [decoded_reports],
        resources=resources(lake_root, {}),
        partition_key=DAYS[0],
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "materialize raw_reports first" in str(failure.step_failure_data.error)


def test_a_failed_data_switch_leaves_both_decoded_zones_as_they_were(
    lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data manifest is the decoded day's one switch, carrying its quarantine: when it
    fails, neither zone has moved and nothing either names was deleted."""
    from lake_assets.defs.reports import reconcile
    from lake_assets.lake.zones import read_decoded

    rows = canned(DAYS[:1], reports=3)
    assert run(lake_root, rows, DAYS[0]).success
    store, day = LocalStore(lake_root), dt.date(2026, 1, 1)
    before = read_decoded(store, day), read_manifest(store, DayPath(QUARANTINE, day))
    real = LocalStore.put_if

    def failing(self: LocalStore, key: str, data: bytes, version: str | None) -> str | None:
        if key.startswith("data/"):
            raise OSError("No space left on device (injected)")
        return real(self, key, data, version)

    monkeypatch.setattr(LocalStore, "put_if", failing)
    assert not run(lake_root, rows, DAYS[0]).success
    monkeypatch.undo()
    assert (read_decoded(store, day), read_manifest(store, DayPath(QUARANTINE, day))) == before
    for manifest in before[0]:
        assert all((Path(lake_root) / f.key).exists() for f in manifest.files)
    assert reconcile.decoded_accounts_for_raw(store, day).passed
    assert run(lake_root, rows, DAYS[0]).success, "and the next run goes through"


def test_a_lagging_quarantine_mirror_never_fails_the_day(
    lake_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lake_assets.lake.zones import read_decoded

    rows = canned(DAYS[:1], reports=3)
    assert run(lake_root, rows, DAYS[0]).success
    store, day = LocalStore(lake_root), dt.date(2026, 1, 1)
    old_mirror = read_manifest(store, DayPath(QUARANTINE, day))
    real = LocalStore.put_if

    def failing(self: LocalStore, key: str, data: bytes, version: str | None) -> str | None:
        if key.startswith("quarantine/"):
            raise OSError("injected: killed between the two writes")
        return real(self, key, data, version)

    monkeypatch.setattr(LocalStore, "put_if", failing)
    assert run(lake_root, canned(DAYS[:1], reports=5), DAYS[0]).success
    monkeypatch.undo()
    data, quarantine = read_decoded(store, day)
    assert read_manifest(store, DayPath(QUARANTINE, day)) == old_mirror, "the mirror lags"
    assert quarantine.attempt == data.attempt != old_mirror.attempt
    assert all((Path(lake_root) / f.key).exists() for f in old_mirror.files), "still named"
    assert run(lake_root, canned(DAYS[:1], reports=5), DAYS[0]).success
    assert (
        read_manifest(store, DayPath(QUARANTINE, day)).attempt
        == read_decoded(store, day)[0].attempt
    )
    assert len(parquet_files(lake_root, QUARANTINE, "20260101")) == 1, "the lagging one is gone"
