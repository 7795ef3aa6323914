"""The three assets with LAKE_TABLE_FORMAT=iceberg on a local lake (pyiceberg's SQL catalog on
SQLite): each publish is one commit, a re-run replaces a day, the snapshot names the run and
attempts, the files are Iceberg's own, and the later attempt of a day wins."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lake_assets.catalogs.base import REPORTS_SHAPE, PartitionSpec
from lake_assets.catalogs.iceberg import ATTEMPTS, RUN_ID, IcebergCatalogResource
from lake_assets.catalogs.publish import partition_of, publish_forward
from lake_assets.defs.resources import lake_resource
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import DATA, DayPath, read_manifest
from lake_assets_tests.conftest import FakeMySQL, materialize_days
from lake_assets_tests.defs.reports.test_pipeline import ASSETS, DAYS, canned
from lake_assets_tests.report_defs import ALL_CHECKS


def resources(lake_root: str, rows: dict) -> dict[str, object]:
    return {
        "mysql": FakeMySQL(canned=json.dumps(rows)),
        "lake": lake_resource(lake_root, "iceberg"),
        "catalog": IcebergCatalogResource(lake_root=lake_root),
    }


def run(lake_root: str, rows: dict, first: str, last: str | None = None):
    return materialize_days(ASSETS, resources(lake_root, rows), first, last)


def counts(lake_root: str) -> dict[str, tuple[int, float]]:
    _, rows = IcebergCatalogResource(lake_root=lake_root).query(
        "SELECT date, count(*), avg(value) FILTER (WHERE channel = 'temperature')"
        " FROM reports GROUP BY date ORDER BY date"
    )
    return {d: (n, t) for d, n, t in rows}


def data_attempt(lake_root: str, day: str) -> str:
    manifest = read_manifest(LocalStore(lake_root), DayPath(DATA, dt.date.fromisoformat(day)))
    assert manifest is not None
    return manifest.attempt


def test_a_range_is_published_in_one_commit_that_names_the_run_and_attempts(
    lake_root: str,
) -> None:
    result = run(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1])
    assert result.success
    assert counts(lake_root) == {
        d.replace("-", ""): (12, pytest.approx((20.0 + 20.01) / 2)) for d in DAYS
    }
    table = IcebergCatalogResource(lake_root=lake_root).table("reports")
    assert table is not None
    # one commit: one append of every day (a first publish deletes nothing), one metadata
    # version after the table's creation
    assert [s.summary.operation.value for s in table.snapshots()] == ["append"]
    assert len(table.metadata.metadata_log) == 1
    summary = table.current_snapshot().summary.additional_properties
    assert summary[RUN_ID] == result.run_id
    assert json.loads(summary[ATTEMPTS]) == {
        d.replace("-", ""): data_attempt(lake_root, d) for d in DAYS
    }
    # the files are the ones decoded_reports wrote, laid out for Iceberg
    [task] = [t for t in table.scan().plan_files() if t.file.partition[0] == "20260101"]
    schema = pq.read_schema(task.file.file_path.removeprefix("file://"))
    assert schema.field("ts").type.unit == "us"
    assert schema.names[-1] == "date"
    # no field ids in the files: the table's name mapping names every column
    assert all(not (f.metadata or {}).get(b"PARQUET:field_id") for f in schema)
    mapping = json.loads(table.properties["schema.name-mapping.default"])
    assert [m["names"] for m in mapping] == [[n] for n in schema.names]
    assert f"/data/reports/date=20260101/{data_attempt(lake_root, DAYS[0])}/" in (
        task.file.file_path
    )


def test_a_rerun_replaces_the_day_and_keeps_the_old_snapshot_readable(lake_root: str) -> None:
    assert run(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    first = data_attempt(lake_root, DAYS[0])
    assert run(lake_root, canned(DAYS, reports=5, value=1000), DAYS[0]).success
    second = data_attempt(lake_root, DAYS[0])
    got = counts(lake_root)
    assert got["20260101"] == (20, pytest.approx((10.0 + 10.01) / 2))
    assert got["20260102"] == (12, pytest.approx((20.0 + 20.01) / 2)), "other days untouched"
    catalog = IcebergCatalogResource(lake_root=lake_root)
    assert catalog.partition("reports", "20260101").files[0].split("/")[-2] == second
    # time travel: the previous snapshot still reads the first attempt, whose files stay
    assert catalog.retained_attempts("reports", "20260101") == sorted([first, second])
    table = catalog.table("reports")
    assert table is not None
    # one snapshot a publish: the range's append, then the day's overwrite
    assert [x.summary.operation.value for x in table.snapshots()] == ["append", "overwrite"]
    before = table.snapshots()[-2]  # the append of the first run
    old = table.scan(snapshot_id=before.snapshot_id).to_arrow()
    assert old["date"].to_pylist().count("20260101") == 12


def test_the_later_attempt_of_a_day_wins_whichever_commits_first(lake_root: str) -> None:
    """Two runs publish the same day: the one that started later wins, also when the earlier
    one reaches the catalog last (it finds the table ahead and leaves it)."""
    rows = canned(DAYS[:1], reports=3)
    assert run(lake_root, rows, DAYS[0]).success
    store = LocalStore(lake_root)
    path = DayPath(DATA, dt.date.fromisoformat(DAYS[0]))
    early = partition_of(store, path, read_manifest(store, path))  # type: ignore[arg-type]
    assert run(lake_root, canned(DAYS[:1], reports=4), DAYS[0]).success
    late = IcebergCatalogResource(lake_root=lake_root).partition("reports", "20260101")
    assert late is not None and late.location != early.location
    moved, ahead = publish_forward(
        store, IcebergCatalogResource(lake_root=lake_root), REPORTS_SHAPE, [early], "old-run"
    )
    assert (moved, [s.date for s in ahead]) == ([], ["20260101"])
    assert counts(lake_root)["20260101"][0] == 16


def copy_of(spec: PartitionSpec, suffix: str) -> PartitionSpec:
    """The day's files copied into a folder of their own: another attempt of the same day."""
    folder = spec.location.rstrip("/") + suffix
    Path(folder).mkdir()
    files = []
    for f in spec.files:
        target = folder + Path(f).name
        Path(target).write_bytes(Path(f).read_bytes())
        files.append(target)
    return PartitionSpec(spec.date, folder, files, spec.rows)


