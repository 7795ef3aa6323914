"""Streaming Parquet writing for one attempt of a day: bounded memory, rolling row groups/files.

Batches are buffered only up to one row group (512k rows or 16 MB), and files roll at
~512 MB, so memory does not grow with the size of a day. Row groups are compressed and written
by a background thread (Arrow releases the GIL there), overlapping with the caller's next
batch — decoding, or pymysql's parsing — on a second core; at most one row group is in flight.
A writer whose encoding outweighs its caller's work can take `lanes`: that many files, written
side by side by as many threads, each with at most one row group in flight.
Parquet settings are chosen for Athena: zstd, dictionary encoding for the low-cardinality
columns named by the caller, statistics on, and no Arrow-specific schema blob (so readers see
plain Parquet types: strings, UTC timestamps in ms/µs, decimals).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import FileEntry

T = TypeVar("T")

ROW_GROUP_ROWS = 512 * 1024  # ~19 MB of readings in memory; 10 row groups per production day
# 16 MB: a row group of wide rows (raw reports, ~1 KB each) is cut by bytes, so a day ten times
# the production day's size is written and read back in the same memory (one row group pending,
# one in flight; readers take one row group at a time). 10× day: 346 MB peak (bench/pipeline.py).
ROW_GROUP_BYTES = 16 * 1024 * 1024
FILE_BYTES = 512 * 1024 * 1024
READ_BUFFER_BYTES = 1024 * 1024
WRITE_OPTIONS = {
    "compression": "zstd",
    "store_schema": False,
}


@dataclass
class _Lane:
    """A file of the attempt being written, by its own thread, one row group at a time."""

    flusher: ThreadPoolExecutor
    in_flight: Future[None] | None = None
    open: tuple[AbstractContextManager[Path], Path, pq.ParquetWriter, str] | None = None
    rows: int = 0
    bytes: int = 0


class PartWriter:
    """Writes `part-00000.parquet`, `part-00001.parquet`, … under `prefix` in `store`.

    With `lanes` > 1, row groups go to that many files in turn, each written by its own
    thread, so that encoding and compressing them takes as many cores; each lane still has at
    most one row group in flight."""

    def __init__(
        self,
        store: LakeStore,
        prefix: str,
        schema: pa.Schema,
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        row_group_bytes: int = ROW_GROUP_BYTES,
        file_bytes: int = FILE_BYTES,
        dictionary_columns: Sequence[str] = (),
        statistics_columns: Sequence[str] | None = None,
        lanes: int = 1,
    ) -> None:
        self.store, self.prefix, self.schema = store, prefix, schema
        # Dictionary-typed columns always; others (low-cardinality ids) when the caller asks.
        self.dictionary_columns = sorted(
            {f.name for f in schema if pa.types.is_dictionary(f.type)}
            | {c for c in dictionary_columns if c in schema.names}
        )
        # min/max statistics: on every column, or only where they can prune row groups
        self.statistics: bool | list[str] = (
            True if statistics_columns is None else list(statistics_columns)
        )
        self._lanes = [
            _Lane(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"parquet-writer-{i}"))
            for i in range(lanes)
        ]
        self._turn = 0  # the lane of the next row group
        self._file_number = 0  # of the next file opened, by any lane
        self.row_group_rows, self.row_group_bytes = row_group_rows, row_group_bytes
        self.file_bytes = file_bytes
        self.files: list[FileEntry] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = self._pending_bytes = 0

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        batches = data.to_batches() if isinstance(data, pa.Table) else [data]
        for batch in batches:
            if batch.num_rows:
                self._pending.append(batch)
                self._pending_rows += batch.num_rows
                self._pending_bytes += batch.nbytes
        if self._pending_rows >= self.row_group_rows or self._pending_bytes >= self.row_group_bytes:
            self._flush_row_group()

    def close(self) -> list[FileEntry]:
        """Flush and store everything; returns the files written, in name order (an empty day
        has one empty file, so every day that exists in the source has a readable part)."""
        self._wait_all()
        if self._pending or self._file_number == 0:  # the rest, or the empty day's one file
            self._flush_row_group(force_file=True)
            self._wait_all()
        closing = [lane.flusher.submit(self._close_file, lane) for lane in self._lanes]
        for done in closing:  # each lane stores its last file, side by side
            done.result()
        self._shutdown()
        self.files.sort(key=lambda f: f.key)
        return self.files

    def abort(self) -> None:
        with suppress(Exception):  # aborting anyway: the caller's error is the one to see
            self._wait_all()
        self._shutdown()
        for lane in self._lanes:
            if lane.open is not None:
                ctx, _, writer, _ = lane.open
                lane.open = None
                writer.close()
                ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.abort()

    def _flush_row_group(self, force_file: bool = False) -> None:
        if not self._pending and not force_file:
            return
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        whole = table.num_rows // self.row_group_rows * self.row_group_rows
        if force_file or whole == 0:  # the last rows, or a row group full by bytes
            rest = table.slice(table.num_rows)
        else:  # full row groups only; the remainder starts the next one (zero-copy slices)
            table, rest = table.slice(0, whole), table.slice(whole)
        self._pending = rest.to_batches()
        self._pending_rows, self._pending_bytes = rest.num_rows, rest.nbytes
        lane = self._lanes[self._turn]
        self._turn = (self._turn + 1) % len(self._lanes)
        self._wait(lane)  # at most one row group in flight per lane: memory stays bounded
        new_key = None  # the lane's next file, numbered here so that names follow the rows
        if lane.open is None or lane.bytes >= self.file_bytes:
            new_key = f"{self.prefix}part-{self._file_number:05d}.parquet"
            self._file_number += 1
        lane.in_flight = lane.flusher.submit(self._write_row_group, lane, table, new_key)

    def _wait_all(self) -> None:
        for lane in self._lanes:
            self._wait(lane)

    @staticmethod
    def _wait(lane: _Lane) -> None:
        if lane.in_flight is not None:
            in_flight, lane.in_flight = lane.in_flight, None
            in_flight.result()  # re-raises a write error here, in the caller's thread

    def _shutdown(self) -> None:
        for lane in self._lanes:
            lane.flusher.shutdown()

    def _write_row_group(self, lane: _Lane, table: pa.Table, new_key: str | None) -> None:
        if new_key is not None:
            self._close_file(lane)
            self._open_file(lane, new_key)
        assert lane.open is not None
        _, path, writer, _ = lane.open
        writer.write_table(table, row_group_size=self.row_group_rows)
        lane.rows += table.num_rows
        lane.bytes = path.stat().st_size

    def _open_file(self, lane: _Lane, key: str) -> None:
        ctx = self.store.writing(key)
        path = ctx.__enter__()
        writer = pq.ParquetWriter(
            path,
            self.schema,
            use_dictionary=self.dictionary_columns,
            write_statistics=self.statistics,
            **WRITE_OPTIONS,
        )
        lane.open, lane.rows, lane.bytes = (ctx, path, writer, key), 0, 0

    def _close_file(self, lane: _Lane) -> None:
        if lane.open is None:
            return
        ctx, path, writer, key = lane.open
        writer.close()
        size = path.stat().st_size
        ctx.__exit__(None, None, None)
        lane.open = None
        self.files.append(FileEntry(key=key, rows=lane.rows, bytes=size))


def iter_batches(
    store: LakeStore,
    keys: list[str],
    columns: list[str] | None = None,
    batch_rows: int = 65_536,
    *,
    read_ahead: bool = False,
    dictionaries: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    """Stream the record batches of several Parquet objects, one file open at a time. With
    `read_ahead`, a thread reads (and decompresses) the next batch while the caller works on
    this one: one batch more in memory. String columns named in `dictionaries` come as Arrow
    dictionaries, straight from their Parquet dictionary pages (a tenth of the cost of
    building a string per row, for a column of few distinct values)."""
    batches = _iter_batches(store, keys, columns, batch_rows, dictionaries)
    return _read_ahead(batches) if read_ahead else batches


def _read_ahead(items: Generator[T, None, None]) -> Iterator[T]:
    """The items of `items`, each next one computed by a thread while the caller holds this
    one. Stopping early (an error in the caller) waits for the item in progress, then closes
    `items`."""
    end = object()
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        try:
            pending = reader.submit(next, items, end)
            while (item := pending.result()) is not end:
                pending = reader.submit(next, items, end)
                yield item  # type: ignore[misc]
        finally:
            with suppress(Exception):  # stopped early: the caller's error is the one to see
                pending.result()
            items.close()


def _iter_batches(
    store: LakeStore,
    keys: list[str],
    columns: list[str] | None,
    batch_rows: int,
    dictionaries: Sequence[str] = (),
) -> Generator[pa.RecordBatch, None, None]:
    for key in keys:
        with store.reading(key) as path:
            # no pre-buffering: it would read every row group's columns of the file at once
            # (a whole day of raw reports); and column chunks are read 1 MB at a time rather
            # than whole (a 16 MB row group of raw reports: ~20 MB less at the peak)
            parquet = pq.ParquetFile(
                path,
                pre_buffer=False,
                buffer_size=READ_BUFFER_BYTES,
                read_dictionary=list(dictionaries) or None,
            )
            yield from parquet.iter_batches(batch_size=batch_rows, columns=columns)


def footer_rows(store: LakeStore, keys: list[str]) -> int:
    """The rows the Parquet objects hold, from their footers."""
    rows = 0
    for key in keys:
        with store.reading(key) as path:
            rows += pq.ParquetFile(path).metadata.num_rows
    return rows
