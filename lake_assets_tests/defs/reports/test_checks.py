"""Each check passing and failing, per day inside a range run, and blocking publishes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from pathlib import Path

import pyarrow.parquet as pq
from dagster import AssetCheckKey, DagsterInstance

from lake_assets.defs.reports import reconcile
from lake_assets.lake.store import LocalStore
from lake_assets.lake.zones import ATTEMPT_TIME, DATA, RAW, DayPath, FileEntry, read_manifest
from lake_assets_tests.conftest import materialize_days

# table_format: each test on both formats
from lake_assets_tests.defs.reports.test_pipeline import (
    ASSETS,
    DAYS,
    canned,
    resources,
    table_counts,
    table_format,  # noqa: F401
)
from lake_assets_tests.report_defs import ALL_CHECKS

CHECKS = {
    c: AssetCheckKey.from_user_string(c)
    for c in (
        "raw_reports:raw_matches_source",
        "decoded_reports:decoded_accounts_for_raw",
        "decoded_reports:quarantine_rate",
        "reports_table:published_matches_decoded",
    )
}
DAY = dt.date(2026, 1, 1)


def run_with_checks(
    lake_root: str,
    rows: dict,
    first: str,
    last: str | None = None,
    selection: list | None = None,
    instance: DagsterInstance | None = None,
    **fake: object,
):
    return materialize_days(
        [*ASSETS, *ALL_CHECKS],
        resources(lake_root, rows, **fake),
        first,
        last,
        selection=selection,
        **({"instance": instance} if instance else {}),
    )


def evaluations(result) -> dict[tuple[str, str | None], bool]:
    out = {}
    for e in result.get_asset_check_evaluations():
        out[(e.asset_check_key.to_user_string(), e.partition)] = e.passed
    return out


def logged_lines(instance: DagsterInstance, run_id: str) -> dict[str, int]:
    """The run's log lines (not Dagster's events), with their levels."""
    return {e.user_message: e.level for e in instance.all_logs(run_id) if e.dagster_event is None}


def test_all_checks_pass_per_day_in_a_range_run(lake_root: str) -> None:
    with DagsterInstance.ephemeral() as instance:
        result = run_with_checks(
            lake_root, canned(DAYS, reports=300), DAYS[0], DAYS[-1], instance=instance
        )
        logged = logged_lines(instance, result.run_id)
    assert result.success
    got = evaluations(result)
    for name in CHECKS:
        for day in DAYS:
            assert got[(name, day)] is True, (name, day)
    # each day's verdict is in its evaluation, and not repeated as a log line
    described = [e.description for e in result.get_asset_check_evaluations() if e.partition]
    assert f"{DAYS[1]}: raw matches the source snapshot (301 rows)" in described
    assert not set(described) & set(logged)


def test_row_lost_between_count_and_extract_is_never_switched(lake_root: str) -> None:
    assert run_with_checks(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    before = table_counts(lake_root)
    result = run_with_checks(lake_root, canned(DAYS[:1], reports=5), DAYS[0], drop_a_row=True)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "2026-01-01: wrote 5 rows but the snapshot counted 6" in str(
        failure.step_failure_data.error
    )
    assert read_manifest(LocalStore(lake_root), DayPath(RAW, dt.date(2026, 1, 1))).rows == 4
    assert table_counts(lake_root) == before


def test_failing_raw_check_blocks_publish_and_the_old_day_stays(lake_root: str) -> None:
    assert run_with_checks(lake_root, canned(DAYS, reports=3), DAYS[0], DAYS[-1]).success
    before = table_counts(lake_root)
    with DagsterInstance.ephemeral() as instance:
        result = run_with_checks(
            lake_root,
            canned(DAYS, reports=6),
            DAYS[0],
            DAYS[-1],
            instance=instance,
            wrong_checksum=True,
        )
        logged = logged_lines(instance, result.run_id)
    assert not result.success
    got = evaluations(result)
    assert got[("raw_reports:raw_matches_source", "2026-01-02")] is False
    assert not result.asset_materializations_for_node("reports_table"), "nothing published"
    assert table_counts(lake_root) == before
    [check] = [e for e in result.get_asset_check_evaluations() if e.partition == "2026-01-02"]
    assert "checksum" in check.description
    assert logged[check.description] == logging.ERROR, "a failing day is also logged, as an error"


def test_raw_check_catches_a_corrupted_raw_file(lake_root: str) -> None:
    assert run_with_checks(lake_root, canned(DAYS[:1], reports=4), DAYS[0]).success
    store, path = LocalStore(lake_root), DayPath(RAW, dt.date(2026, 1, 1))
    manifest = read_manifest(store, path)
    _rewrite(store, manifest.files[0], lambda t: t.slice(1))  # the first row is lost
    manifest.files = [
        FileEntry(f.key, f.rows, (Path(lake_root) / f.key).stat().st_size) for f in manifest.files
    ]
    store.put_bytes(path.manifest_key, manifest.to_json())  # the lake itself corrupted
    verdict = reconcile.raw_matches_source(store, DAY)
    assert verdict.passed is False
    assert "'rows': (5, 4)" in verdict.description and "min_id" in verdict.description


def test_decoded_check_catches_lost_readings(lake_root: str) -> None:
    assert run_with_checks(lake_root, canned(DAYS[:1], reports=4), DAYS[0]).success
    store, path = LocalStore(lake_root), DayPath(DATA, dt.date(2026, 1, 1))
    manifest = read_manifest(store, path)
    _rewrite(store, manifest.files[0], lambda t: t.slice(0, t.num_rows - 1))
    verdict = reconcile.decoded_accounts_for_raw(store, DAY)
    assert verdict.passed is False
    assert "wrong reading counts" in verdict.description
    assert verdict.metadata["readings_written"] == 15
    assert verdict.metadata["readings_expected"] == 16


def test_a_day_decoded_before_write_time_accounting_is_recounted_from_its_files(
    lake_root: str,
) -> None:
    assert run_with_checks(lake_root, canned(DAYS[:1], reports=4), DAYS[0]).success
    store, path = LocalStore(lake_root), DayPath(DATA, dt.date(2026, 1, 1))
    manifest = read_manifest(store, path)
    assert manifest.stats.pop("accounting")["readings_written"] == 16
    store.put_bytes(path.manifest_key, manifest.to_json())  # as an older version wrote it
    assert reconcile.decoded_accounts_for_raw(store, DAY).passed
    _rewrite(store, manifest.files[0], lambda t: t.slice(0, t.num_rows - 1))
    verdict = reconcile.decoded_accounts_for_raw(store, DAY)
    assert not verdict.passed and verdict.metadata["readings_written"] == 15


def test_quarantine_rate_above_the_limit_warns_with_top_reasons(lake_root: str) -> None:
    rows = canned(DAYS[:1], reports=2)  # 1 bad row in 3: 33 %
    result = run_with_checks(lake_root, rows, DAYS[0])
    assert result.success, "the rate check is not blocking"
    [evaluation] = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_check_key == CHECKS["decoded_reports:quarantine_rate"]
    ]
    assert evaluation.passed is False
    assert "33.33% quarantined (limit 1.00%); top reasons: base64 1" in evaluation.description


def test_published_check_fails_when_the_catalog_lags_the_decoded_day(lake_root: str) -> None:
    assert run_with_checks(lake_root, canned(DAYS[:1], reports=4), DAYS[0]).success
    assert run_with_checks(
        lake_root,
        canned(DAYS[:1], reports=4),
        DAYS[0],
        selection=["raw_reports", "decoded_reports"],
    ).success
    catalog = resources(lake_root, {})["catalog"]
    verdict = reconcile.published_matches_decoded(
        LocalStore(lake_root), catalog, catalog.partitions("reports"), DAY
    )
    assert verdict.passed is False
    assert "does not show exactly the current version" in verdict.description


def _rewrite(store: LocalStore, entry: FileEntry, change) -> None:
    path = store.path(entry.key)
    table = change(pq.read_table(path))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    path.write_bytes(buffer.getvalue())


def test_table_alone_refuses_decoded_data_of_an_older_extract(lake_root: str) -> None:
    """Blocking checks gate a run; materializing reports_table by itself is gated too."""
    assert run_with_checks(lake_root, canned(DAYS[:1], reports=3), DAYS[0]).success
    before = table_counts(lake_root)
    failed = run_with_checks(lake_root, canned(DAYS[:1], reports=6), DAYS[0], wrong_checksum=True)
    assert not failed.success  # raw was switched, the blocking check stopped the decode
    alone = run_with_checks(lake_root, {}, DAYS[0], selection=["reports_table"])
    assert not alone.success
    [failure] = [e for e in alone.all_events if e.is_step_failure]
    assert "materialize decoded_reports (with its checks) first" in str(
        failure.step_failure_data.error
    )
    assert table_counts(lake_root) == before


def test_table_leaves_a_day_to_the_later_run_that_re_extracted_it(lake_root: str) -> None:
    """Overlapping ranges: a run that started after this one re-extracted a day this run
    decoded. That run decodes and publishes the day; this one leaves it (a warning, and the
    day's figures say so) instead of failing, and publishes nothing older over it."""
    assert run_with_checks(lake_root, canned(DAYS[:2], reports=3), DAYS[0], DAYS[1]).success
    before = table_counts(lake_root)
    store = LocalStore(lake_root)
    path = DayPath(RAW, DAY)
    raw = read_manifest(store, path)
    # what the later run's switch leaves: the day's raw zone at an attempt begun after ours
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    later = f"{soon:{ATTEMPT_TIME}}-0later00"
    store.put_bytes(path.manifest_key, dataclasses.replace(raw, attempt=later).to_json())

    with DagsterInstance.ephemeral() as instance:
        alone = run_with_checks(
            lake_root, {}, DAYS[0], DAYS[1], selection=["reports_table"], instance=instance
        )
        logged = [e.user_message for e in instance.all_logs(alone.run_id)]
    assert alone.success
    assert f"{DAY}: re-extracted by a run that started after this one; left for it to publish" in (
        logged
    )
    figures = {
        m.partition: m.metadata for m in alone.asset_materializations_for_node("reports_table")
    }
    assert figures[DAYS[0]]["left_for_later_run"].value == later
    assert figures[DAYS[0]]["published_by_this_run"].value is False
    assert figures[DAYS[1]]["readings"].value == before[DAYS[1].replace("-", "")][0]
    assert table_counts(lake_root) == before

    # an older re-extract, one this run did not race with, is still refused
    earlier = f"{dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5):{ATTEMPT_TIME}}-0older00"
    store.put_bytes(path.manifest_key, dataclasses.replace(raw, attempt=earlier).to_json())
    assert not run_with_checks(lake_root, {}, DAYS[0], selection=["reports_table"]).success