def publish_racing(
    catalog: IcebergCatalogResource, specs: list[PartitionSpec]
) -> list[BaseException]:
    """Publish each spec from its own thread, the lake's lock bypassed, after both have read
    the same table version; the errors the publishers raised."""
    both_loaded = threading.Barrier(len(specs))
    load = IcebergCatalogResource.table

    def table(self: IcebergCatalogResource, name: str):
        t = load(self, name)
        both_loaded.wait(timeout=10)  # neither commits before both read the same version
        return t

    errors: list[BaseException] = []

    def publish(s: PartitionSpec) -> None:
        try:
            catalog.publish(REPORTS_SHAPE, [s], "racer")
        except BaseException as e:
            errors.append(e)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(IcebergCatalogResource, "table", table)
        threads = [threading.Thread(target=publish, args=(s,)) for s in specs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    return errors


def test_two_commits_racing_on_one_day_leave_exactly_one(lake_root: str) -> None:
    """Bypassing the lake's lock, two publishers build their commits from the same table
    version; the second to commit is refused by Iceberg's validation (not merged), so the day
    holds exactly one attempt's files."""
    assert run(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    store = LocalStore(lake_root)
    path = DayPath(DATA, dt.date.fromisoformat(DAYS[0]))
    spec = partition_of(store, path, read_manifest(store, path))  # type: ignore[arg-type]
    other = copy_of(spec, "-copy/")
    catalog = IcebergCatalogResource(lake_root=lake_root)
    errors = publish_racing(catalog, [spec, other])
    assert len(errors) == 1 and "retrying reads the table afresh" in str(errors[0])
    [day] = catalog.partitions("reports").values()
    assert day.rows == 12 and len({Path(f).parent for f in day.files}) == 1


def test_every_check_passes_per_day_and_names_the_commit_that_published_it(
    lake_root: str,
) -> None:
    result = materialize_days(
        [*ASSETS, *ALL_CHECKS], resources(lake_root, canned(DAYS, reports=300)), DAYS[0], DAYS[-1]
    )
    assert result.success
    evaluations = [e for e in result.get_asset_check_evaluations() if e.partition]
    assert len(evaluations) == 4 * len(DAYS) and all(e.passed for e in evaluations)
    [published] = [
        e
        for e in evaluations
        if e.asset_check_key.name == "published_matches_decoded" and e.partition == DAYS[0]
    ]
    figures = {k: v.value for k, v in published.metadata.items()}
    assert figures["published_by_run_id"] == result.run_id
    assert figures["published_by_attempt"] == data_attempt(lake_root, DAYS[0])
    assert figures["published_rows"] == figures["decoded_rows"] == 300 * 4
