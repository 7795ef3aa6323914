"""PartWriter: row groups and files roll; stored types are plain Parquet types for Athena."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lake_assets.codec import READINGS_SCHEMA, decode_reports
from lake_assets.codec.encode import encode_report
from lake_assets.parquet import PartWriter
from lake_assets.resources.lake import LocalStore


def readings(n_reports: int) -> pa.Table:
    encoded = [
        encode_report(1_700_000_000 + i, 60, [1, 2, 42], [[i, None, 3]] * 10)
        for i in range(n_reports)
    ]
    return decode_reports(
        pa.array(range(n_reports)), pa.array([9] * n_reports), pa.array(encoded)
    ).readings


def test_rolls_row_groups_and_files(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    writer = PartWriter(store, "data/x/", READINGS_SCHEMA, row_group_rows=100, file_bytes=3000)
    for _ in range(5):
        writer.write(readings(10))  # 300 readings per call
    files = writer.close()
    assert len(files) > 1
    assert sum(f.rows for f in files) == 1500
    for f in files:
        meta = pq.ParquetFile(store.path(f.key)).metadata
        assert meta.num_rows == f.rows
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert all(n == 100 for n in sizes[:-1]), "full row groups, no remainders in between"
        assert 0 < sizes[-1] <= 100


def test_stored_schema_is_plain_parquet(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    with PartWriter(store, "d/", READINGS_SCHEMA) as writer:
        writer.write(readings(3))
        [entry] = writer.close()
    pf = pq.ParquetFile(store.path(entry.key))
    schema = pf.schema_arrow
    assert schema.field("channel").type == pa.string()
    assert schema.field("unit").type == pa.string()
    assert schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    column = pf.metadata.row_group(0).column(3)
    assert "DICTIONARY" in str(column.encodings) or "RLE_DICTIONARY" in str(column.encodings)
    assert column.compression == "ZSTD"
    assert pf.metadata.row_group(0).column(2).statistics.has_min_max
    table = pf.read()
    assert table.column("unit").null_count == 30  # code_42 has no unit
    assert table.column("value").null_count == 30  # missing samples


def test_empty_day_still_has_a_readable_file(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    [entry] = PartWriter(store, "e/", READINGS_SCHEMA).close()
    assert entry.rows == 0
    assert pq.read_table(store.path(entry.key)).num_rows == 0


def test_statistics_only_where_asked(tmp_path: Path) -> None:
    """min/max statistics on the columns named, and on no other."""
    store = LocalStore(str(tmp_path))
    with PartWriter(
        store, "d/", READINGS_SCHEMA, statistics_columns=["report_id", "device_id", "ts"]
    ) as writer:
        writer.write(readings(3))
        [entry] = writer.close()
    group = pq.ParquetFile(store.path(entry.key)).metadata.row_group(0)
    with_stats = {
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).is_stats_set and group.column(i).statistics.has_min_max
    }
    assert with_stats == {"report_id", "device_id", "ts"}
