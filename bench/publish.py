"""What publishing costs per day, Hive layout against Iceberg, at production scale.

For each table format, in a fresh local lake: one run of `--days` production days through
raw_reports, decoded_reports and reports_table (checks included), then `--reruns` re-runs of
single days in the middle of the range, as the late-data sensor would start them. Printed per
format: the reports_table step per day of the range run, the reports_table step of a one-day
re-run (publishing into a table that already holds the range), and decoded_reports per day (the
Iceberg layout writes µs timestamps and the date column).

Run: `make bench` or `python bench/publish.py [--days 7] [--reruns 3]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from pathlib import Path

from pipeline import DATABASE, FIRST_DAY, measure, ours_env, ready_instance, seed, step_seconds

ASSETS = "raw_reports,decoded_reports,reports_table"


def command(first: dt.date, last: dt.date) -> list[str]:
    return [
        sys.executable,
        *("-m", "dagster", "asset", "materialize", "-m", "lake_assets.definitions"),
        *("--select", ASSETS, "--partition-range", f"{first}...{last}"),
    ]


def run(table_format: str, lake: Path, home: Path, first: dt.date, last: dt.date) -> dict:
    env = ours_env(DATABASE, lake, home) | {"LAKE_TABLE_FORMAT": table_format}
    ready_instance(home)
    measure(command(first, last), env)
    return step_seconds(home)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args()
    seed(args.days)
    last = FIRST_DAY + dt.timedelta(days=args.days - 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for table_format in ("hive", "iceberg"):
            lake = tmp / f"lake-{table_format}"
            steps = run(table_format, lake, tmp / f"home-{table_format}", FIRST_DAY, last)
            publish_day = steps["reports_table"] / args.days
            decode_day = steps["decoded_reports"] / args.days
            reruns = []
            for i in range(args.reruns):
                day = FIRST_DAY + dt.timedelta(days=(args.days // 2 + i) % args.days)
                again = run(table_format, lake, tmp / f"home-{table_format}-{i}", day, day)
                reruns.append(again["reports_table"])
            rows.append((table_format, publish_day, statistics.median(reruns), decode_day))
    print(f"\n{args.days} production days as one run, then {args.reruns} one-day re-runs")
    print(f"{'format':<8} {'publish/day s':>14} {'re-run publish s':>17} {'decode/day s':>13}")
    for table_format, publish_day, rerun, decode_day in rows:
        print(f"{table_format:<8} {publish_day:>14.3f} {rerun:>17.3f} {decode_day:>13.3f}")


if __name__ == "__main__":
    main()
