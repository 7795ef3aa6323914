"""The typed stats of day manifests: what a step writes reads back the same through the
manifest's JSON, for the reports' zones and a copy alike; a key an older manifest lacks takes
its default, and a key a newer one adds is ignored."""

from __future__ import annotations

import json
from dataclasses import asdict

from lake_assets.core.fingerprints import DayFingerprint, RowChecksum
from lake_assets.defs.steps.manifest_stats import CopyStats, DataStats, RawStats
from lake_assets.lake.zones import DayManifest
from lake_assets.source.types import SourceColumn


def through_json(stats: dict) -> DayManifest:
    manifest = DayManifest("data", "t", "20260101", "a1", [], {}, "run", stats=stats)
    return DayManifest(**{**asdict(manifest), "stats": json.loads(json.dumps(stats))})


def test_a_copys_stats_read_back_the_same() -> None:
    stats = CopyStats(
        source_checksum=RowChecksum(3, 12345, 678),
        checksummed=(SourceColumn("id", "bigint", "bigint(20) unsigned", False),),
        catalog_columns=(("id", "decimal(20,0)"),),
        source="mysql://root@127.0.0.1:3306/db",
        zero_dates={"d": 2},
    )
    assert CopyStats.of(through_json(stats.to_dict())) == stats


def test_the_reports_stats_take_defaults_and_ignore_new_keys() -> None:
    fingerprint = DayFingerprint(rows=2, min_id=1, max_id=2, max_updated_at=None, checksum=9)
    raw = RawStats(fingerprint)
    assert RawStats.of(through_json({**raw.to_dict(), "added_later": 1})) == raw
    old = through_json({"raw_rows": 5, "source_fingerprint": asdict(fingerprint)})
    data = DataStats.of(old)
    assert (data.raw_rows, data.source_fingerprint, data.channels) == (5, fingerprint, {})
