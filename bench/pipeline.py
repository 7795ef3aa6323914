"""Pipeline benchmark at production scale, against the lean peer, in the same run.

A production day: 580 devices × 24 reports × 60 samples × 6 channels = 13,920 rows and
5,011,200 readings, in MySQL database `lake_bench` (seeded once, kept between runs); the 10×
day (139,200 rows, 50 M readings) lives in `lake_bench_10x`.

Each contestant is a whole process; its time is wall seconds and its memory the peak of the
RSS summed over its whole process tree (sampled every 20 ms, and never below the largest
single process's peak from wait4):
  peer       bench/seed_peer.py: pd.read_sql + per-row decode + explode + one Parquet file,
             run from its own virtualenv (bench/peer_env.py: the project has no pandas)
  peer (shared)  ../shared/bench/seed_peer.py, the same recipe, when that folder exists
  floor      streaming the day's rows through pymysql's unbuffered cursor, nothing else
  ours-N     `dagster asset materialize --select raw_reports,decoded_reports` (and their
             checks) of N days as one run: 1, 7 and 30 days, and the 10× day
The one-day contestants run 3 times each (`--repeat`), interleaved, and the fastest counts;
each of ours runs on an instance whose storage already exists, as a deployment's does.
Every ratio is taken against the faster of the peers in this run (a slower yardstick would
flatter the project). The marginal day is (30 days − 1 day) / 29; the per-stage breakdown
of the marginal day comes from the runs' own step timings (Dagster's event log).

Run: `make bench` or `python bench/pipeline.py [--days 7] [--long-days 30] [--no-10x]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pymysql
from peer_env import peer_python

from lake_assets.codec.encode import INT16_MISSING, encode_report
from lake_assets.demo.seed import ensure_schema

DEVICES, REPORTS, SAMPLES, CHANNELS = 580, 24, 60, (1, 2, 3, 4, 5, 6)
DATABASE = "lake_bench"
DATABASE_10X = "lake_bench_10x"
SHARED_PEER = Path(__file__).resolve().parents[2] / "shared" / "bench" / "seed_peer.py"
FIRST_DAY = dt.date(2026, 1, 1)
REPO = Path(__file__).resolve().parents[1]


def mysql_params() -> dict:
    return {
        "host": os.environ.get("MYSQL_HOST") or "127.0.0.1",
        "port": int(os.environ.get("MYSQL_PORT") or 3306),
        "user": os.environ.get("MYSQL_USER") or "root",
        "password": os.environ.get("MYSQL_PASSWORD") or "",
    }


def seed(days: int, database: str = DATABASE, devices: int = DEVICES) -> None:
    """Production-shaped rows for `days` days (kept between runs when already there)."""
    conn = pymysql.connect(**mysql_params(), autocommit=False)
    ensure_schema(conn, database)
    rng = np.random.default_rng(7)
    with conn.cursor() as cur:
        for i in range(days):
            day = FIRST_DAY + dt.timedelta(days=i)
            cur.execute("SELECT COUNT(*) FROM reports WHERE date_start = %s", (day,))
            if cur.fetchone()[0] == devices * REPORTS:
                continue
            cur.execute("DELETE FROM reports WHERE date_start = %s", (day,))
            midnight = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
            rows = []
            for d in range(devices):
                for r in range(REPORTS):
                    values = rng.integers(-3000, 3000, (SAMPLES, len(CHANNELS)))
                    values[rng.random(values.shape) < 0.005] = INT16_MISSING
                    base = midnight + r * 3600 + d % 60
                    created = dt.datetime.fromtimestamp(base + 3600, dt.UTC).replace(tzinfo=None)
                    rows.append((1000 + d, day, created, encode_report(base, 60, CHANNELS, values)))
                if len(rows) >= 20_000 or d == devices - 1:
                    for k in range(0, len(rows), 2000):
                        cur.executemany(
                            "INSERT INTO reports (device_id, date_start, created_at, encoded)"
                            " VALUES (%s, %s, %s, %s)",
                            rows[k : k + 2000],
                        )
                    rows = []
            conn.commit()
            print(f"  seeded {database} {day}", flush=True)
    conn.close()


# -- the contestants (each runs as `python bench/pipeline.py --run NAME …`) -------------------


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


def ours_command(first: dt.date, last: dt.date) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dagster",
        "asset",
        "materialize",
        "-m",
        "lake_assets.definitions",
        "--select",
        "raw_reports,decoded_reports",
        "--partition-range",
        f"{first}...{last}",
    ]


def ours_env(database: str, lake: Path, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "MYSQL_DATABASE": database,
        "LAKE_ROOT": str(lake),
        "DAGSTER_HOME": str(home),
        "LAKE_START_DATE": "2025-01-01",
    }
    env.pop("LAKE_COPIES", None)
    return env


def peer_command(peer: Path, database: str, out: Path) -> list[str]:
    p = mysql_params()
    return [
        str(peer_python()),
        str(peer),
        *("--host", p["host"], "--port", str(p["port"]), "--user", p["user"]),
        *("--password", p["password"], "--db", database),
        *("--date", str(FIRST_DAY), "--out", str(out)),
    ]


# -- measuring a whole process tree -------------------------------------------------------------


class TreeRss:
    """RSS of a process and all its descendants, read from /proc.

    Cheap enough to run every 20 ms beside the process measured (~0.2 ms of CPU a sample):
    each process's parent is read once, when it first appears, and only the tree's members
    are read again. The root's own high-water mark (VmHWM) catches a peak between samples.
    A process forked but not yet exec'd is not counted: it shares its parent's memory (which
    is also why wait4's ru_maxrss, which counts it, would not do)."""

    PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

    def __init__(self, root: int) -> None:
        self.root = root
        self.parent: dict[int, int] = {}
        self.peak_kb = self.root_hwm_kb = self.others_peak_kb = 0
        self.before_exec = Path("/proc/self/cmdline").read_bytes()

    def sample(self) -> None:
        if self._cmdline(self.root) == self.before_exec:
            return  # not exec'd yet
        pids = {int(name) for name in os.listdir("/proc") if name.isdigit()}
        for pid in pids - self.parent.keys():
            with suppress(OSError, IndexError, ValueError):  # "pid (comm) state ppid …"
                stat = Path(f"/proc/{pid}/stat").read_text()
                self.parent[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        for gone in self.parent.keys() - pids:
            del self.parent[gone]
        tree, frontier = {self.root}, [self.root]
        while frontier:
            frontier = [c for c, p in self.parent.items() if p in frontier and c not in tree]
            tree.update(frontier)
        root_kb = others_kb = 0
        for pid in tree - {self.root}:
            if self._cmdline(pid) == self._cmdline(self.parent[pid]):
                tree.discard(pid)  # forked, not yet exec'd: its memory is its parent's
        for pid in tree:
            with suppress(OSError, IndexError, ValueError):  # statm: size resident … (pages)
                kb = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.PAGE_KB
                if pid == self.root:
                    root_kb = kb
                else:
                    others_kb += kb
        with suppress(OSError, ValueError):
            status = Path(f"/proc/{self.root}/status").read_text()
            if "VmHWM:" in status:
                self.root_hwm_kb = int(status.split("VmHWM:")[1].split()[0])
        self.peak_kb = max(self.peak_kb, root_kb + others_kb)
        self.others_peak_kb = max(self.others_peak_kb, others_kb)

    @staticmethod
    def _cmdline(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    @property
    def peak_mb(self) -> float:
        """The largest sum sampled, or the root's own peak plus the most the rest of the tree
        ever held, whichever is larger (an upper bound on any moment's sum)."""
        return max(self.peak_kb, self.root_hwm_kb + self.others_peak_kb) / 1024


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) summed over the command's process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=env,
        # not the repository: Dagster's CLI reads ./.env over the environment
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    done = threading.Event()
    tree = TreeRss(proc.pid)

    def sample() -> None:
        while not done.is_set():
            tree.sample()
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status = proc.wait()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"{' '.join(command[:6])} … failed ({status})")
    return seconds, tree.peak_mb


def step_seconds(home: Path) -> dict[str, float]:
    """Seconds per step of the (single) run in DAGSTER_HOME=home, from its event log."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        events = instance.all_logs(
            run.run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
        )
    starts: dict[str, float] = {}
    out: dict[str, float] = {}
    for e in events:
        if e.dagster_event.event_type == DagsterEventType.STEP_START:
            starts[e.step_key] = e.timestamp
        else:
            out[e.step_key] = e.timestamp - starts[e.step_key]
    return out


@dataclass
class Result:
    seconds: float
    rss_mb: float
    steps: dict[str, float] = field(default_factory=dict)


def run_ours(database: str, days: int, tmp: Path, name: str) -> Result:
    last = FIRST_DAY + dt.timedelta(days=days - 1)
    home = tmp / f"home-{name}"
    env = ours_env(database, tmp / f"lake-{name}", home)
    ready_instance(home)
    seconds, rss = measure(ours_command(FIRST_DAY, last), env)
    return Result(seconds, rss, step_seconds(home))


def ready_instance(home: Path) -> None:
    """Create the instance's storage before the clock starts: a deployment's instance exists
    before its runs (creating SQLite storage costs a first run ~0.2 s)."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)


def fastest(results: list[Result]) -> Result:
    """The fastest of repeated runs, with the largest peak RSS any of them reached."""
    best = min(results, key=lambda r: r.seconds)
    return Result(best.seconds, max(r.rss_mb for r in results), best.steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--long-days", type=int, default=30)
    parser.add_argument("--no-10x", action="store_true", help="skip the 10× day")
    parser.add_argument("--repeat", type=int, default=3, help="one-day runs of each, fastest")
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # the floor, in its own process
        run_floor(dt.date.fromisoformat(args.run[1]))
        return

    print(f"seeding {args.long_days} production days into {DATABASE} (kept between runs) …")
    seed(args.long_days)
    if not args.no_10x:
        seed(1, DATABASE_10X, DEVICES * 10)
    readings_day = DEVICES * REPORTS * SAMPLES * len(CHANNELS)
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # the floor first: it also brings the day into MariaDB's buffer pool for everyone
        results["floor (1 day)"] = Result(
            *measure(
                [sys.executable, str(Path(__file__).resolve()), "--run", "floor", str(FIRST_DAY)]
            )
        )
        # one day, each contestant `--repeat` times, interleaved so that the host's drift
        # touches all of them alike; the fastest of each counts
        peers = [("peer (1 day)", REPO / "bench" / "seed_peer.py")]
        if SHARED_PEER.exists():
            peers.append(("shared peer (1 day)", SHARED_PEER))
        tries: dict[str, list[Result]] = {}
        for i in range(args.repeat):
            for name, peer in peers:
                out = tmp / f"{name.split()[0]}-{i}"
                tries.setdefault(name, []).append(
                    Result(*measure(peer_command(peer, DATABASE, out)))
                )
            tries.setdefault("ours (1 days)", []).append(run_ours(DATABASE, 1, tmp, f"1-{i}"))
        results |= {name: fastest(runs) for name, runs in tries.items()}
        for days in (args.days, args.long_days):
            results[f"ours ({days} days)"] = run_ours(DATABASE, days, tmp, f"{days}")
        if not args.no_10x:
            results["ours (10× day)"] = run_ours(DATABASE_10X, 1, tmp, "10x")
    report(results, args.days, args.long_days, readings_day)


def report(results: dict[str, Result], days: int, long_days: int, readings_day: int) -> None:
    print(f"\n{'':<22} {'seconds':>8} {'readings/s':>12} {'peak RSS MB':>12}")
    for name, r in results.items():
        readings = readings_day * (
            10 if "10×" in name else int(name.split("(")[1].split()[0]) if "days" in name else 1
        )
        print(f"{name:<22} {r.seconds:>8.2f} {readings / r.seconds:>12,.0f} {r.rss_mb:>12.0f}")
    # the yardstick is the faster peer of this run: a slower one would flatter the ratios
    peers = {n: r for n, r in results.items() if "peer" in n}
    yardstick = min(peers, key=lambda n: peers[n].seconds)
    peer = peers[yardstick]
    one, short, long = (results[f"ours ({n} days)"] for n in (1, days, long_days))
    marginal = (long.seconds - one.seconds) / (long_days - 1)
    print(f"\nmarginal day ({long_days} days − 1 day) / {long_days - 1}: {marginal:.2f} s")
    print(f"  yardstick: {yardstick}, {peer.seconds:.2f} s (the faster peer of this run)")
    print(f"  peer's day / marginal day:  {peer.seconds / marginal:5.1f}×   (target ≥ 10×)")
    print(f"  one day / peer's day:       {one.seconds / peer.seconds:5.2f}    (target ≤ 0.33)")
    print(
        f"  peak RSS 1/{days}/{long_days} days: {one.rss_mb:.0f} / {short.rss_mb:.0f} / "
        f"{long.rss_mb:.0f} MB, {long.rss_mb / one.rss_mb:.2f}× (targets ≤ 400 MB, ≤ 1.25×)"
    )
    if len(peers) > 1:
        print(
            f"  the two peers: {' vs '.join(f'{r.seconds:.2f} s' for r in peers.values())} "
            "(same recipe)"
        )
    if "ours (10× day)" in results:
        ten = results["ours (10× day)"]
        print(
            f"  10× day: {ten.seconds:.2f} s, {ten.seconds / one.seconds:.1f}× the production "
            f"day's time (target ≤ 11×), peak RSS {ten.rss_mb:.0f} MB (target ≤ 400)"
        )
    print(f"\nper stage, the marginal day (seconds; from {long_days} days − 1 day):")
    for step in sorted(long.steps, key=lambda k: -long.steps[k]):
        per_day = (long.steps[step] - one.steps.get(step, 0.0)) / (long_days - 1)
        print(f"  {step:<42} {per_day:6.3f}")
    steps_total = sum(long.steps.values()) - sum(one.steps.values())
    outside = marginal - steps_total / (long_days - 1)
    print(f"  {'(outside the steps: run start and end)':<42} {outside:6.3f}")


if __name__ == "__main__":
    main()
