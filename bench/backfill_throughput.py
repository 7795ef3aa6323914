"""Backfill throughput under the production stack: days per hour of a multi-run backfill with
1 worker versus 2 concurrent runs, on this machine.

For each run limit W (1, then 2), a fresh PostgreSQL database and lake; `scripts/prod-local`
(code server, webserver, daemon) on deploy/dagster.yaml with `max_concurrent_runs` and the
pools (`mysql_extract`, `lake_catalog`) at W; then `lake-assets backfill FIRST LAST --wait`
of production-scale days (bench/pipeline.py's source, 13,920 reports a day) with
LAKE_BACKFILL_DAYS_PER_RUN days per run. Reported: the wall time from submitting to `--wait`
returning (what an operator waits, including the daemon's 30 s cadence), and the span from the
first run's start to the last run's end (the work itself).

Run: `make bench`, or `python bench/backfill_throughput.py [--days 8] [--days-per-run 1]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from pipeline import DATABASE, FIRST_DAY, REPO, seed

BIN = Path(sys.executable).parent
PG = {
    "host": os.environ.get("DAGSTER_PG_HOST") or "127.0.0.1",
    "port": os.environ.get("DAGSTER_PG_PORT") or "5432",
    "user": os.environ.get("DAGSTER_PG_USER") or "postgres",
    "password": os.environ.get("DAGSTER_PG_PASSWORD") or "",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(sql: str) -> None:
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def instance_yaml(workers: int, path: Path) -> None:
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    config["concurrency"]["runs"]["max_concurrent_runs"] = workers
    config["concurrency"]["pools"]["default_limit"] = workers
    path.write_text(yaml.safe_dump(config))


def run_spans(home: Path, env: dict[str, str], backfill_id: str) -> tuple[int, float]:
    """(runs, seconds from the first run's start to the last run's end), from the instance."""
    code = (
        "import sys\n"
        "from dagster import DagsterInstance, RunsFilter\n"
        "with DagsterInstance.get() as i:\n"
        f"    rs = i.get_run_records(RunsFilter(tags={{'dagster/backfill': '{backfill_id}'}}))\n"
        "    print(len(rs), max(r.end_time for r in rs) - min(r.start_time for r in rs))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=home, capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), float(out[1])


def measure(workers: int, days: int, days_per_run: int, tmp: Path) -> dict[str, float]:
    database = f"lake_bench_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{database}"')
    home, port = tmp / f"home-{workers}", free_port()
    home.mkdir()
    instance_yaml(workers, tmp / f"dagster-{workers}.yaml")
    env = {
        **os.environ,
        **{f"DAGSTER_PG_{k.upper()}": v for k, v in PG.items()},
        "DAGSTER_PG_DB": database,
        "DAGSTER_HOME": str(home),
        "LAKE_INSTANCE_YAML": str(tmp / f"dagster-{workers}.yaml"),
        "DAGSTER_CODE_SERVER_PORT": str(free_port()),
        "LAKE_WEBSERVER_PORT": str(port),
        "DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}",
        "MYSQL_DATABASE": DATABASE,
        "LAKE_ROOT": str(tmp / f"lake-{workers}"),
        "LAKE_START_DATE": "2025-12-01",
        "LAKE_BACKFILL_DAYS_PER_RUN": str(days_per_run),
    }
    env.pop("LAKE_COPIES", None)
    log = open(tmp / f"stack-{workers}.log", "w")  # noqa: SIM115 - closed below
    stack = subprocess.Popen(
        [str(REPO / "scripts" / "prod-local")],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while "prod-local: ready" not in (tmp / f"stack-{workers}.log").read_text():
            if stack.poll() is not None:
                raise SystemExit(f"the stack did not start: see {tmp}/stack-{workers}.log")
            time.sleep(0.5)
        last = FIRST_DAY + dt.timedelta(days=days - 1)
        started = time.perf_counter()
        done = subprocess.run(
            [
                str(BIN / "lake-assets"),
                "backfill",
                str(FIRST_DAY),
                str(last),
                "--wait",
                "--poll",
                "1",
            ],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(
                f"the backfill failed (the stack's log: {tmp}/stack-{workers}.log):\n"
                f"{done.stdout}{done.stderr}"
            )
        backfill_id = done.stdout.split()[1].rstrip(":")
        runs, span = run_spans(home, env, backfill_id)
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        stack.wait(timeout=120)
        log.close()
        admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return {"runs": runs, "wall": wall, "span": span}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--days-per-run", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    seed(args.days)
    print(
        f"multi-run backfill of {args.days} production days, {args.days_per_run} day(s) per "
        "run, under make prod-local (daemon, code server, PostgreSQL)"
    )
    heads = ("runs at once", "runs", "wall s", "days/h", "work s", "days/h")
    print("  ".join(f"{h:>{w}}" for h, w in zip(heads, (12, 4, 7, 7, 7, 7), strict=True)))
    tmp = Path(tempfile.mkdtemp(prefix="lake-backfill-bench-"))
    for workers in args.workers:
        m = measure(workers, args.days, args.days_per_run, tmp)
        print(
            f"{workers:>12}  {m['runs']:>4}  {m['wall']:>7.1f}  "
            f"{args.days * 3600 / m['wall']:>7.0f}  {m['span']:>7.1f}  "
            f"{args.days * 3600 / m['span']:>7.0f}",
            flush=True,
        )
    shutil.rmtree(tmp)  # kept when a backfill failed, for its logs
    print("wall: submit → --wait returns; work: first run start → last run end")


if __name__ == "__main__":
    main()
