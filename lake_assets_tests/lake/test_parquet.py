"""PartWriter: row groups and files roll; stored types are plain Parquet types for Athena."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake_assets.codec import READINGS_SCHEMA, decode_reports
from lake_assets.codec.encode import encode_report
from lake_assets.lake.parquet import PartWriter, iter_batches
from lake_assets.lake.store import LocalStore


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


def _report_ids(store: LocalStore, key: str) -> list[list[int]]:
    """The report ids of each row group of a stored file."""
    pf = pq.ParquetFile(store.path(key))
    return [
        pf.read_row_group(i, columns=["report_id"]).column(0).to_pylist()
        for i in range(pf.metadata.num_row_groups)
    ]


def test_lanes_deal_row_groups_to_files_in_turn(tmp_path: Path) -> None:
    """Two lanes: row group k goes to file k % 2; every row is stored once; the files come back
    in name order, numbered without gaps, each entry's rows matching its footer."""
    store = LocalStore(str(tmp_path))
    data = readings(50)  # 1,500 readings: 15 row groups of 100
    with PartWriter(store, "l/", READINGS_SCHEMA, row_group_rows=100, lanes=2) as writer:
        for start in range(0, data.num_rows, 70):  # batches that do not line up with groups
            writer.write(data.slice(start, 70))
        files = writer.close()
    assert [f.key for f in files] == ["l/part-00000.parquet", "l/part-00001.parquet"]
    groups = [_report_ids(store, f.key) for f in files]
    assert [len(g) for g in groups] == [8, 7]
    ids = data.column("report_id").to_pylist()
    dealt = [ids[i * 100 : (i + 1) * 100] for i in range(15)]
    assert groups[0] == dealt[0::2] and groups[1] == dealt[1::2]
    assert [f.rows for f in files] == [
        pq.ParquetFile(store.path(f.key)).metadata.num_rows for f in files
    ]
    assert sorted(store.path("l/").iterdir()) == [store.path(f.key) for f in files]


def test_lanes_roll_files_with_unique_names(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    data = readings(50)
    with PartWriter(
        store, "r/", READINGS_SCHEMA, row_group_rows=100, file_bytes=1, lanes=2
    ) as writer:
        for start in range(0, data.num_rows, 100):
            writer.write(data.slice(start, 100))
        files = writer.close()
    # a file per row group when every file is full after one
    assert [f.key for f in files] == [f"r/part-{i:05d}.parquet" for i in range(15)]
    stored = pa.concat_tables(pq.read_table(store.path(f.key)) for f in files)
    assert stored.column("report_id").to_pylist() == data.column("report_id").to_pylist()


def test_lanes_keep_a_small_or_empty_day_in_one_file(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    with PartWriter(store, "s/", READINGS_SCHEMA, lanes=2) as writer:
        writer.write(readings(3))
        [small] = writer.close()
    [empty] = PartWriter(store, "e/", READINGS_SCHEMA, lanes=2).close()
    assert (small.rows, empty.rows) == (90, 0)


def test_an_aborted_writer_leaves_no_file_in_any_lane(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    try:
        with PartWriter(store, "a/", READINGS_SCHEMA, row_group_rows=100, lanes=2) as writer:
            data = readings(20)
            writer.write(data.slice(0, 100))
            writer.write(data.slice(100, 100))  # a row group sent to each lane's file
            raise RuntimeError("the caller fails")
    except RuntimeError:
        pass
    assert not store.path("a/").exists() or not any(store.path("a/").iterdir())


class CountingStore(LocalStore):
    """Records which objects are open for reading."""

    open_now: set[str]

    @contextmanager
    def reading(self, key: str) -> Iterator[Path]:
        self.open_now.add(key)
        try:
            yield self.path(key)
        finally:
            self.open_now.discard(key)


def _many_files(tmp_path: Path) -> tuple[CountingStore, list[str]]:
    """Readings written a row group per file (file_bytes=1): reading crosses files."""
    store = CountingStore(str(tmp_path))
    store.open_now = set()
    writer = PartWriter(store, "data/x/", READINGS_SCHEMA, row_group_rows=100, file_bytes=1)
    for _ in range(4):
        writer.write(readings(10))  # 300 readings per call; every row group a new file
    return store, [f.key for f in writer.close()]


def _readers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("read-ahead")]


def test_reading_ahead_yields_the_same_batches(tmp_path: Path) -> None:
    store, keys = _many_files(tmp_path)
    assert len(keys) > 2
    plain = list(iter_batches(store, keys, batch_rows=70))
    ahead = list(iter_batches(store, keys, batch_rows=70, read_ahead=True))
    assert [b.num_rows for b in ahead] == [b.num_rows for b in plain]
    assert pa.Table.from_batches(ahead).equals(pa.Table.from_batches(plain))
    assert not store.open_now and not _readers()


def test_stopping_while_reading_ahead_closes_the_file_and_the_reader(tmp_path: Path) -> None:
    """The caller fails on the first batch while the thread has read the next one: the file
    being read is closed and no reader thread is left behind."""
    store, keys = _many_files(tmp_path)
    batches = iter_batches(store, keys, batch_rows=70, read_ahead=True)
    with pytest.raises(RuntimeError, match="the caller's"):
        for _ in batches:
            assert store.open_now == {keys[0]}
            raise RuntimeError("the caller's error")
    batches.close()  # what the caller's frame going away does
    assert not store.open_now and not _readers()


def test_an_error_reading_ahead_reaches_the_caller(tmp_path: Path) -> None:
    store, keys = _many_files(tmp_path)
    store.path(keys[1]).write_bytes(b"not parquet")
    with pytest.raises(pa.ArrowInvalid):
        for _ in iter_batches(store, keys, batch_rows=70, read_ahead=True):
            pass
    assert not store.open_now and not _readers()
