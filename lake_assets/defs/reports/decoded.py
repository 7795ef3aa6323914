"""`decoded_reports`: one row per reading in data/, malformed reports in quarantine/.

Reads the raw zone (never MySQL), decodes batch by batch with the vectorised codec, and writes
each day as a new attempt of both zones. The quarantine switches at once; the readings become
visible through the table only when `reports_table` publishes them.
"""

import datetime as dt
import decimal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from lake_assets.codec import QUARANTINE_SCHEMA, READINGS_SCHEMA, decode_reports
from lake_assets.codec.ids import ids_to_numpy
from lake_assets.core.days import date_to_path_value
from lake_assets.core.errors import ExplainedFailure, only_transient_retried
from lake_assets.defs.lake import LakeResource
from lake_assets.defs.policies import DailyPolicy
from lake_assets.defs.steps.days import Progress, new_attempt, or_the_later_runs, run_days
from lake_assets.defs.steps.manifest_stats import DataStats, QuarantineStats, RawStats
from lake_assets.defs.steps.metadata import (
    column_schema,
    markdown_table,
    result_per_day,
    stored_columns,
)
from lake_assets.lake.accounting import Accounting
from lake_assets.lake.file_layout import FileLayout
from lake_assets.lake.parquet import PartWriter, iter_batches
from lake_assets.lake.retention import remove_unreferenced
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import (
    DATA,
    QUARANTINE,
    RAW,
    TABLE,
    DayManifest,
    DayPath,
    Superseded,
    new_attempt_id,
    read_decoded,
    read_manifest,
    switch_manifest,
)

# ~180k readings (~7 MB) per batch at production sizes: small enough to keep memory flat,
# large enough that per-batch overhead is noise.
DECODE_BATCH_ROWS = 500
READINGS_LANES = 2


def build_decoded_reports(daily: DailyPolicy) -> AssetsDefinition:
    return asset(
        name="decoded_reports",
        partitions_def=daily.partitions,
        backfill_policy=daily.backfill,
        retry_policy=daily.retry,
        deps=["raw_reports"],
        kinds={"python", "parquet"},
        group_name="reports",
        description="One row per sensor reading (sensor-pack v1 decoded), Parquet in "
        "data/reports/date=YYYYMMDD/; malformed reports with their reason in quarantine/.",
    )(only_transient_retried(decoded_reports))


