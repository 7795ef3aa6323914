"""The yardstick: the flow this project replaces, for one day, written as lean as its recipe
allows — and no leaner, and no slower.

Recipe: `pd.read_sql` of the day's rows → decode each report in pure Python (`Series.map`) →
`explode` → one long DataFrame → one Parquet file. Nothing else: no checks, no manifest, no
quarantine (a malformed report simply yields no readings), no catalog.

Every performance ratio `make bench` prints is taken against this, measured in the same run,
as a whole process. (A slower yardstick would flatter the project.)

usage: python bench/seed_peer.py --db NAME --date YYYY-MM-DD --out DIR
       [--host 127.0.0.1] [--port 3306] [--user root] [--password '']
"""

from __future__ import annotations

import argparse
import base64
import os
import struct
import warnings
import zlib

import pandas as pd
import pymysql

warnings.filterwarnings("ignore")  # pandas warns about a DBAPI connection that is not SQLAlchemy

# code → (channel name, unit, divisor): docs/sensor-pack-v1.md's channel table
CHANNELS = {
    1: ("temperature", "degC", 100),
    2: ("humidity", "pct_rh", 100),
    3: ("co2", "ppm", 1),
    4: ("tvoc", "ppb", 1),
    5: ("pm2_5", "ug_m3", 10),
    6: ("pressure", "hpa", 10),
    7: ("illuminance", "lux", 1),
    8: ("noise", "dba", 10),
}


def decode(encoded: str | bytes | None) -> list[tuple]:
    """One report → [(ts, channel, unit, value)], or [] when it is malformed."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except Exception:
        return []
    if len(raw) < 16 or zlib.crc32(raw[:-4]) != struct.unpack("<I", raw[-4:])[0]:
        return []
    version, flags, base_ts, interval_s, n_channels = struct.unpack_from("<BBIHB", raw, 0)
    if version != 1 or flags & ~1 or not n_channels or not interval_s or len(raw) < 15 + n_channels:
        return []
    channels = list(raw[9 : 9 + n_channels])
    (n_samples,) = struct.unpack_from("<H", raw, 9 + n_channels)
    width, fmt, missing = (4, "<i", -(2**31)) if flags & 1 else (2, "<h", -(2**15))
    offset = 11 + n_channels
    if len(set(channels)) != n_channels or len(raw) - 4 != offset + n_samples * n_channels * width:
        return []
    readings = []
    for sample in range(n_samples):
        ts = base_ts + sample * interval_s
        for code in channels:
            (value,) = struct.unpack_from(fmt, raw, offset)
            offset += width
            name, unit, divisor = CHANNELS.get(code, (f"code_{code}", None, 1))
            readings.append((ts, name, unit, None if value == missing else value / divisor))
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (
        ("host", "127.0.0.1"),
        ("port", "3306"),
        ("user", "root"),
        ("password", ""),
    ):
        parser.add_argument(f"--{name}", default=default)
    parser.add_argument("--db", required=True)
    parser.add_argument("--date", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    conn = pymysql.connect(
        host=args.host, port=int(args.port), user=args.user, password=args.password, db=args.db
    )
    day = pd.read_sql("SELECT * FROM reports WHERE date_start = %s", conn, params=(args.date,))
    day["decoded"] = day["encoded"].map(decode)
    day = day.drop(columns=["encoded"]).explode("decoded").dropna(subset=["decoded"])
    readings = pd.DataFrame(
        day["decoded"].tolist(), columns=["ts", "channel", "unit", "value"], index=day.index
    )
    out = pd.concat(
        [day[["id", "device_id"]].rename(columns={"id": "report_id"}), readings], axis=1
    )
    out["ts"] = pd.to_datetime(out["ts"], unit="s", utc=True)
    os.makedirs(args.out, exist_ok=True)
    out.to_parquet(os.path.join(args.out, f"{args.date}.parquet"), index=False)
    print(f"rows={len(out)}")


if __name__ == "__main__":
    main()
