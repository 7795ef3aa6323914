"""Two runs of the same day at once, driven deterministically (no sleeps).

Run A is paused before its k-th write to the lake (every put, compare-and-set, file, delete or
lock) while run B, which saw the source later with more rows, runs from start to end; then A
resumes. Every k is tried on a local lake with DuckDB and on S3 with Glue (moto), so run B
lands between every pair of A's steps and inside each of them; on a local Iceberg lake (the
SQL catalog), whose extract and decode are the local lake's, the k where it differs (see
`pauses`). Whatever the order, the day must end as exactly one run's version, consistent in
every zone and in the catalog, with no pointer naming a deleted file and no superseded file
left behind.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, materialize

from lake_assets.catalogs.base import LakeCatalog, published_attempt
from lake_assets.catalogs.duckdb import DuckDBCatalogResource
from lake_assets.catalogs.glue import GlueCatalogResource
from lake_assets.catalogs.iceberg import IcebergCatalogResource
from lake_assets.defs.s3_lake import S3LakeResource
from lake_assets.lake.s3 import S3Store
from lake_assets.lake.store import LakeStore, LocalStore
from lake_assets.lake.zones import DATA, QUARANTINE, RAW, TABLE, DayPath, attempt_of, read_manifest
from lake_assets_tests.conftest import BUCKET, FakeMySQL, fake_aws_env
from lake_assets_tests.defs.reports.test_pipeline import canned
from lake_assets_tests.report_defs import ALL_CHECKS, decoded_reports, raw_reports, reports_table

DAY = "2026-01-01"
DATE = dt.date(2026, 1, 1)
SOURCE_A = canned([DAY], reports=3)  # what run A's snapshot sees: 3 good reports + 1 bad
SOURCE_B = canned([DAY], reports=5)  # run B's, later: 5 good + 1 bad
READINGS = {4 * 3, 4 * 5}  # 2 samples x 2 channels per good report


class Gate:
    """Pauses the store's user before its `pause_at`-th write until `resume` is set; before
    every write, `probe` looks at the lake as any reader could, and what it finds wrong is
    kept in `violations`."""

    def __init__(self, pause_at: int | None, probe: Callable[[str], None] | None = None) -> None:
        self.pause_at = pause_at
        self.probe = probe
        self.writes = 0
        self.violations: list[str] = []
        self.paused = threading.Event()
        self.resume = threading.Event()

    def before_write(self) -> None:
        self.writes += 1
        if self.probe is not None:
            try:
                self.probe(f"before write {self.writes}")
            except AssertionError as e:
                self.violations.append(str(e))
        if self.writes == self.pause_at:
            self.paused.set()
            assert self.resume.wait(120), "never resumed"


GATES: dict[str, Gate] = {}


class GatedStore:
    """A LakeStore that passes every call through, announcing each write to its gate. A lock
    is one write: the gate never pauses a run while it holds the lock, since the lock's point
    is that nothing interleaves there."""

    def __init__(self, inner: LakeStore, gate: Gate) -> None:
        self.inner, self.gate = inner, gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.gate.before_write()
        self.inner.put_bytes(key, data)

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        self.gate.before_write()
        return self.inner.put_if(key, data, version)

    def delete_keys(self, keys) -> int:
        self.gate.before_write()
        return self.inner.delete_keys(keys)

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        self.gate.before_write()
        with self.inner.writing(key) as path:
            yield path

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        self.gate.before_write()
        with self.inner.lock(name):
            yield


class GatedLake(S3LakeResource):  # a local or an S3 root
    gate: str = ""

    def store(self) -> LakeStore:
        inner = super().store()
        return GatedStore(inner, GATES[self.gate]) if self.gate else inner  # type: ignore[return-value]


def resources(setup: dict[str, Any], source: dict, gate: str = "") -> dict[str, object]:
    return {
        "mysql": FakeMySQL(canned=json.dumps(source)),
        "lake": GatedLake(
            root=setup["root"], gate=gate, table_format=setup.get("table_format", "hive")
        ),
        "catalog": setup["catalog"],
    }


FULL = [raw_reports, decoded_reports, reports_table, *ALL_CHECKS]
UNPUBLISHED = [raw_reports, decoded_reports, *ALL_CHECKS[:3]]  # e.g. a check stopped the table


def run(setup: dict[str, Any], source: dict, gate: str = "", assets: list = FULL) -> bool:
    with DagsterInstance.ephemeral() as instance:  # disposed in the thread that made it
        return materialize(
            assets,
            resources=resources(setup, source, gate),
            partition_key=DAY,
            instance=instance,
            raise_on_error=False,
        ).success


@pytest.fixture(params=["local", "s3", "iceberg"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if request.param in ("local", "iceberg"):
        root = str(tmp_path / "lake")
        yield {
            "root": root,
            "catalog": IcebergCatalogResource(lake_root=root)
            if request.param == "iceberg"
            else DuckDBCatalogResource(path=f"{root}/catalog.duckdb"),
            "store": LocalStore(root),
            "table_format": "iceberg" if request.param == "iceberg" else "hive",
        }
        return
    import boto3
    from moto import mock_aws

    fake_aws_env(request.getfixturevalue("monkeypatch"))
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        root = f"s3://{BUCKET}/lake"
        yield {
            "root": root,
            "catalog": GlueCatalogResource(database="datalake", lake_root=root),
            "store": S3Store(root, boto3.client("s3")),
        }


def writes_of_one_run(setup: dict[str, Any], assets: list = FULL) -> int:
    GATES["count"] = gate = Gate(None)
    assert run(setup, SOURCE_A, "count", assets)
    return gate.writes


def pauses(setup: dict[str, Any]) -> list[int]:
    """Before which of run A's writes to pause it, on a published day. Every write, except on
    the local Iceberg lake: its extract and decode write through the same local store as the
    local Hive lake, where every one of those writes is walked; there only the decode's last
    write (A is superseded, and its table step starts after the whole of run B) and the table
    step's own are. The Iceberg commit's files are written by pyiceberg, not through the
    store: two commits racing on one day are driven in iceberg/test_history.py."""
    writes_of_one_run(setup)  # a published day for the runs to replace
    if setup.get("table_format") != "iceberg":
        return list(range(1, writes_of_one_run(setup) + 1))
    before_table = writes_of_one_run(setup, [raw_reports, decoded_reports])
    writes_of_one_run(setup)  # published again: every count below is over a published day
    total = writes_of_one_run(setup)
    assert total > before_table, (before_table, total)
    return list(range(before_table, total + 1))


@pytest.mark.interleavings
@pytest.mark.parametrize("b_assets", [FULL, UNPUBLISHED], ids=["b_publishes", "b_unpublished"])
def test_two_runs_of_a_day_interleaved_at_every_write(lake: dict[str, Any], b_assets) -> None:
    ks = pauses(lake)  # a run over a published day also deletes what it replaces
    assert len(ks) >= (9 if lake.get("table_format") != "iceberg" else 2), ks
    outcomes = []
    for k in ks:

        def probe(moment: str, k: int = k) -> None:
            assert_pointers_resolve(lake, f"k={k}, {moment}")

        GATES["a"], GATES["b"] = gate, gate_b = Gate(k, probe), Gate(None, probe)
        results: dict[str, Any] = {}
        a = threading.Thread(target=lambda r=results: r.setdefault("a", run(lake, SOURCE_A, "a")))
        a.start()
        assert gate.paused.wait(120), f"run A never reached write {k}"
        b = run(lake, SOURCE_B, "b", b_assets)
        probe("B done, A paused")
        gate.resume.set()
        a.join(120)
        assert not a.is_alive()
        assert not gate.violations + gate_b.violations
        assert b, f"k={k}: run B, which ran alone, failed"
        outcomes.append((k, results["a"]))
        probe("both done")
        if b_assets is FULL:
            assert_one_consistent_version(lake, f"k={k}")
    # A ends as the day's version or superseded (its files gone), never as a mixture; run
    # alone after B, it must succeed
    assert outcomes[-1][1], outcomes


def assert_pointers_resolve(setup: dict[str, Any], label: str) -> None:
    """At any moment: every manifest and the catalog name files that exist, so the table and
    every zone can be read (whatever is half-done elsewhere)."""
    store: LakeStore = setup["store"]
    stored = set()
    for zone in (RAW, DATA, QUARANTINE):
        stored |= set(store.list_keys(DayPath(zone, DATE).prefix))
    named = []
    for zone in (RAW, DATA, QUARANTINE):
        manifest = read_manifest(store, DayPath(zone, DATE))
        for m in [manifest, *(manifest.linked if manifest else [])]:
            named += [f.key for f in m.files] if m else []
    published = setup["catalog"].partition(TABLE, "20260101")
    if published is not None:
        prefix = published.location.removeprefix(store.uri("")).strip("/") + "/"
        assert any(k.startswith(prefix) for k in stored), f"{label}: catalog names {prefix}"
    missing = [k for k in named if k not in stored]
    assert not missing, f"{label}: named but deleted: {missing}"


def assert_one_consistent_version(setup: dict[str, Any], label: str) -> None:
    store: LakeStore = setup["store"]
    catalog: LakeCatalog = setup["catalog"]
    raw = read_manifest(store, DayPath(RAW, DATE))
    data = read_manifest(store, DayPath(DATA, DATE))
    mirror = read_manifest(store, DayPath(QUARANTINE, DATE))
    assert raw and data and mirror, label
    linked = data.linked_zone(QUARANTINE)
    published = catalog.partition(TABLE, "20260101")
    assert published is not None, label
    # one version: the catalog shows the current decoded attempt, made from the current raw
    assert published_attempt(published) == data.attempt, label
    assert data.stats["raw_attempt"] == raw.attempt, label
    assert linked is not None and linked.attempt == mirror.attempt == data.attempt, label
    assert data.rows in READINGS and raw.rows == data.rows // 4 + 1, label
    assert published.rows == data.rows, label
    # every pointer names files that exist, and nothing else is left below the day but what
    # the catalog still reads (an Iceberg table's retained snapshots)
    retained = set(catalog.retained_attempts(TABLE, "20260101"))
    for zone, attempt in ((RAW, raw.attempt), (DATA, data.attempt), (QUARANTINE, data.attempt)):
        path = DayPath(zone, DATE)
        keys = [k for k in store.list_keys(path.prefix) if k.endswith(".parquet")]
        found = {attempt_of(k, path) for k in keys}
        allowed = {attempt} | (retained if zone == DATA else set())
        assert attempt in found and found <= allowed, f"{label}: {zone} {keys}"
    if isinstance(catalog, DuckDBCatalogResource | IcebergCatalogResource):
        _, [(count,)] = catalog.query("SELECT count(*) FROM reports WHERE date = '20260101'")
        assert count == data.rows, label


def test_a_raw_extract_replaced_while_it_is_decoded_is_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run B re-extracts the day while run A reads the raw attempt that B's retention then
    deletes: A's decode retries on B's extract instead of failing on a missing file."""
    from lake_assets.defs.reports import decoded as decoded_module

    root = str(tmp_path / "lake")
    setup = {"root": root, "catalog": DuckDBCatalogResource(path=f"{root}/catalog.duckdb")}
    assert run(setup, SOURCE_A, assets=[raw_reports])
    real = decoded_module.iter_batches
    calls = []

    def b_extracts_first(*args: Any, **kwargs: Any):
        if not calls:
            calls.append("b")
            assert run(setup, SOURCE_B, assets=[raw_reports]), "B re-extracts the day"
        return real(*args, **kwargs)

    monkeypatch.setattr(decoded_module, "iter_batches", b_extracts_first)
    assert run(setup, SOURCE_B, assets=[decoded_reports, reports_table])
    data = read_manifest(LocalStore(root), DayPath(DATA, DATE))
    assert data.rows == 4 * 5, "A decoded B's extract"
