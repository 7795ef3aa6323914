"""Extraction strategy for a range run: one streamed `date_start BETWEEN` query split by day
on the client, or one query per day (each in its own consistent snapshot)? Both stream the
same production rows through pymysql's unbuffered cursor and its own row parsing (the
strategies are compared, not the parsers; the pipeline parses rows with mysql_rows.py).

Run after `bench/pipeline.py` has seeded `lake_bench`: `python bench/extract_query.py [--days 7]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import pymysql
from pipeline import DATABASE, FIRST_DAY, mysql_params

from lake_assets.source.types import TEXT_DECODERS

COLUMNS = "id, device_id, date_start, created_at, updated_at, encoded"


def connect() -> pymysql.connections.Connection:
    return pymysql.connect(
        **mysql_params(),
        database=DATABASE,
        conv=TEXT_DECODERS,
        cursorclass=pymysql.cursors.SSCursor,
    )


def per_day(days: list[dt.date]) -> int:
    rows = 0
    for day in days:
        conn = connect()
        with conn.cursor() as cur:
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            cur.execute(f"SELECT {COLUMNS} FROM reports WHERE date_start = %s ORDER BY id", (day,))
            while batch := cur.fetchmany(5000):
                rows += len(batch)
        conn.close()
    return rows


def one_query(days: list[dt.date]) -> int:
    rows, current = 0, None
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cur.execute(
            f"SELECT {COLUMNS} FROM reports WHERE date_start BETWEEN %s AND %s"
            " ORDER BY date_start, id",
            (days[0], days[-1]),
        )
        while batch := cur.fetchmany(5000):
            for row in batch:  # the split by day a client would do
                if row[2] != current:
                    current = row[2]
            rows += len(batch)
    conn.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    n = parser.parse_args()
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(n.days)]
    for name, fn in (("one query per day", per_day), ("one query per range", one_query)):
        times = []
        for _ in range(n.repeat):
            started = time.perf_counter()
            rows = fn(days)
            times.append(time.perf_counter() - started)
        print(
            f"{name:<22} best {min(times):.2f}s for {rows:,} rows ({min(times) / n.days:.3f} s/day)"
        )


if __name__ == "__main__":
    main()
