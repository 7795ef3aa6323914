"""Realistic synthetic `reports` rows for the demo, tests and benchmarks.

Each device sends one report an hour with 60 one-minute samples of 6 channels (some devices
have 8, one speaks a channel code the pipeline doesn't know, one needs wide int32 values);
about 0.5 % of samples are missing; each day also gets a few malformed rows, so the
quarantine has something to show. Output is deterministic for a given seed and day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pymysql

from lake_assets.codec.encode import INT16_MISSING, INT32_MISSING, encode_report, frame

REPORTS_DDL = """
CREATE TABLE IF NOT EXISTS reports (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  device_id   INT UNSIGNED NOT NULL,
  date_start  DATE NOT NULL,
  created_at  DATETIME(3) NOT NULL,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  encoded     MEDIUMTEXT NULL,
  KEY idx_reports_date_start (date_start),
  KEY idx_reports_updated_at (updated_at)
)
"""

BASE_CHANNELS = (1, 2, 3, 4, 5, 6)
ALL_CHANNELS = (1, 2, 3, 4, 5, 6, 7, 8)
UNKNOWN_CHANNELS = (1, 2, 42)  # newer firmware: code 42 is not in the spec's table yet


@dataclass(frozen=True)
class SourceRow:
    device_id: int
    date_start: dt.date
    created_at: dt.datetime
    encoded: str | None


def generate_day(
    day: dt.date,
    devices: int,
    *,
    seed: int = 7,
    reports_per_day: int = 24,
    samples: int = 60,
    malformed: int = 5,
) -> Iterator[SourceRow]:
    """The rows of one day: `devices × reports_per_day` reports plus `malformed` bad ones."""
    rng = np.random.default_rng([seed, day.toordinal()])
    midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
    step = 86_400 // reports_per_day
    interval = max(1, step // samples)
    for d in range(devices):
        device_id = 1000 + d
        channels = _channels_of(d)
        for r in range(reports_per_day):
            base = midnight + dt.timedelta(seconds=r * step + d % 30)
            raw = _raw_values(
                rng, channels, samples, base, interval, wide=(d % 17 == 5), warmth=_warmth(d)
            )
            encoded = encode_report(int(base.timestamp()), interval, channels, raw)
            created = base + dt.timedelta(seconds=step, milliseconds=int(rng.integers(0, 60_000)))
            yield SourceRow(device_id, day, created, encoded)
    for k in range(malformed):
        yield SourceRow(1000 + k % max(devices, 1), day, midnight, _malformed(k, midnight))


def _channels_of(device: int) -> tuple[int, ...]:
    if device % 10 == 9:
        return ALL_CHANNELS
    if device % 23 == 11:
        return UNKNOWN_CHANNELS
    return BASE_CHANNELS


def _warmth(device: int) -> float:
    """Each site (devices.site is SITES[device % 5]) has its own climate, °C above or below 21;
    balanced, so the fleet's mean stays 21 °C."""
    return SITE_WARMTH[device % len(SITE_WARMTH)]


def _raw_values(
    rng: np.random.Generator,
    channels: tuple[int, ...],
    samples: int,
    base: dt.datetime,
    interval: int,
    *,
    wide: bool,
    warmth: float = 0.0,
) -> np.ndarray:
    hours = (base.hour + base.minute / 60) + np.arange(samples) * interval / 3600
    daily = np.sin((hours - 9) / 24 * 2 * np.pi)
    columns = []
    for code in channels:
        noise = rng.normal(0, 1, samples)
        if code == 1:  # temperature, °C × 100
            v = (21 + warmth + 3 * daily + 0.2 * noise) * 100
        elif code == 2:  # humidity, % × 100
            v = (45 - 8 * daily + noise) * 100
        elif code == 3:  # CO2, ppm
            v = 600 + 250 * np.clip(daily, 0, None) + 20 * noise
        elif code == 4:  # TVOC, ppb
            v = 120 + 60 * np.clip(daily, 0, None) + 10 * noise
        elif code == 5:  # PM2.5, µg/m³ × 10
            v = (12 + 3 * noise).clip(0) * 10
        elif code == 6:  # pressure, hPa × 10
            v = (1013 + 0.5 * noise) * 10
        elif code == 7:  # illuminance, lux; wide devices see direct sunlight
            v = np.clip(daily, 0, None) * (80_000 if wide else 2_000) + 5 * noise
        elif code == 8:  # noise, dBA × 10
            v = (45 + 8 * np.clip(daily, 0, None) + 2 * noise) * 10
        else:
            v = 100 * noise
        columns.append(np.round(v))
    values = np.stack(columns, axis=1).astype(np.int64)
    missing = rng.random(values.shape) < 0.005
    values[missing] = INT32_MISSING if wide else INT16_MISSING
    return values


def _malformed(k: int, midnight: dt.datetime) -> str | None:
    """Deliberately bad messages, one kind per k: the quarantine's demo material."""
    good = encode_report(int(midnight.timestamp()), 60, (1, 2), [[2100, 4500], [2101, 4499]])
    kinds = [
        None,  # empty
        good[:-6] + "!!!!!!",  # base64
        good[:12],  # truncated
        good[:-8] + ("AAAAAAA=" if not good.endswith("AAAAAAA=") else "BBBBBBB="),  # crc
        frame(b"\x02" + bytes(12)),  # version
    ]
    return kinds[k % len(kinds)]


