"""The daily rollup of a day's readings: per device, channel and unit, how many readings and
missing samples, min, max, sum, mean, sum of squares, first and last timestamp.

Computed batch by batch from the day's readings files (Arrow's hash aggregation), the partial
results folded together as they come, so memory grows with the day's groups (devices ×
channels), never with its readings. Counts, min, max and the timestamps are exact; `sum` and
`sum_sq` are float64 sums whose order of addition differs from a single pass by at most a few
units in the last place (the check allows 1e-9 relative). `sum` and `readings` re-aggregate
exactly into weekly and monthly means; `sum_sq` gives the variance.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from lake_assets.codec.format import TS_TYPE

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
FOLD_EVERY = 16  # partial results kept before they are folded together

# (column, how a batch aggregates it, how partial results fold) → the partial's column name
_PARTIAL = [
    ("value", "count", "sum", "readings"),
    ("value", "count_null", "sum", "nulls"),
    ("value", "min", "min", "min"),
    ("value", "max", "max", "max"),
    ("value", "sum", "sum", "sum"),
    ("value_sq", "sum", "sum", "sum_sq"),
    ("ts", "min", "min", "first_ts"),
    ("ts", "max", "max", "last_ts"),
]


def rollup(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    """The rollup of a day's readings (`READ_COLUMNS` of the readings schema), one row per
    (device_id, channel, unit), sorted by them."""
    partials: list[pa.Table] = []
    for batch in batches:
        if batch.num_rows:
            partials.append(_aggregate(batch))
        if len(partials) >= FOLD_EVERY:
            partials = [_fold(partials)]
    if not partials:
        return ROLLUP_SCHEMA.empty_table()
    folded = _fold(partials)
    mean = pc.if_else(
        pc.greater(folded["readings"], 0),
        pc.divide(folded["sum"], pc.cast(folded["readings"], pa.float64())),
        pa.scalar(None, pa.float64()),
    )
    table = folded.append_column("mean", mean).select(ROLLUP_SCHEMA.names)
    return table.cast(ROLLUP_SCHEMA).sort_by([(k, "ascending") for k in KEYS])


def _aggregate(batch: pa.RecordBatch) -> pa.Table:
    table = pa.Table.from_batches([batch]).select(READ_COLUMNS)
    table = pa.table(
        {
            "device_id": table["device_id"],
            "channel": table["channel"].cast(pa.string()),
            "unit": table["unit"].cast(pa.string()),
            "value": table["value"],
            "value_sq": pc.multiply(table["value"], table["value"]),
            "ts": table["ts"],
        }
    )
    aggregations = [
        (column, "count", pc.CountOptions(mode="only_null"))
        if how == "count_null"
        else (column, how)
        for column, how, _, _ in _PARTIAL
    ]
    return _named(table.group_by(KEYS, use_threads=False).aggregate(aggregations))


def _fold(partials: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(partials)
    return _named(
        table.group_by(KEYS, use_threads=False).aggregate(
            [(name, fold) for _, _, fold, name in _PARTIAL]
        )
    )


def _named(grouped: pa.Table) -> pa.Table:
    """A grouping's result with the partial's names: the keys, then the aggregates in
    `_PARTIAL`'s order (Arrow names them column_function, twice `value_count` here)."""
    by_position = grouped.columns
    if grouped.column_names[: len(KEYS)] == KEYS:  # keys first (Arrow ≥ 15), else last
        keys, aggregates = by_position[: len(KEYS)], by_position[len(KEYS) :]
    else:
        keys, aggregates = by_position[-len(KEYS) :], by_position[: -len(KEYS)]
    return pa.table([*keys, *aggregates], names=[*KEYS, *(p[3] for p in _PARTIAL)])
