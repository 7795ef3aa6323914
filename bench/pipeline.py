"""Pipeline benchmark at production scale: 580 devices × 24 reports × 60 samples × 6 channels
= 13,920 rows and 5,011,200 readings a day, in MySQL database `lake_bench`.

Measures, each in its own process (wall seconds and peak RSS of that process):
  old      the flow we replace: pd.read_sql + per-row decode + explode + to_parquet, one day
  floor    streaming the same day's rows through pymysql's unbuffered cursor, nothing else
  ours-1   `dagster asset materialize` of the three assets (and their checks), one day
  ours-N   the same for N days (default 7) as one single-run range

Run: `make bench` or `python bench/pipeline.py [--days 7] [--keep-source]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pymysql

from lake_assets.codec.encode import INT16_MISSING, encode_report
from lake_assets.demo.seed import ensure_schema

DEVICES, REPORTS, SAMPLES, CHANNELS = 580, 24, 60, (1, 2, 3, 4, 5, 6)
DATABASE = "lake_bench"
FIRST_DAY = dt.date(2026, 1, 1)
REPO = Path(__file__).resolve().parents[1]


def mysql_params() -> dict:
    return {
        "host": os.environ.get("MYSQL_HOST") or "127.0.0.1",
        "port": int(os.environ.get("MYSQL_PORT") or 3306),
        "user": os.environ.get("MYSQL_USER") or "root",
        "password": os.environ.get("MYSQL_PASSWORD") or "",
    }


def seed(days: int) -> None:
    """Production-shaped rows for `days` days (kept between runs when already there)."""
    conn = pymysql.connect(**mysql_params(), autocommit=False)
    ensure_schema(conn, DATABASE)
    rng = np.random.default_rng(7)
    with conn.cursor() as cur:
        for i in range(days):
            day = FIRST_DAY + dt.timedelta(days=i)
            cur.execute("SELECT COUNT(*) FROM reports WHERE date_start = %s", (day,))
            if cur.fetchone()[0] == DEVICES * REPORTS:
                continue
            cur.execute("DELETE FROM reports WHERE date_start = %s", (day,))
            midnight = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
            rows = []
            for d in range(DEVICES):
                for r in range(REPORTS):
                    values = rng.integers(-3000, 3000, (SAMPLES, len(CHANNELS)))
                    values[rng.random(values.shape) < 0.005] = INT16_MISSING
                    base = midnight + r * 3600 + d % 60
                    created = dt.datetime.fromtimestamp(base + 3600, dt.UTC).replace(tzinfo=None)
                    rows.append((1000 + d, day, created, encode_report(base, 60, CHANNELS, values)))
            for k in range(0, len(rows), 2000):
                cur.executemany(
                    "INSERT INTO reports (device_id, date_start, created_at, encoded)"
                    " VALUES (%s, %s, %s, %s)",
                    rows[k : k + 2000],
                )
            conn.commit()
            print(f"  seeded {day}", flush=True)
    conn.close()


# -- the contestants (each runs as `python bench/pipeline.py --run NAME …`) -------------------


def run_old(day: dt.date, out: Path) -> int:
    """The Prefect flow's core, as it was: pandas, a per-row decode, explode, to_parquet."""
    import base64
    import struct
    import zlib

    import pandas as pd

    from lake_assets.codec.format import CHANNELS as TABLE

    def decode(encoded: str | None) -> list:
        try:
            raw = base64.b64decode(encoded, validate=True)
            data, (crc,) = raw[:-4], struct.unpack("<I", raw[-4:])
            if zlib.crc32(data) != crc:
                return []
            base_ts, interval, n = struct.unpack_from("<IHB", data, 2)
            chans = data[9 : 9 + n]
            (ns,) = struct.unpack_from("<H", data, 9 + n)
            wide = data[1] & 1
            values = struct.unpack_from(f"<{ns * n}{'i' if wide else 'h'}", data, 11 + n)
            out, i = [], 0
            for s in range(ns):
                for c in chans:
                    ch = TABLE.get(c)
                    v = values[i]
                    i += 1
                    out.append(
                        (
                            base_ts + s * interval,
                            ch.name if ch else f"code_{c}",
                            ch.unit if ch else None,
                            None if v == -32768 else v / (ch.scale if ch else 1),
                        )
                    )
            return out
        except Exception:
            return []

    conn = pymysql.connect(**mysql_params(), database=DATABASE)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = pd.read_sql("SELECT * FROM reports WHERE date_start = %s", conn, params=[day])
    df["readings"] = df["encoded"].map(decode)
    df = df.explode("readings").dropna(subset=["readings"])
    parts = pd.DataFrame(
        df["readings"].tolist(), columns=["ts", "channel", "unit", "value"], index=df.index
    )
    readings = pd.concat([df[["id", "device_id"]], parts], axis=1)
    readings["ts"] = pd.to_datetime(readings["ts"], unit="s", utc=True)
    readings.to_parquet(out / f"reports_{time.time_ns()}.parquet")
    return len(readings)


