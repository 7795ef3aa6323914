"""A full copy of a 1,000,000-row mixed-type MySQL table to Parquet: this project's copy
(`copies/<table>`: streamed, checksummed against the server, published) against two peers that
write the same table to Parquet — connectorx (Arrow in Rust, the whole result in memory) and
dlt's `sql_table` with the pyarrow backend. Each runs in its own process, in the same run;
seconds are the whole process (imports included), peak RSS that process's.

Run: `python bench/copy_table.py [--rows 1000000]` (needs `pip install -e '.[bench]'` for the
peers; `make bench` does that). The table is seeded once in `lake_bench` and kept.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymysql
from pipeline import DATABASE, mysql_params

TABLE = "copy_bench"
DDL = f"""
CREATE TABLE {TABLE} (
  id        BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  device_id INT UNSIGNED NOT NULL,
  ts        DATETIME(3) NOT NULL,
  day       DATE NOT NULL,
  value     DOUBLE,
  price     DECIMAL(12,4),
  flag      TINYINT(1) NOT NULL,
  name      VARCHAR(32) NOT NULL,
  note      TEXT,
  payload   VARBINARY(32)
)"""


def seed(rows: int) -> None:
    conn = pymysql.connect(**mysql_params(), autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        cur.execute(f"USE {DATABASE}")
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
            " AND TABLE_NAME = %s",
            (DATABASE, TABLE),
        )
        if cur.fetchone()[0]:
            cur.execute(f"SELECT COUNT(*) FROM {TABLE}")
            if cur.fetchone()[0] == rows:
                return
            cur.execute(f"DROP TABLE {TABLE}")
        cur.execute(DDL)
        # MariaDB's sequence engine: a million rows in one statement
        cur.execute(
            f"INSERT INTO {TABLE} SELECT seq, 1000 + seq % 580,"
            " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq * 37000 MICROSECOND,"
            " DATE'2026-01-01' + INTERVAL seq % 30 DAY,"
            " IF(seq % 17 = 0, NULL, seq / 7.0 - 5000), (seq % 100000) / 16.0, seq % 2,"
            " CONCAT('device-', seq % 580, '-sensor'),"
            " IF(seq % 3 = 0, NULL, REPEAT('ö', seq % 20)), UNHEX(MD5(seq))"
            f" FROM seq_1_to_{rows}"
        )
    conn.close()


def run_ours(out: Path) -> int:
    from dagster import DagsterInstance, materialize

    from lake_assets.catalogs.duckdb import DuckDBCatalogResource
    from lake_assets.core.tables import CopyMode, TableSpec
    from lake_assets.defs.resources import lake_resource
    from lake_assets.project import Project
    from lake_assets.source.client import MySQLResource

    asset, _ = Project.from_env({}).copy_defs(TableSpec(TABLE, CopyMode.FULL))
    result = materialize(
        [asset],
        instance=DagsterInstance.ephemeral(),
        resources={
            "mysql": MySQLResource(**mysql_params(), database=DATABASE),
            "lake": lake_resource(str(out)),
            "catalog": DuckDBCatalogResource(path=str(out / "catalog.duckdb")),
        },
    )
    [event] = result.get_asset_materialization_events()
    return int(event.materialization.metadata["dagster/row_count"].value)


def run_connectorx(out: Path) -> int:
    import connectorx as cx
    import pyarrow.parquet as pq

    p = mysql_params()
    url = f"mysql://{p['user']}:{p['password']}@{p['host']}:{p['port']}/{DATABASE}"
    table = cx.read_sql(url, f"SELECT * FROM {TABLE}", return_type="arrow")
    pq.write_table(table, out / "copy.parquet", compression="zstd")
    return table.num_rows


def run_dlt(out: Path) -> int:
    import os

    # dlt reflects MySQL DOUBLE as a decimal whose inferred precision varies between chunks;
    # let its writer promote instead of failing (its documented setting for this).
    os.environ["DATA_WRITER__ARROW_CONCAT_PROMOTE_OPTIONS"] = "permissive"
    import dlt
    from dlt.sources.sql_database import sql_table

    p = mysql_params()
    url = f"mysql+pymysql://{p['user']}:{p['password']}@{p['host']}:{p['port']}/{DATABASE}"
    source = sql_table(credentials=url, table=TABLE, backend="pyarrow", chunk_size=50_000)
    pipeline = dlt.pipeline(
        pipeline_name="copy_bench",
        pipelines_dir=str(out / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(out / "lake").as_uri()),
        dataset_name="bench",
    )
    info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    return int(pipeline.last_trace.last_normalize_info.row_counts[TABLE])


CONTENDERS = {"ours": run_ours, "connectorx": run_connectorx, "dlt (pyarrow)": run_dlt}


def child(name: str, out: str) -> None:
    rows = CONTENDERS[name](Path(out))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "rss_mb": rss_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("NAME", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    seed(args.rows)
    results = {}
    for name in CONTENDERS:
        out = Path(tempfile.mkdtemp(prefix="copy-bench-"))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, str(out)],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
        )
        seconds = time.monotonic() - started
        shutil.rmtree(out, ignore_errors=True)
        if done.returncode:
            print(f"{name}: failed\n{done.stderr[-2000:]}")
            continue
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        results[name] = (seconds, figures["rows"], figures["rss_mb"])
    print(f"\nfull copy of {TABLE}, {args.rows:,} rows (whole processes, same run)")
    print(f"{'':16}{'seconds':>9}{'rows/s':>12}{'peak RSS MB':>13}")
    for name, (seconds, rows, rss) in results.items():
        print(f"{name:16}{seconds:9.2f}{rows / seconds:12,.0f}{rss:13.0f}")
    if "ours" in results:
        ours = results["ours"][0]
        for peer in ("dlt (pyarrow)", "connectorx"):
            if peer in results:
                print(f"ours / {peer}: {ours / results[peer][0]:.2f}× the time")


if __name__ == "__main__":
    main()
