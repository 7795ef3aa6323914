"""The reconciliation rules, one function per check, each judging one day from what is stored.

They read the lake (manifests and Parquet) and the catalog, never the assets' memory, so a
check run alone on existing data gives the same answer as in the run that wrote it.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections import Counter
from contextlib import ExitStack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake_assets.catalogs.base import LakeCatalog, PartitionSpec
from lake_assets.codec.decode import readings_per_report
from lake_assets.codec.ids import ids_to_numpy
from lake_assets.core.days import date_to_path_value
from lake_assets.defs.reports.rollup import ROLLUP, ROLLUP_SCHEMA
from lake_assets.defs.steps.manifest_stats import DataStats, QuarantineStats, RawStats
from lake_assets.defs.steps.per_day import Verdict
from lake_assets.defs.steps.published import catalog_differs
from lake_assets.lake.accounting import Accounting
from lake_assets.lake.parquet import footer_rows, iter_batches
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import (
    DATA,
    RAW,
    TABLE,
    DayManifest,
    DayPath,
    read_decoded,
    read_manifest,
)
from lake_assets.source.checksums import mysql_datetime_text

RAW_BATCH_ROWS = 2_000  # raw rows per batch: base64 of a whole day at once would cost ~80 MB


def _missing(zone: str, day: dt.date) -> Verdict:
    return Verdict(False, f"{day}: no {zone} data for this day", {})


def _manifest(store: LakeStore, zone: str, day: dt.date) -> DayManifest | None:
    return read_manifest(store, DayPath(zone, day))


# -- raw_reports ------------------------------------------------------------------------------


def raw_matches_source(store: LakeStore, day: dt.date) -> Verdict:
    """The raw files hold exactly the rows the source had in the extract's snapshot: same
    count, same min/max id, same BIT_XOR(CRC32(key)) with the key of `ROW_CHECKSUM_KEY`."""
    raw = _manifest(store, RAW, day)
    if raw is None:
        return _missing("raw", day)
    stats = RawStats.of(raw)
    source = stats.fingerprint.as_dict()
    fsp = _fractional_digits(stats.source_columns.get("updated_at", ""))
    rows, checksum = 0, 0
    min_id: int | None = None
    max_id: int | None = None
    for batch in iter_batches(store, [f.key for f in raw.files], ["id", "updated_at"]):
        ids = batch["id"].cast(pa.string())
        joined = pc.binary_join_element_wise(
            ids, mysql_datetime_text(batch["updated_at"], fsp), "|"
        )
        # CONCAT_WS skips a NULL (or zero-date) updated_at: the key is then the id alone
        keys = pc.coalesce(joined, ids)
        for key in keys.to_pylist():
            checksum ^= zlib.crc32(key.encode())
        rows += len(batch)
        if len(batch):
            low, high = pc.min_max(batch["id"]).values()
            min_id = int(low.as_py()) if min_id is None else min(min_id, int(low.as_py()))
            max_id = int(high.as_py()) if max_id is None else max(max_id, int(high.as_py()))
    written = {"rows": rows, "min_id": min_id, "max_id": max_id, "checksum": checksum}
    expected = {k: source[k] for k in written}
    ok = written == expected
    differing = {k: (expected[k], written[k]) for k in written if written[k] != expected[k]}
    return Verdict(
        ok,
        f"{day}: raw matches the source snapshot ({rows:,} rows)"
        if ok
        else f"{day}: raw differs from the source snapshot (source, written): {differing}",
        {"source": expected, "written": written},
    )


def _fractional_digits(column_type: str) -> int:
    match = re.search(r"\((\d)\)", column_type)
    return int(match.group(1)) if match else 0


# -- decoded_reports --------------------------------------------------------------------------


def decoded_accounts_for_raw(store: LakeStore, day: dt.date) -> Verdict:
    """Every raw row is either decoded, with exactly its header's n_samples × n_channels
    readings, or quarantined once; nothing else is in either zone.

    The per-report figures were accounted while the day was written (lake_assets/
    lake/accounting.py): they must add up, describe the current raw extract (its rows and source
    snapshot), and match what the stored files hold, counted from their footers. A day decoded
    before that accounting existed is recounted from the files themselves."""
    raw, decoded = _manifest(store, RAW, day), read_decoded(store, day)
    if raw is None or decoded is None:
        return _missing("raw/decoded/quarantine", day)
    data, quarantine = decoded
    stats = DataStats.of(data)
    if not stats.accounting:
        return _recount_from_files(store, day, raw, data, quarantine)
    accounted = Accounting(**stats.accounting)
    stored_readings = footer_rows(store, [f.key for f in data.files])
    stored_quarantine = footer_rows(store, [f.key for f in quarantine.files])
    problems: dict[str, object] = accounted.problems()
    if stored_readings != accounted.readings_expected:
        problems["reports with wrong reading counts"] = (
            f"the files hold {stored_readings:,} readings, the raw headers say "
            f"{accounted.readings_expected:,}"
        )
    if stored_quarantine != accounted.malformed:
        problems["malformed reports not quarantined exactly once"] = (
            f"the files hold {stored_quarantine:,} quarantined rows, {accounted.malformed:,} "
            "reports are malformed"
        )
    if accounted.raw_rows != raw.rows or stats.source_fingerprint != RawStats.of(raw).fingerprint:
        problems["decoded from another raw extract"] = (
            f"decoded {accounted.raw_rows:,} raw rows of snapshot {stats.source_fingerprint}; "
            f"the raw zone holds {raw.rows:,} of {RawStats.of(raw).fingerprint}"
        )
    figures = {
        "raw_rows": raw.rows,
        "readings_expected": accounted.readings_expected,
        "readings_written": stored_readings,
        "quarantine_expected": accounted.malformed,
        "quarantine_written": stored_quarantine,
    }
    return _accounts_verdict(day, figures, problems)


def _accounts_verdict(day: dt.date, figures: dict[str, int], problems: dict) -> Verdict:
    return Verdict(
        not problems,
        f"{day}: {figures['raw_rows']:,} raw rows = decoded + {figures['quarantine_written']} "
        f"quarantined; {figures['readings_written']:,} readings as the headers say"
        if not problems
        else f"{day}: decoded/quarantine do not account for raw: {problems}",
        {**figures, **({"problems": problems} if problems else {})},
    )


def _recount_from_files(
    store: LakeStore, day: dt.date, raw: DayManifest, data: DayManifest, quarantine: DayManifest
) -> Verdict:
    """The same rule, recounted by reading the raw and decoded files back."""
    ids, expected = [], []
    for batch in iter_batches(store, [f.key for f in raw.files], ["id", "encoded"], RAW_BATCH_ROWS):
        ids.append(ids_to_numpy(batch["id"]))
        expected.append(readings_per_report(batch["encoded"]))
    raw_ids = np.concatenate(ids) if ids else np.empty(0, np.uint64)
    per_report = np.concatenate(expected) if expected else np.empty(0, np.int64)

    written = _counts_by_report(store, data)
    quarantined = _counts_by_report(store, quarantine)
    malformed = raw_ids[per_report < 0]
    yielding = per_report > 0
    want = dict(zip(raw_ids[yielding].tolist(), per_report[yielding].tolist(), strict=True))
    problems = {
        "reports with wrong reading counts": sorted(
            r for r in set(want) | set(written) if want.get(r) != written.get(r)
        ),
        "quarantined more than once": sorted(r for r, n in quarantined.items() if n != 1),
        "malformed but not quarantined": sorted(set(malformed.tolist()) - set(quarantined)),
        "quarantined but not malformed": sorted(set(quarantined) - set(malformed.tolist())),
    }
    problems = {k: v[:10] for k, v in problems.items() if v}
    figures = {
        "raw_rows": len(raw_ids),
        "readings_expected": int(per_report[yielding].sum()),
        "readings_written": int(sum(written.values())),
        "quarantine_expected": len(malformed),
        "quarantine_written": int(sum(quarantined.values())),
    }
    return _accounts_verdict(day, figures, problems)


def _counts_by_report(store: LakeStore, manifest: DayManifest) -> dict[int, int]:
    counts: Counter[int] = Counter()
    for batch in iter_batches(store, [f.key for f in manifest.files], ["report_id"]):
        values, n = np.unique(ids_to_numpy(batch["report_id"]), return_counts=True)
        counts.update(dict(zip(values.tolist(), n.tolist(), strict=True)))
    return dict(counts)


def quarantine_rate(store: LakeStore, day: dt.date, max_rate: float) -> Verdict:
    """The share of raw rows quarantined stays under `max_rate`; above it, the top reasons."""
    decoded = read_decoded(store, day)
    if decoded is None:
        return _missing("quarantine", day)
    _, quarantine = decoded
    q_stats = QuarantineStats.of(quarantine)
    raw_rows = q_stats.raw_rows
    rate = quarantine.rows / raw_rows if raw_rows else 0.0
    reasons = Counter(q_stats.reasons).most_common(3)
    ok = rate <= max_rate
    return Verdict(
        ok,
        f"{day}: {rate:.2%} quarantined (limit {max_rate:.2%})"
        + ("" if ok else f"; top reasons: {', '.join(f'{r} {n}' for r, n in reasons)}"),
        {
            "quarantined": quarantine.rows,
            "raw_rows": raw_rows,
            "rate": rate,
            "max_rate": max_rate,
            "top_reasons": dict(reasons),
        },
    )


# -- reports_table ----------------------------------------------------------------------------


def published_matches_decoded(
    store: LakeStore, catalog: LakeCatalog, published: dict[str, PartitionSpec], day: dt.date
) -> Verdict:
    """The catalog's published version of the day is the current decoded attempt and holds
    exactly its readings (counted through the catalog: the DuckDB view, or the Parquet objects
    under the Glue partition's location). `published` is `catalog.partitions(TABLE)`."""
    data = _manifest(store, DATA, day)
    if data is None:
        return _missing("decoded", day)
    problem, shown = catalog_differs(
        store, catalog, TABLE, data, published.get(date_to_path_value(day))
    )
    figures = {**shown, "decoded_rows": data.rows, "decoded_attempt": data.attempt}
    if problem:
        return Verdict(False, f"{day}: {problem} (the decoded day): {figures}", figures)
    return Verdict(True, f"{day}: published {data.rows:,} readings = decoded", figures)


ROLLUP_SUM_TOLERANCE = 1e-9  # of the summed magnitude: float sums added in another order
_RECOMPUTE_SQL = """
SELECT device_id, channel, unit, count(value) AS readings, count(*) - count(value) AS nulls,
       min(value) AS min, max(value) AS max, sum(value) AS sum,
       CASE WHEN count(value) > 0 THEN sum(value) / count(value) END AS mean,
       sum(value * value) AS sum_sq, min(ts) AS first_ts, max(ts) AS last_ts
FROM read_parquet(?) GROUP BY ALL
"""


def recompute_rollup(store: LakeStore, keys: list[str]) -> pa.Table:
    """The rollup of the readings files `keys` by another engine than the asset's (DuckDB's
    SQL aggregation over the Parquet files), sorted as the stored one."""
    import duckdb  # the check's engine, imported when a check runs

    if not keys:
        return ROLLUP_SCHEMA.empty_table()
    with ExitStack() as files, duckdb.connect() as conn:
        paths = [str(files.enter_context(store.reading(key))) for key in keys]
        got = conn.sql(_RECOMPUTE_SQL, params=[paths]).to_arrow_table()
    return got.cast(ROLLUP_SCHEMA).sort_by([(k, "ascending") for k in ROLLUP_SCHEMA.names[:3]])


def rollup_matches_readings(
    store: LakeStore, catalog: LakeCatalog, published: dict[str, PartitionSpec], day: dt.date
) -> Verdict:
    """The day's rollup accounts for the day's current readings exactly: the same groups, the
    same counts, min, max and timestamps to the last bit, made from the readings attempt it
    names; sums within 1e-9 of the summed magnitude (readings × the largest |value|). Checked
    against a recomputation from the readings files by another engine (DuckDB). And the
    catalog shows exactly that rollup. `published` is `catalog.partitions(ROLLUP)`."""
    stored = read_manifest(store, DayPath(DATA, day, ROLLUP))
    readings = read_manifest(store, DayPath(DATA, day))
    if stored is None or readings is None:
        return _missing(ROLLUP if stored is None else DATA, day)
    made_from = stored.stats.get("readings_attempt")
    if made_from != readings.attempt:
        return Verdict(
            False,
            f"{day}: the rollup was made from readings {made_from}, the day's are "
            f"{readings.attempt} — materialize reports_daily",
            {"rollup_of": made_from, "readings": readings.attempt},
        )
    want = recompute_rollup(store, [f.key for f in readings.files])
    batches = [
        pa.Table.from_batches([batch]).cast(ROLLUP_SCHEMA)
        for batch in iter_batches(store, [f.key for f in stored.files], columns=ROLLUP_SCHEMA.names)
    ]  # an empty day's one file holds no batch
    got = pa.concat_tables([ROLLUP_SCHEMA.empty_table(), *batches]).sort_by(
        [(k, "ascending") for k in ROLLUP_SCHEMA.names[:3]]
    )
    problems = []
    accounted = pc.sum(got["readings"]).as_py() or 0
    accounted += pc.sum(got["nulls"]).as_py() or 0
    if accounted != readings.rows:
        problems.append(f"accounts for {accounted:,} of {readings.rows:,} readings")
    exact = [n for n in ROLLUP_SCHEMA.names if n not in ("sum", "mean", "sum_sq")]
    if got.num_rows != want.num_rows or not got.select(exact).equals(want.select(exact)):
        problems.append("groups, counts, min, max or timestamps differ from a recomputation")
    else:
        problems += _sums_differ(got, want)
    problem, shown = catalog_differs(
        store, catalog, ROLLUP, stored, published.get(date_to_path_value(day))
    )
    if problem:
        problems.append(problem)
    figures = {"groups": got.num_rows, "readings": readings.rows, **shown}
    if problems:
        return Verdict(False, f"{day}: the rollup " + "; ".join(problems), figures)
    return Verdict(True, f"{day}: the rollup accounts for all {readings.rows:,} readings", figures)


def _sums_differ(got: pa.Table, want: pa.Table) -> list[str]:
    """The float figures further from the recomputation than the float error of adding the
    group's values in another order allows: 1e-9 of readings × max |value| for `sum` (a bound
    on the sum of |value|, so a sum that cancels to near zero is judged fairly), of that over
    readings for `mean`, and 1e-9 relative for `sum_sq` (a sum of squares never cancels)."""
    largest = pc.max_element_wise(pc.abs(want["min"]), pc.abs(want["max"]))
    magnitude = pc.multiply(pc.cast(want["readings"], pa.float64()), largest)
    allowed = {
        "sum": pc.multiply(magnitude, ROLLUP_SUM_TOLERANCE),
        "mean": pc.multiply(largest, ROLLUP_SUM_TOLERANCE),
        "sum_sq": pc.multiply(pc.abs(want["sum_sq"]), ROLLUP_SUM_TOLERANCE),
    }
    problems = []
    for name, tolerance in allowed.items():
        both_null = pc.and_(pc.is_null(got[name]), pc.is_null(want[name]))
        within = pc.less_equal(pc.abs(pc.subtract(got[name], want[name])), tolerance)
        close = pc.fill_null(pc.or_kleene(both_null, within), False)  # one null: not close
        if not pc.all(close, min_count=0).as_py():
            problems.append(f"{name} differs from a recomputation by more than float error")
    return problems
