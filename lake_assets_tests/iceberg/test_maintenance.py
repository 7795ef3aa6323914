"""Iceberg maintenance: after re-runs of a day and a run killed before its commit, the files on
disk are exactly what the live snapshots read (plus the decoded attempt waiting to be
published); expiring the old snapshots shrinks that to the current version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import materialize

from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.catalogs.iceberg_maintenance import maintain
from lake_assets.defs.maintenance import iceberg_maintenance
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import new_attempt_id
from lake_assets_tests.defs.reports.test_pipeline import DAYS, canned
from lake_assets_tests.defs.reports.test_pipeline_iceberg import counts, resources, run
from lake_assets_tests.report_defs import decoded_reports, raw_reports


def files_on_disk(root: str, folder: str, suffix: str) -> set[str]:
    return {str(p) for p in Path(root, folder).rglob(f"*{suffix}")}


def live_data_files(catalog: IcebergCatalogResource) -> set[str]:
    table = catalog.table("reports")
    assert table is not None
    paths = table.inspect.all_data_files().column("file_path").to_pylist()
    return {p.removeprefix("file://") for p in paths}


def live_metadata_files(catalog: IcebergCatalogResource) -> set[str]:
    table = catalog.table("reports")
    assert table is not None
    out = set()
    for snapshot in table.snapshots():
        out.add(snapshot.manifest_list.removeprefix("file://"))
        out.update(m.manifest_path.removeprefix("file://") for m in snapshot.manifests(table.io))
    return out


def test_after_ten_reruns_and_a_killed_run_only_what_snapshots_read_stays(
    lake_root: str,
) -> None:
    for i in range(10):
        assert run(lake_root, canned(DAYS[:2], reports=2 + i), DAYS[0], DAYS[1]).success
    # a run killed after writing its files and before its commit: files no snapshot reads
    orphan = Path(lake_root, "data/reports/date=20260101", new_attempt_id("killed00"))
    orphan.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), orphan / "part-00000.parquet")

    catalog = IcebergCatalogResource(lake_root=lake_root)
    store = LocalStore(lake_root)
    table = catalog.table("reports")
    assert table is not None
    assert len(table.snapshots()) == 10  # one append, then one overwrite per re-run
    data_before = files_on_disk(lake_root, "data/reports", ".parquet")
    assert str(orphan / "part-00000.parquet") in data_before

    # two days on: nothing is past the 7-day retention, but the orphan is past the margin
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    kept = maintain(table, "reports", store, dt.timedelta(days=7), dt.timedelta(hours=24), later)
    assert (kept.expired_snapshots, kept.removed_data_files) == (0, 1)
    assert files_on_disk(lake_root, "data/reports", ".parquet") == live_data_files(catalog)
    assert len(live_data_files(catalog)) == 20, "10 versions of each day: time travel works"

    # eight days on: every snapshot but the current one expires, and with it their files
    much_later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    table = catalog.table("reports")
    assert table is not None
    done = maintain(
        table, "reports", store, dt.timedelta(days=7), dt.timedelta(hours=24), much_later
    )
    assert done.expired_snapshots == 9 and done.live_snapshots == 1
    assert files_on_disk(lake_root, "data/reports", ".parquet") == live_data_files(catalog)
    assert len(live_data_files(catalog)) == 2  # the current version of each day
    assert files_on_disk(lake_root, "iceberg/reports/metadata", ".avro") == live_metadata_files(
        catalog
    )
    assert len(files_on_disk(lake_root, "iceberg/reports/metadata", ".metadata.json")) <= 21
    assert counts(lake_root)["20260101"][0] == (2 + 9) * 4, "the current version is intact"


def test_a_decoded_attempt_waiting_to_be_published_is_kept(lake_root: str) -> None:
    """decoded_reports switched the day's data manifest; reports_table has not published it
    yet. No snapshot reads its files, but the manifest names them: they stay."""
    assert run(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    res = resources(lake_root, canned(DAYS[:1], reports=4))
    assert materialize([raw_reports, decoded_reports], resources=res, partition_key=DAYS[0]).success
    catalog = IcebergCatalogResource(lake_root=lake_root)
    table = catalog.table("reports")
    assert table is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    done = maintain(
        table, "reports", LocalStore(lake_root), dt.timedelta(days=7), dt.timedelta(hours=24), later
    )
    assert done.removed_data_files == 0
    assert len(files_on_disk(lake_root, "data/reports", ".parquet")) == 2


def test_the_maintenance_asset_reports_each_table(lake_root: str) -> None:
    for i in range(3):
        assert run(lake_root, canned(DAYS[:1], reports=2 + i), DAYS[0]).success
    res = resources(lake_root, {})
    result = materialize([iceberg_maintenance], resources={k: res[k] for k in ("lake", "catalog")})
    assert result.success
    [m] = result.asset_materializations_for_node("iceberg_maintenance")
    tables = m.metadata["tables"].value
    assert tables == {
        "reports": {
            "expired_snapshots": 0,  # all younger than LAKE_SNAPSHOT_RETENTION_DAYS
            "live_snapshots": 3,  # one a publish
            "removed_data_files": 0,
            "removed_metadata_files": 0,
        }
    }