def decoded_reports(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    store = lake.store()
    days = run_days(context)
    results = [decode_day(context, store, day, lake.layout()) for day in days]

    reasons: Counter[str] = Counter()
    for _, q in results:
        reasons.update(QuarantineStats.of(q).reasons)
    if reasons:
        context.log.warning(f"quarantined rows by reason: {dict(reasons)}")
    per_day = {
        day: _day_figures(store, day, data, quarantine)
        for day, (data, quarantine) in zip(days, results, strict=True)
    }
    return result_per_day(
        context, per_day, common={"dagster/column_schema": column_schema(results[-1][0].columns)}
    )


def _day_figures(
    store: LakeStore, day: dt.date, data: DayManifest, quarantine: DayManifest
) -> dict[str, object]:
    """A decoded day's own figures: the Plots tab charts `readings` and `quarantined`."""
    stats, q_stats = DataStats.of(data), QuarantineStats.of(quarantine)
    return {
        "dagster/row_count": data.rows,
        "dagster/partition_row_count": data.rows,
        "dagster/uri": MetadataValue.path(store.uri(DayPath(DATA, day).prefix)),
        "readings": data.rows,
        "raw_rows": stats.raw_rows,
        "quarantined": quarantine.rows,
        "quarantine_rate": quarantine.rows / stats.raw_rows if stats.raw_rows else 0.0,
        "quarantined_by_reason": MetadataValue.json(q_stats.reasons),
        "readings_by_channel": MetadataValue.json(stats.channels),
        "null_readings": stats.null_values,
        "bytes": data.bytes,
        "preview": markdown_table(stats.preview),
        "manifest": MetadataValue.path(store.uri(data.key)),
    }


def decode_day(
    context: AssetExecutionContext, store: LakeStore, day: dt.date, layout: FileLayout
) -> tuple[DayManifest, DayManifest]:
    """Decode the day's current raw extract into a new attempt of data/ and quarantine/, and
    switch both at once (the data manifest carries its quarantine); a later run's version of
    the day, if one got there first, is kept and returned."""
    return or_the_later_runs(
        context,
        f"decode {day}",
        lambda: _decode_day(context, store, day, layout),
        lambda: read_decoded(store, day),
    )


def _decode_day(
    context: AssetExecutionContext, store: LakeStore, day: dt.date, layout: FileLayout
) -> tuple[DayManifest, DayManifest]:
    raw = read_manifest(store, DayPath(RAW, day))
    if raw is None:
        raise ExplainedFailure(
            f"{day}: the raw zone has no data for this day — materialize raw_reports first"
        )
    data_path, q_path = DayPath(DATA, day), DayPath(QUARANTINE, day)
    attempt = new_attempt_id(context.run.run_id)
    progress = Progress(context.log, f"decode {day}", unit="readings")
    reasons: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    null_values = 0
    preview: list[dict[str, object]] = []
    accounting = Accounting()
    files_schema = layout.schema(READINGS_SCHEMA)

    with (
        new_attempt(store, day, [DATA, QUARANTINE], attempt),
        readings_writer(store, data_path.attempt_prefix(attempt), layout) as readings_out,
        PartWriter(
            store,
            q_path.attempt_prefix(attempt),
            QUARANTINE_SCHEMA,
            dictionary_columns=["reason"],
        ) as quarantine_out,
    ):
        keys = [f.key for f in raw.files]
        with _raw_replaced_meanwhile(store, day, raw):
            # the next batch is read and decompressed while this one is decoded
            batches = iter_batches(
                store, keys, ["id", "device_id", "encoded"], DECODE_BATCH_ROWS, read_ahead=True
            )
            for batch in batches:
                decoded = decode_reports(batch["id"], batch["device_id"], batch["encoded"])
                readings_out.write(layout.rows(decoded.readings, files_schema, day))
                quarantine_out.write(decoded.quarantine)
                accounting.add(
                    ids_to_numpy(batch["id"]),
                    decoded.expected,
                    ids_to_numpy(decoded.readings.column("report_id")),
                    ids_to_numpy(decoded.quarantine.column("report_id")),
                )
                reasons.update(decoded.reason_counts())
                channels.update(_channel_counts(decoded.readings))
                null_values += decoded.readings.column("value").null_count
                if not preview and decoded.readings.num_rows:
                    preview = _preview(decoded.readings)
                progress.add(decoded.readings.num_rows, batch.nbytes)
        data_files, q_files = readings_out.close(), quarantine_out.close()
        if problems := accounting.problems():  # never switched to: the last good day stays
            raise ExplainedFailure(f"decode {day}: the written rows do not add up: {problems}")

        common = {
            "table": TABLE,
            "date": date_to_path_value(day),
            "attempt": attempt,
            "run_id": context.run.run_id,
        }
        quarantine = DayManifest(
            zone=QUARANTINE,
            files=q_files,
            columns=stored_columns(QUARANTINE_SCHEMA),
            stats=QuarantineStats(raw.rows, raw.attempt, dict(reasons)).to_dict(),
            **common,
        )
        data = DayManifest(
            zone=DATA,
            files=data_files,
            columns=stored_columns(files_schema),
            stats=DataStats(
                raw_rows=raw.rows,
                raw_attempt=raw.attempt,
                source_fingerprint=RawStats.of(raw).fingerprint,
                channels=dict(channels),
                null_values=null_values,
                quarantined=sum(reasons.values()),
                preview=preview,
                accounting=accounting.to_dict(),
            ).to_dict(),
            linked=[quarantine],
            **common,
        )
        switch_manifest(store, data_path, data)

    _mirror_quarantine(context, store, q_path, quarantine)
    # Old data attempts are reports_table's to remove: one may still be the published version.
    remove_unreferenced(store, day, [QUARANTINE])
    context.log.info(
        f"decode {day}: {raw.rows:,} raw rows → {progress.summary()}; "
        f"{quarantine.rows:,} quarantined {dict(reasons) or ''}"
    )
    return data, quarantine


@contextmanager
def _raw_replaced_meanwhile(store: LakeStore, day: dt.date, raw: DayManifest) -> Iterator[None]:
    """A later run may re-extract the day while this one reads the raw attempt, and its
    retention then deletes that attempt. Reading fails; that is a retry (which reads the new
    raw extract), not a broken lake."""
    try:
        yield
    except Exception as e:
        now = read_manifest(store, DayPath(RAW, day))
        if now is None or now.attempt == raw.attempt:
            raise
        raise ExplainedFailure(
            f"decode {day}: the raw extract {raw.attempt} was replaced by a later run's "
            f"{now.attempt} while it was read; retrying on the new one",
            retryable=True,
        ) from e


def _mirror_quarantine(
    context: AssetExecutionContext, store: LakeStore, path: DayPath, quarantine: DayManifest
) -> None:
    """Point quarantine/'s own manifest at the attempt the data manifest switched to. The
    data manifest is the decoded day's truth; this mirror may lag behind it (a kill between
    the two writes, a later run already ahead), and the next run of the day brings it level."""
    try:
        switch_manifest(store, path, quarantine)
    except Superseded:
        pass
    except Exception as e:
        context.log.warning(f"{path.manifest_key} not updated ({e}); the data manifest is current")


def _channel_counts(readings: pa.Table) -> dict[str, int]:
    """Readings per channel, counted on the dictionary codes (no string per reading)."""
    out: dict[str, int] = {}
    for chunk in readings.column("channel").chunks:
        codes = chunk.indices.to_numpy(zero_copy_only=False)
        counts = np.bincount(codes, minlength=len(chunk.dictionary))
        for code in np.flatnonzero(counts):
            name = chunk.dictionary[int(code)].as_py()
            out[name] = out.get(name, 0) + int(counts[code])
    return out


def _preview(readings: pa.Table, rows: int = 5) -> list[dict[str, object]]:
    """The first readings of a day, JSON-safe, for the manifest and the UI."""
    head = readings.slice(0, rows).to_pylist()
    return [{k: _json_safe(v) for k, v in r.items()} for r in head]


def _json_safe(v: object) -> object:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    return int(v) if isinstance(v, decimal.Decimal) else v  # ids are decimal(20,0)


def readings_writer(store: LakeStore, prefix: str, layout: FileLayout) -> PartWriter:
    """The writer of a day's readings files (the table `reports`) under `prefix`."""
    files_schema = layout.schema(READINGS_SCHEMA)
    return PartWriter(
        store,
        prefix,
        files_schema,
        # a sensor's readings take few distinct values: as a dictionary, `value` is 38 %
        # smaller and cheaper to write than plain; report ids are nearly unique per row
        # group, where a dictionary only adds a hashing pass
        dictionary_columns=["device_id", "value"],
        # rows are device-major with ascending ts: these two prune row groups; every other
        # column spans the day in each row group (report ids too, as every device reports
        # all day), so its statistics would prune nothing and cost ~25 % of the write
        statistics_columns=layout.statistics(["device_id", "ts"], files_schema),
        # encoding a row group of readings costs about what decoding it does: two files
        # written side by side keep both cores on the day (one file for a small day)
        lanes=READINGS_LANES,
    )