# -- MySQL ------------------------------------------------------------------------------------


# Created beside `reports` in every database the demo creates: seeding deletes rows, so it
# refuses a database without it (a real source, named by mistake in MYSQL_DATABASE).
MARKER_TABLE = "lake_assets_demo"


class NotADemoDatabase(RuntimeError):
    pass


def ensure_schema(
    conn: pymysql.connections.Connection, database: str, *, force: bool = False
) -> None:
    """Create the demo database, its `reports` table and its marker; an existing database
    with tables but no marker is refused unless `force`."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*), SUM(TABLE_NAME = %s) FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = %s",
            (MARKER_TABLE, database),
        )
        tables, marked = cur.fetchone()
        if tables and not marked and not force:
            raise NotADemoDatabase(
                f"database `{database}` exists and was not created by `lake-assets demo seed`, "
                "which deletes and rewrites rows of `reports`: it was left untouched. Set "
                "MYSQL_DATABASE to another name, or pass --force if it really is a demo copy"
            )
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        cur.execute(f"USE `{database}`")
        cur.execute(REPORTS_DDL)
        cur.execute(DEVICES_DDL)
        cur.execute(DEVICE_EVENTS_DDL)
        cur.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (created_at DATETIME)")


# Two tables the demo's copies file copies as they are (lake_assets/demo/copies.yaml).
DEVICES_DDL = """
CREATE TABLE IF NOT EXISTS devices (
  device_id   INT UNSIGNED NOT NULL PRIMARY KEY,
  site        VARCHAR(64) NOT NULL,
  model       VARCHAR(32) NOT NULL,
  installed   DATE NOT NULL
)"""
DEVICE_EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS device_events (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  device_id   INT UNSIGNED NOT NULL,
  event_time  DATETIME(3) NOT NULL,
  kind        ENUM('boot', 'battery_low', 'calibrated') NOT NULL,
  detail      JSON,
  KEY (event_time)
)"""
SITES = ("Hamburg harbour", "Köln Dom", "München Nord", "Zürich See", "Wien Prater")
SITE_WARMTH = (-1.5, -0.5, 0.0, 0.5, 1.5)  # by site, in the order of SITES
MODELS = ("SP-6", "SP-6w", "SP-3")


def replace_devices(conn: pymysql.connections.Connection, devices: int) -> int:
    """The device inventory: one row per device id the reports use."""
    rows = [
        (1000 + d, SITES[d % len(SITES)], MODELS[d % len(MODELS)], dt.date(2020, 1 + d % 12, 1))
        for d in range(devices)
    ]
    with conn.cursor() as cur:
        cur.execute("DELETE FROM devices")
        cur.executemany(
            "INSERT INTO devices (device_id, site, model, installed) VALUES (%s, %s, %s, %s)",
            rows,
        )
    conn.commit()
    return len(rows)


def replace_events(conn: pymysql.connections.Connection, days: list[dt.date], devices: int) -> int:
    """A boot each day per device, and a few other events; times are UTC."""
    inserted = 0
    with conn.cursor() as cur:
        for day in days:
            start = dt.datetime.combine(day, dt.time(0))
            cur.execute(
                "DELETE FROM device_events WHERE event_time >= %s AND event_time < %s",
                (start, start + dt.timedelta(days=1)),
            )
            rows = []
            for d in range(devices):
                at = start + dt.timedelta(minutes=7 * d, milliseconds=d)
                rows.append((1000 + d, at, "boot", '{"firmware": "1.4.2"}'))
                if d % 4 == day.toordinal() % 4:
                    rows.append(
                        (
                            1000 + d,
                            at + dt.timedelta(hours=9),
                            "battery_low",
                            '{"volts": %.2f}' % (3.1 + d / 100),
                        )
                    )
            cur.executemany(
                "INSERT INTO device_events (device_id, event_time, kind, detail)"
                " VALUES (%s, %s, %s, %s)",
                rows,
            )
            inserted += len(rows)
    conn.commit()
    return inserted


def replace_days(
    conn: pymysql.connections.Connection,
    days: list[dt.date],
    devices: int,
    *,
    seed: int = 7,
    chunk: int = 2000,
) -> int:
    """Replace the source rows of `days` with freshly generated ones; returns rows inserted."""
    inserted = 0
    with conn.cursor() as cur:
        for day in days:
            cur.execute("DELETE FROM reports WHERE date_start = %s", (day,))
            batch: list[tuple[object, ...]] = []
            for row in generate_day(day, devices, seed=seed):
                batch.append(
                    (
                        row.device_id,
                        row.date_start,
                        row.created_at.replace(tzinfo=None),
                        row.encoded,
                    )
                )
                if len(batch) >= chunk:
                    inserted += _insert(cur, batch)
                    batch = []
            inserted += _insert(cur, batch)
            conn.commit()
    return inserted


def _insert(cur: pymysql.cursors.Cursor, rows: list[tuple[object, ...]]) -> int:
    if rows:
        cur.executemany(
            "INSERT INTO reports (device_id, date_start, created_at, encoded)"
            " VALUES (%s, %s, %s, %s)",
            rows,
        )
    return len(rows)
