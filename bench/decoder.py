"""Decoder benchmark: a production day (580 devices × 24 reports × 60 samples × 6 channels =
13,920 rows, 5,011,200 readings) already in memory as an Arrow batch, decoded by

  ours      lake_assets.codec.decode_reports (vectorised, NumPy over Arrow buffers)
  per-row   a straightforward pure-Python decoder of the same spec building the same tables

Each is timed (best and median of --repeat runs) in a fresh subprocess whose peak RSS above
its state before decoding is the "peak extra memory". Run: `make bench` or
`python bench/decoder.py [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa

from lake_assets.codec import QUARANTINE_SCHEMA, READINGS_SCHEMA, decode_reports
from lake_assets.codec.encode import INT16_MISSING, encode_report, frame
from lake_assets.codec.format import CHANNELS

DEVICES, REPORTS, SAMPLES, CHANNEL_CODES = 580, 24, 60, (1, 2, 3, 4, 5, 6)


def production_day(seed: int = 1) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    base = 1_767_225_600  # 2026-01-01T00:00:00Z
    ids, devices, encoded = [], [], []
    for d in range(DEVICES):
        for r in range(REPORTS):
            values = rng.integers(-3000, 3000, (SAMPLES, len(CHANNEL_CODES)))
            values[rng.random(values.shape) < 0.005] = INT16_MISSING
            encoded.append(encode_report(base + r * 3600 + d, 60, CHANNEL_CODES, values))
            ids.append(len(ids) + 1)
            devices.append(1000 + d)
    for k, bad in enumerate([None, "", "not base64!", frame(b"\x02" + bytes(12))]):
        encoded[k * 1000] = bad  # a few malformed rows, as in production
    return pa.RecordBatch.from_pydict(
        {
            "id": pa.array(ids, pa.int64()),
            "device_id": pa.array(devices, pa.int64()),
            "encoded": pa.array(encoded, pa.string()),
        }
    )


# -- the per-row reference (deliberately plain; not part of the package) ----------------------

_DICT = {c: (ch.name, ch.unit, ch.scale) for c, ch in CHANNELS.items()}


def per_row_decode(batch: pa.RecordBatch) -> tuple[pa.Table, pa.Table]:
    cols: dict[str, list] = {k: [] for k in READINGS_SCHEMA.names}
    bad: dict[str, list] = {k: [] for k in QUARANTINE_SCHEMA.names}
    for rid, dev, enc in zip(
        batch["id"].to_pylist(),
        batch["device_id"].to_pylist(),
        batch["encoded"].to_pylist(),
        strict=True,
    ):
        result = _one(enc)
        if isinstance(result, str):
            for k, v in zip(bad, (rid, dev, result, enc), strict=True):
                bad[k].append(v)
            continue
        for ts, name, unit, value in result:
            cols["report_id"].append(rid)
            cols["device_id"].append(dev)
            cols["ts"].append(ts * 1000)
            cols["channel"].append(name)
            cols["unit"].append(unit)
            cols["value"].append(value)
    readings = pa.table(
        {
            "report_id": pa.array(cols["report_id"], pa.int64()),
            "device_id": pa.array(cols["device_id"], pa.int64()),
            "ts": pa.array(cols["ts"], pa.int64()).cast(READINGS_SCHEMA.field("ts").type),
            "channel": pa.array(cols["channel"]).dictionary_encode(),
            "unit": pa.array(cols["unit"], pa.string()).dictionary_encode(),
            "value": pa.array(cols["value"], pa.float64()),
        }
    )
    return readings, pa.table(bad, schema=QUARANTINE_SCHEMA)


def _one(enc: str | None) -> list | str:
    if not enc:
        return "empty"
    if len(enc) % 4:
        return "base64"
    try:
        raw = base64.b64decode(enc, validate=True)
    except (binascii.Error, ValueError):
        return "base64"
    if len(raw) < 16:
        return "truncated"
    data = raw[:-4]
    if zlib.crc32(data) != struct.unpack("<I", raw[-4:])[0]:
        return "crc"
    if data[0] != 1:
        return "version"
    if data[1] & 0xFE:
        return "flags"
    n = data[8]
    if len(data) < 11 + n:
        return "length"
    base_ts, interval = struct.unpack_from("<IH", data, 2)
    chans = data[9 : 9 + n]
    if n == 0 or interval == 0 or len(set(chans)) != n:
        return "header"
    (ns,) = struct.unpack_from("<H", data, 9 + n)
    wide = data[1] & 1
    w = 4 if wide else 2
    if len(data) != 11 + n + ns * n * w:
        return "length"
    values = struct.unpack_from(f"<{ns * n}{'i' if wide else 'h'}", data, 11 + n)
    missing = -(2**31) if wide else -(2**15)
    out = []
    i = 0
    for s in range(ns):
        ts = base_ts + s * interval
        for c in chans:
            name, unit, scale = _DICT.get(c, (f"code_{c}", None, 1.0))
            v = values[i]
            i += 1
            out.append((ts, name, unit, None if v == missing else v / scale))
    return out


# -- measurement ------------------------------------------------------------------------------


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 1e6


def child(which: str, path: str, repeat: int) -> None:
    """Runs in a fresh process: time `repeat` decodes, report peak extra memory of the first."""
    with pa.memory_map(path) as source:
        batch = pa.ipc.open_file(source).get_batch(0)
        batch = pa.RecordBatch.from_arrays(
            [c.take(pa.array(range(len(c)))) for c in batch.columns], names=batch.schema.names
        )  # into RAM
    before = _rss_mb()
    times, peak = [], 0.0
    for _ in range(repeat):
        readings = quarantine = None  # free the previous result before the next decode
        t = time.perf_counter()
        if which == "ours":
            decoded = decode_reports(batch["id"], batch["device_id"], batch["encoded"])
            readings, quarantine = decoded.readings, decoded.quarantine
            del decoded
        else:
            readings, quarantine = per_row_decode(batch)
        times.append(time.perf_counter() - t)
        if len(times) == 1:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3 - before
    print(
        json.dumps(
            {
                "best": min(times),
                "median": statistics.median(times),
                "peak_extra_mb": peak,
                "readings": readings.num_rows,
                "quarantined": quarantine.num_rows,
                "output_mb": readings.nbytes / 1e6,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.repeat)
        return
    print("generating a production day …", flush=True)
    batch = production_day()
    text_mb = batch["encoded"].nbytes / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/day.arrow"
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
            writer.write_batch(batch)
        results = {}
        for which, repeat in (("ours", args.repeat), ("per-row", max(1, args.repeat // 2))):
            out = subprocess.run(
                [sys.executable, __file__, "--repeat", str(repeat), "--child", which, path],
                check=True,
                capture_output=True,
                text=True,
            )
            results[which] = json.loads(out.stdout)
    rows = batch.num_rows
    print(f"input: {rows:,} rows, {text_mb:.1f} MB of base64 text\n")
    print(
        f"{'decoder':<9} {'best s':>7} {'median s':>9} {'rows/s':>11} {'readings/s':>12} "
        f"{'peak extra MB':>14} {'output MB':>10}"
    )
    for which, r in results.items():
        print(
            f"{which:<9} {r['best']:>7.3f} {r['median']:>9.3f} {rows / r['best']:>11,.0f} "
            f"{r['readings'] / r['best']:>12,.0f} {r['peak_extra_mb']:>14.0f} "
            f"{r['output_mb']:>10.0f}"
        )
    ours, ref = results["ours"], results["per-row"]
    assert ours["readings"] == ref["readings"] and ours["quarantined"] == ref["quarantined"]
    print(
        f"\nreadings {ours['readings']:,}, quarantined {ours['quarantined']}; "
        f"speed-up ×{ref['best'] / ours['best']:.1f}; "
        f"peak extra / output = {ours['peak_extra_mb'] / ours['output_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
