"""The daily rollup of a day's readings: per device, channel and unit, how many readings and
missing samples, min, max, sum, mean, sum of squares, first and last timestamp.

Made from the day's readings files, batch by batch, in NumPy: a batch's rows are numbered by
their group (the device from its runs — rows are device-major — and channel and unit from the
Parquet dictionaries, read as such rather than as a string per row), then counted and summed
with `bincount` and their extremes taken with `minimum.at`/`maximum.at`, a handful of passes
over the batch without a per-row Python step. Each batch's partial result (one entry per
group) is folded into the day's at once, so memory grows with the day's groups (devices ×
channels), never with its readings; the day's files are folded side by side, one thread each
(NumPy and the Parquet reader release the GIL).

Counts, min, max and timestamps are exact; `sum` and `sum_sq` are float64 sums added in
another order than a single pass, so they may differ from one in the last few bits (the check,
`rollup_matches_readings`, recomputes them with DuckDB and allows 1e-9 of the summed
magnitude). `sum` and `readings` re-aggregate exactly into weekly and monthly means; `sum_sq`
gives the variance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake_assets.codec.format import TS_TYPE
from lake_assets.lake.parquet import iter_batches
from lake_assets.lake.store import LakeStore

ROLLUP = "reports_daily"  # the table: data/reports_daily/, the catalog's reports_daily
KEYS = ["device_id", "channel", "unit"]
ROLLUP_SCHEMA = pa.schema(
    [
        pa.field("device_id", pa.int64(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("unit", pa.string()),
        pa.field("readings", pa.int64(), nullable=False),  # non-null values
        pa.field("nulls", pa.int64(), nullable=False),  # missing samples
        pa.field("min", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("sum", pa.float64()),
        pa.field("mean", pa.float64()),
        pa.field("sum_sq", pa.float64()),
        pa.field("first_ts", TS_TYPE),
        pa.field("last_ts", TS_TYPE),
    ]
)
READ_COLUMNS = ["device_id", "channel", "unit", "value", "ts"]
DICTIONARY_COLUMNS = ["channel", "unit"]
BATCH_ROWS = 512 * 1024  # a row group of readings: ~40 MB of NumPy work arrays per thread
THREADS = 2
_I64 = np.iinfo(np.int64)

Key = tuple[int, str, str | None]


def roll_up_files(store: LakeStore, keys: list[str], threads: int = THREADS) -> pa.Table:
    """The rollup of the readings in the Parquet objects `keys`, one row per (device_id,
    channel, unit), sorted by them; the files are read and folded `threads` at a time."""
    day = _Day()
    lock = threading.Lock()

    def fold_file(key: str) -> None:
        for batch in _batches_of(
            iter_batches(store, [key], READ_COLUMNS, BATCH_ROWS, dictionaries=DICTIONARY_COLUMNS)
        ):
            part = _partial(batch)
            with lock:
                day.add(part)

    with ThreadPoolExecutor(max(1, min(threads, len(keys))), "rollup") as pool:
        for done in [pool.submit(fold_file, key) for key in keys]:
            done.result()
    return day.table()


def rollup(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    """The rollup of `batches` of readings (`READ_COLUMNS`; channel and unit as strings or
    dictionaries), one row per (device_id, channel, unit), sorted by them."""
    day = _Day()
    for batch in _batches_of(batches):
        day.add(_partial(batch))
    return day.table()


def _batches_of(batches: Iterable[pa.RecordBatch]) -> Iterable[pa.RecordBatch]:
    """The batches that hold rows (an empty day's file holds an empty one)."""
    return (batch for batch in batches if batch.num_rows)


@dataclass
class _Partial:
    """One batch's groups and their figures, entry for entry."""

    keys: list[Key]
    readings: np.ndarray
    nulls: np.ndarray
    sum: np.ndarray
    sum_sq: np.ndarray
    min: np.ndarray  # NaN where a group has no value
    max: np.ndarray
    first: np.ndarray  # epoch ms
    last: np.ndarray


def _partial(batch: pa.RecordBatch) -> _Partial:
    """The batch's groups and figures; a batch of at least one row (`_batches_of` skips the
    empty ones)."""
    n = batch.num_rows
    devices, device = _runs(batch["device_id"].to_numpy(zero_copy_only=False))
    channels, channel = _dictionary_codes(batch["channel"])
    units, unit = _dictionary_codes(batch["unit"])
    shape = (len(devices), len(channels), len(units))
    group = np.ravel_multi_index((device, channel, unit), shape)
    size = int(np.prod(shape))
    if size > 4 * n:  # big dictionaries, few of their combinations here: number those seen
        seen, group = np.unique(group, return_inverse=True)
        size = len(seen)
    else:
        seen = None

    value = batch["value"]
    values = value.to_numpy(zero_copy_only=False)  # a null is NaN here
    if value.null_count:
        valid = value.is_valid().to_numpy(zero_copy_only=False)
        summed = np.where(valid, values, 0.0)
        readings = np.bincount(group, weights=valid, minlength=size).astype(np.int64)
    else:
        summed = values
        readings = None
    rows = np.bincount(group, minlength=size)
    readings = rows if readings is None else readings
    sums = np.bincount(group, weights=summed, minlength=size)
    sums_sq = np.bincount(group, weights=summed * summed, minlength=size)
    low = np.full(size, np.nan)
    np.fmin.at(low, group, values)  # fmin/fmax skip the NaNs that stand for nulls
    high = np.full(size, np.nan)
    np.fmax.at(high, group, values)
    ts = pc.cast(batch["ts"].cast(TS_TYPE), pa.int64()).to_numpy(zero_copy_only=False)
    first = np.full(size, _I64.max)
    np.minimum.at(first, group, ts)
    last = np.full(size, _I64.min)
    np.maximum.at(last, group, ts)

    present = np.flatnonzero(rows)
    numbers = present if seen is None else seen[present]
    d, c, u = np.unravel_index(numbers, shape)
    keys = [
        (int(devices[i]), channels[j], units[k])
        for i, j, k in zip(d.tolist(), c.tolist(), u.tolist(), strict=True)
    ]
    return _Partial(
        keys,
        readings[present],
        rows[present] - readings[present],
        sums[present],
        sums_sq[present],
        low[present],
        high[present],
        first[present],
        last[present],
    )


def _runs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids and each row's number among them, found from the runs of equal ids
    (a device's readings come together, so a batch has few runs; any order stays correct)."""
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    distinct, of_run = np.unique(ids[starts], return_inverse=True)
    return distinct, np.repeat(of_run, np.diff(np.append(starts, len(ids))))


def _dictionary_codes(column: pa.Array) -> tuple[list[str | None], np.ndarray]:
    """A string column's distinct values (None last, for nulls) and each row's number."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    values = column.dictionary.to_pylist()
    indices = column.indices
    if column.null_count:
        indices = pc.fill_null(indices, len(values))
    return [*values, None], indices.to_numpy(zero_copy_only=False).astype(np.int64)


class _Day:
    """The figures of the groups seen so far, by key."""

    def __init__(self) -> None:
        self.number: dict[Key, int] = {}
        self.readings = np.zeros(0, np.int64)
        self.nulls = np.zeros(0, np.int64)
        self.sum = np.zeros(0)
        self.sum_sq = np.zeros(0)
        self.min = np.zeros(0)
        self.max = np.zeros(0)
        self.first = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)

    def add(self, part: _Partial) -> None:
        at = np.array(
            [self.number.setdefault(key, len(self.number)) for key in part.keys], np.int64
        )
        self._grow(len(self.number))
        self.readings[at] += part.readings  # a key appears once in a partial
        self.nulls[at] += part.nulls
        self.sum[at] += part.sum
        self.sum_sq[at] += part.sum_sq
        self.min[at] = np.fmin(self.min[at], part.min)
        self.max[at] = np.fmax(self.max[at], part.max)
        self.first[at] = np.minimum(self.first[at], part.first)
        self.last[at] = np.maximum(self.last[at], part.last)

    def _grow(self, size: int) -> None:
        more = size - len(self.readings)
        if more <= 0:
            return
        for name, fill in (
            ("readings", 0),
            ("nulls", 0),
            ("sum", 0.0),
            ("sum_sq", 0.0),
            ("min", np.nan),
            ("max", np.nan),
            ("first", _I64.max),
            ("last", _I64.min),
        ):
            old = getattr(self, name)
            setattr(self, name, np.concatenate([old, np.full(more, fill, old.dtype)]))

    def table(self) -> pa.Table:
        keys = list(self.number)
        none = self.readings == 0  # a group of missing samples only: no value figures
        mean = np.divide(self.sum, self.readings, out=np.zeros_like(self.sum), where=~none)
        table = pa.table(
            {
                "device_id": pa.array([k[0] for k in keys], pa.int64()),
                "channel": pa.array([k[1] for k in keys], pa.string()),
                "unit": pa.array([k[2] for k in keys], pa.string()),
                "readings": self.readings,
                "nulls": self.nulls,
                **{
                    name: pa.array(getattr(self, name), pa.float64(), mask=none)
                    for name in ("min", "max", "sum")
                },
                "mean": pa.array(mean, pa.float64(), mask=none),
                "sum_sq": pa.array(self.sum_sq, pa.float64(), mask=none),
                "first_ts": pa.array(self.first, pa.int64()).cast(TS_TYPE),
                "last_ts": pa.array(self.last, pa.int64()).cast(TS_TYPE),
            }
        )
        return table.cast(ROLLUP_SCHEMA).sort_by([(k, "ascending") for k in KEYS])
