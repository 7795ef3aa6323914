"""Streaming Parquet writing for one attempt of a day: bounded memory, rolling row groups/files.

Batches are buffered only up to one row group (512k rows or 16 MB), and files roll at
~512 MB, so memory does not grow with the size of a day. Row groups are compressed and written
by one background thread (Arrow releases the GIL there), overlapping with the caller's next
batch — decoding, or pymysql's parsing — on a second core; at most one row group is in flight.
Parquet settings are chosen for Athena: zstd, dictionary encoding for the low-cardinality
columns named by the caller, statistics on, and no Arrow-specific schema blob (so readers see
plain Parquet types: strings, UTC timestamps in ms/µs, decimals).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lake_assets.resources.lake import LakeStore
from lake_assets.zones import FileEntry

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


class PartWriter:
    """Writes `part-00000.parquet`, `part-00001.parquet`, … under `prefix` in `store`."""

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
        self._flusher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer")
        self._in_flight: Future[None] | None = None
        self.row_group_rows, self.row_group_bytes = row_group_rows, row_group_bytes
        self.file_bytes = file_bytes
        self.files: list[FileEntry] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = self._pending_bytes = 0
        self._open: tuple[AbstractContextManager[Path], Path, pq.ParquetWriter, str] | None = None
        self._file_rows = 0

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
        """Flush and store everything; returns the files written (an empty day has one empty
        file, so every day that exists in the source has a readable part)."""
        self._wait()
        if self._pending or (not self.files and self._open is None):
            self._flush_row_group(force_file=True)
            self._wait()
        self._close_file()
        self._flusher.shutdown()
        return self.files

    def abort(self) -> None:
        with suppress(Exception):  # aborting anyway: the caller's error is the one to see
            self._wait()
        self._flusher.shutdown()
        if self._open is not None:
            ctx, _, writer, _ = self._open
            self._open = None
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
        self._wait()  # at most one row group in flight: memory stays bounded
        self._in_flight = self._flusher.submit(self._write_row_group, table)

    def _wait(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()  # re-raises a write error here, in the caller's thread

    def _write_row_group(self, table: pa.Table) -> None:
        writer, path = self._writer()
        writer.write_table(table, row_group_size=self.row_group_rows)
        self._file_rows += table.num_rows
        if path.stat().st_size >= self.file_bytes:
            self._close_file()

    def _writer(self) -> tuple[pq.ParquetWriter, Path]:
        if self._open is None:
            key = f"{self.prefix}part-{len(self.files):05d}.parquet"
            ctx = self.store.writing(key)
            path = ctx.__enter__()
            writer = pq.ParquetWriter(
                path,
                self.schema,
                use_dictionary=self.dictionary_columns,
                write_statistics=self.statistics,
                **WRITE_OPTIONS,
            )
            self._open = (ctx, path, writer, key)
            self._file_rows = 0
        return self._open[2], self._open[1]

    def _close_file(self) -> None:
        if self._open is None:
            return
        ctx, path, writer, key = self._open
        writer.close()
        size = path.stat().st_size
        ctx.__exit__(None, None, None)
        self._open = None
        self.files.append(FileEntry(key=key, rows=self._file_rows, bytes=size))


def iter_batches(
    store: LakeStore, keys: list[str], columns: list[str] | None = None, batch_rows: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Stream the record batches of several Parquet objects, one file open at a time."""
    for key in keys:
        with store.reading(key) as path:
            # no pre-buffering: it would read every row group's columns of the file at once
            # (a whole day of raw reports); and column chunks are read 1 MB at a time rather
            # than whole (a 16 MB row group of raw reports: ~20 MB less at the peak)
            parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
            yield from parquet.iter_batches(batch_size=batch_rows, columns=columns)


def footer_rows(store: LakeStore, keys: list[str]) -> int:
    """The rows the Parquet objects hold, from their footers."""
    rows = 0
    for key in keys:
        with store.reading(key) as path:
            rows += pq.ParquetFile(path).metadata.num_rows
    return rows