def run_floor(day: dt.date) -> int:
    conn = pymysql.connect(
        **mysql_params(), database=DATABASE, cursorclass=pymysql.cursors.SSCursor
    )
    n = 0
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM reports WHERE date_start = %s ORDER BY id", (day,))
        while rows := cur.fetchmany(5000):
            n += len(rows)
    return n


def run_ours(first: dt.date, last: dt.date, lake: Path, home: Path) -> None:
    env = {
        **os.environ,
        "MYSQL_DATABASE": DATABASE,
        "LAKE_ROOT": str(lake),
        "DAGSTER_HOME": str(home),
        "LAKE_START_DATE": "2025-01-01",
    }
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "asset",
        "materialize",
        "-m",
        "lake_assets.definitions",
        "--select",
        "raw_reports,decoded_reports,reports_table",
        "--partition-range",
        f"{first}...{last}",
    ]
    subprocess.run(
        cmd, env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a child process, from wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{args} failed ({status})")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        name, *rest = args.run
        if name == "old":
            run_old(dt.date.fromisoformat(rest[0]), Path(rest[1]))
        elif name == "floor":
            run_floor(dt.date.fromisoformat(rest[0]))
        else:
            run_ours(
                dt.date.fromisoformat(rest[0]),
                dt.date.fromisoformat(rest[1]),
                Path(rest[2]),
                Path(rest[3]),
            )
        return

    print(f"seeding {args.days} production days into {DATABASE} (kept between runs) …")
    seed(args.days)
    last = FIRST_DAY + dt.timedelta(days=args.days - 1)
    readings_day = DEVICES * REPORTS * SAMPLES * len(CHANNELS)
    results: dict[str, tuple[float, float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "old").mkdir()
        for home in ("h1", "hn"):
            (t / home).mkdir()
            (t / home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        results["old (1 day)"] = (
            *measure(["--run", "old", str(FIRST_DAY), str(t / "old")]),
            readings_day,
        )
        results["floor (1 day)"] = (*measure(["--run", "floor", str(FIRST_DAY)]), readings_day)
        results["ours (1 day)"] = (
            *measure(
                ["--run", "ours", str(FIRST_DAY), str(FIRST_DAY), str(t / "lake1"), str(t / "h1")]
            ),
            readings_day,
        )
        results[f"ours ({args.days} days)"] = (
            *measure(["--run", "ours", str(FIRST_DAY), str(last), str(t / "lakeN"), str(t / "hn")]),
            readings_day * args.days,
        )

    print(f"\n{'':<16} {'seconds':>8} {'readings/s':>12} {'peak RSS MB':>12}")
    for name, (seconds, rss, readings) in results.items():
        print(f"{name:<16} {seconds:>8.2f} {readings / seconds:>12,.0f} {rss:>12.0f}")
    old = results["old (1 day)"]
    one = results["ours (1 day)"]
    many = results[f"ours ({args.days} days)"]
    marginal = (many[0] - one[0]) / (args.days - 1)
    summary = {
        "marginal_s_per_day": round(marginal, 2),
        "marginal_vs_old_day": round(marginal / old[0], 3),
        "one_day_vs_old": round(one[0] / old[0], 3),
        "rss_n_days_mb": round(many[1]),
        "rss_n_vs_1": round(many[1] / one[1], 3),
    }
    print("\n" + json.dumps(summary, indent=2))
    print(
        "targets: marginal_vs_old_day ≤ 0.1, one_day_vs_old < 1, rss_n_days_mb ≤ 400, "
        "rss_n_vs_1 ≤ 1.25"
    )


if __name__ == "__main__":
    main()
