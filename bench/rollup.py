"""The daily rollup's cost, and what it saves a query, at production scale.

1. Cost: `reports_daily`'s fold of a production day's readings (580 devices × 24 reports ×
   60 samples × 6 channels = 5,011,200 readings, written as `decoded_reports` writes them),
   best of --repeat, against decoding and writing the same day in the same run (the bulk of
   the marginal day; `bench/pipeline.py` measures the whole marginal day).
2. Query: "daily mean, min and max per device and channel over 30 production days", asked
   of the readings (`reports`) and of the rollup (`reports_daily`), both laid out as the lake
   lays them (Hive folders date=YYYYMMDD, zstd Parquet). For each: the bytes a scanning engine
   reads (the compressed column chunks of the columns the query names, summed from the
   footers: what Athena bills), DuckDB's time (best of 3) and the Athena price of one query
   ($5 per TB scanned, at least 10 MB per query). The two answers are compared too: the
   rollup's daily mean must equal the readings' within float error, min and max exactly.

Run: `make bench` or `python bench/rollup.py [--days 30] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from decoder import production_day

from lake_assets.codec import decode_reports
from lake_assets.core.days import date_to_path_value
from lake_assets.defs.reports.decoded import readings_writer
from lake_assets.defs.reports.rollup import ROLLUP_SCHEMA, roll_up_files
from lake_assets.lake.file_layout import FileLayout
from lake_assets.lake.parquet import PartWriter
from lake_assets.lake.store import LocalStore

FIRST_DAY = dt.date(2026, 1, 1)
DECODE_ROWS = 500  # reports per batch, as decoded_reports
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BYTES = 10 * 1024 * 1024
READINGS_SQL = """
SELECT date, device_id, channel, avg(value) AS mean, min(value) AS min, max(value) AS max
FROM read_parquet('{root}/data/reports/*/*.parquet', hive_partitioning = true)
GROUP BY ALL ORDER BY ALL"""
ROLLUP_SQL = """
SELECT date, device_id, channel, sum(sum) / sum(readings) AS mean, min(min) AS min,
       max(max) AS max
FROM read_parquet('{root}/data/reports_daily/*/*.parquet', hive_partitioning = true)
GROUP BY ALL ORDER BY ALL"""
READINGS_COLUMNS = {"device_id", "channel", "value"}
ROLLUP_COLUMNS = {"device_id", "channel", "sum", "readings", "min", "max"}


def best(seconds: list[float]) -> str:
    return f"{min(seconds) * 1000:.0f} ms (median {statistics.median(seconds) * 1000:.0f})"


def write_day(store: LocalStore, day: dt.date, reports: pa.RecordBatch) -> float:
    """Decode and write `day`'s readings as decoded_reports does; the seconds it took."""
    shift = pa.scalar((day - FIRST_DAY).days * 86_400_000, pa.int64())
    start = time.perf_counter()
    prefix = f"data/reports/date={date_to_path_value(day)}/"
    with readings_writer(store, prefix, FileLayout()) as writer:
        for at in range(0, reports.num_rows, DECODE_ROWS):
            batch = reports.slice(at, DECODE_ROWS)
            readings = decode_reports(batch["id"], batch["device_id"], batch["encoded"]).readings
            if shift.as_py():  # the same day's readings, moved to `day`
                ts = pc.cast(
                    pc.add(pc.cast(readings["ts"], pa.int64()), shift), readings["ts"].type
                )
                at_ts = readings.schema.get_field_index("ts")
                readings = readings.set_column(at_ts, readings.schema.field(at_ts), ts)
            writer.write(readings)
        writer.close()
    return time.perf_counter() - start


def roll_up_day(store: LocalStore, day: dt.date) -> float:
    keys = [f"data/reports/date={date_to_path_value(day)}/{p.name}" for p in day_files(store, day)]
    start = time.perf_counter()
    table = roll_up_files(store, keys)
    seconds = time.perf_counter() - start
    with PartWriter(
        store, f"data/reports_daily/date={date_to_path_value(day)}/", ROLLUP_SCHEMA
    ) as w:
        w.write(table)
        w.close()
    return seconds


def day_files(store: LocalStore, day: dt.date) -> list[Path]:
    return sorted(store.path(f"data/reports/date={date_to_path_value(day)}").glob("*.parquet"))


def scanned_bytes(root: Path, table: str, columns: set[str]) -> tuple[int, int]:
    """The compressed bytes of the column chunks a query of `columns` reads, and all bytes."""
    read = total = 0
    for path in sorted((root / "data" / table).glob("*/*.parquet")):
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                total += chunk.total_compressed_size
                if chunk.path_in_schema in columns:
                    read += chunk.total_compressed_size
    return read, total


def query(root: Path, sql: str) -> tuple[float, list[tuple]]:
    times, rows = [], []
    for _ in range(3):
        with duckdb.connect() as conn:
            start = time.perf_counter()
            rows = conn.sql(sql.format(root=root)).fetchall()
            times.append(time.perf_counter() - start)
    return min(times), rows


def athena_usd(scanned: int) -> float:
    return max(scanned, ATHENA_MIN_BYTES) / 1e12 * ATHENA_USD_PER_TB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    reports = production_day()
    with tempfile.TemporaryDirectory(prefix="bench-rollup-") as tmp:
        root = Path(tmp)
        store = LocalStore(tmp)
        days = [FIRST_DAY + dt.timedelta(days=i) for i in range(args.days)]
        writes = [write_day(store, day, reports) for day in days]
        folds = [roll_up_day(store, day) for day in days]
        for _ in range(args.repeat - 1):  # the first day again, warm, for a best-of
            folds.append(roll_up_day(store, days[0]))
        readings = sum(pq.ParquetFile(p).metadata.num_rows for p in day_files(store, days[0]))
        print(f"a production day: {readings:,} readings in {len(day_files(store, days[0]))} files")
        print(f"  decode and write the day (decoded_reports' work): {best(writes)}")
        print(f"  roll it up (reports_daily's fold):                 {best(folds)}")
        print(f"  the rollup / decoding and writing: {min(folds) / min(writes):.0%}")

        print(f"\ndaily mean, min and max per device and channel over {args.days} days:")
        print(
            f"{'':<16} {'rows':>12} {'bytes read':>12} {'of the table':>13} {'seconds':>8}"
            f" {'Athena $/query':>15}"
        )
        answers = {}
        for name, table, sql, columns in (
            ("reports", "reports", READINGS_SQL, READINGS_COLUMNS),
            ("reports_daily", "reports_daily", ROLLUP_SQL, ROLLUP_COLUMNS),
        ):
            read, total = scanned_bytes(root, table, columns)
            seconds, answers[name] = query(root, sql)
            rows = sum(
                pq.ParquetFile(p).metadata.num_rows
                for p in (root / "data" / table).glob("*/*.parquet")
            )
            print(
                f"{name:<16} {rows:>12,} {read / 1e6:>10.1f} MB {read / total:>12.0%} "
                f"{seconds:>8.3f} {athena_usd(read):>15.6f}"
            )
        full, rolled = answers["reports"], answers["reports_daily"]
        same = len(full) == len(rolled) and all(
            a[:3] == b[:3] and a[4:] == b[4:] and abs(a[3] - b[3]) <= 1e-9 * max(1.0, abs(a[3]))
            for a, b in zip(full, rolled, strict=True)
        )
        print(
            f"  the same answer ({len(full):,} rows: min and max exact, means within 1e-9): {same}"
        )
        if not same:
            raise SystemExit("the rollup's answer differs from the readings'")


if __name__ == "__main__":
    main()
