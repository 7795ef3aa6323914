"""The lake's tables as Apache Iceberg tables (LAKE_TABLE_FORMAT=iceberg).

A local lake keeps them in a pyiceberg `SqlCatalog` on SQLite, `<LAKE_ROOT>/iceberg_catalog.db`,
with each table's metadata under `<LAKE_ROOT>/iceberg/<table>/`. The data files are the ones
the assets wrote (lake/file_layout.py); they are never copied or rewritten.

Publishing days is one catalog commit holding one snapshot: the days' current files removed
and the new ones added by the same snapshot producer (an `overwrite`; an `append` when the days
had no files yet), committed as one compare-and-swap of the table's metadata location. So every
snapshot in the table's history, which time travel reads, shows each published day whole: never
the instant between a day's removal and its replacement. Its summary names the run and each
day's attempt.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, PrivateAttr

from lake_assets.catalogs.base import (
    LakeCatalog,
    PartitionSpec,
    TableShape,
    as_shape,
    published_attempt,
)
from lake_assets.catalogs.duckdb import sql_identifier, sql_string
from lake_assets.core.days import PARTITION_COLUMN
from lake_assets.core.errors import ExplainedFailure
from lake_assets.lake.parquet import footer_rows
from lake_assets.lake.retention import Published
from lake_assets.lake.store import LakeStore

if TYPE_CHECKING:  # pyiceberg is imported where a table is touched: a Hive lake never pays for it
    from pyiceberg.catalog import Catalog
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction

# Table properties: format v2; old metadata.json files are deleted as commits go by.
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "write.parquet.compression-codec": "zstd",
}
RUN_ID = "lake.run_id"
ATTEMPTS = "lake.attempts"  # {date: attempt} of the days a commit published


class IcebergCatalogResource(LakeCatalog):
    """Iceberg tables: in a SQL catalog on SQLite next to a local lake, in Glue for an S3
    lake."""

    lake_root: str = Field(description="LAKE_ROOT: a local folder, or s3://bucket/prefix")
    namespace: str = Field(
        default="datalake", description="GLUE_DATABASE: the namespace (the Glue database on S3)"
    )
    athena_workgroup: str = Field(default="primary", description="ATHENA_WORKGROUP (S3)")
    athena_output_location: str | None = Field(
        default=None, description="ATHENA_OUTPUT_LOCATION (S3; default <LAKE_ROOT>/_athena/)"
    )
    kms_key_id: str = Field(default="", description="LAKE_S3_KMS_KEY_ID, for Athena's results")
    snapshot_retention_days: int = Field(
        default=7, description="LAKE_SNAPSHOT_RETENTION_DAYS: older snapshots are expired"
    )
    orphan_margin_hours: int = Field(
        default=24,
        description="LAKE_ORPHAN_MARGIN_HOURS: unread files go once their attempt is this old",
    )
    _catalog: Catalog | None = PrivateAttr(default=None)

    def table_names(self) -> list[str]:
        return sorted(name for _, name in self.catalog().list_tables(self.namespace))

    @property
    def on_s3(self) -> bool:
        return self.lake_root.startswith("s3://")

    def describe(self) -> str:
        return f"iceberg:{'glue' if self.on_s3 else 'sql'}:{self.namespace}"

    # -- the catalog ------------------------------------------------------------------------

    def catalog(self) -> Catalog:
        """Glue for an S3 lake, a SQL catalog on SQLite in a local one, made once per resource
        (the namespace is made on first use). AWS settings are the standard ones (AWS_REGION,
        AWS_ENDPOINT_URL, credentials), for Glue (boto3) and for the Parquet and metadata files
        (Arrow's S3 client) alike."""
        if self._catalog is not None:
            return self._catalog
        if self.on_s3:
            from pyiceberg.catalog.glue import GlueCatalog

            catalog: Catalog = GlueCatalog("lake", **aws_properties())
        else:
            from pyiceberg.catalog.sql import SqlCatalog

            root = Path(self.lake_root)
            root.mkdir(parents=True, exist_ok=True)
            catalog = SqlCatalog(
                "lake",
                uri=f"sqlite:///{root / 'iceberg_catalog.db'}",
                warehouse=_uri(root / "iceberg"),
            )
        catalog.create_namespace_if_not_exists(self.namespace)
        self._catalog = catalog
        return catalog

    def location(self, name: str) -> str:
        """Where a table's metadata lives: `<LAKE_ROOT>/iceberg/<table>`."""
        if self.on_s3:
            return f"{self.lake_root.rstrip('/')}/iceberg/{name}"
        return _uri(Path(self.lake_root) / "iceberg" / name)

    def table(self, name: str) -> Table | None:
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog().load_table((self.namespace, name))
        except NoSuchTableError:
            return None

    def _create(self, name: str, files: pa.Schema) -> Table:
        """The table, made from the schema of the first files published to it, partitioned
        by `date` when they carry it."""
        from lake_assets.catalogs.iceberg_schema import partition_spec, table_schema

        schema = table_schema(files)
        return self.catalog().create_table_if_not_exists(
            (self.namespace, name),
            schema,
            location=self.location(name),
            partition_spec=partition_spec(schema),
            properties=TABLE_PROPERTIES,
        )

    def _file_schema(self, uri: str) -> pa.Schema:
        """A data file's Arrow schema, from its footer (local or S3)."""
        from pyiceberg.io.pyarrow import PyArrowFileIO

        with PyArrowFileIO(aws_properties()).new_input(uri).open() as f:
            return pq.read_schema(f)

    # -- LakeCatalog --------------------------------------------------------------------------

    def partitions(self, table: str) -> dict[str, PartitionSpec]:
        iceberg = self.table(table)
        if iceberg is None or iceberg.current_snapshot() is None:
            return {}
        files: dict[str, list[str]] = defaultdict(list)
        rows: dict[str, int] = defaultdict(int)
        # the current snapshot's data files, empty ones included (a scan plan skips those)
        for date, path, count in _files_by_day(iceberg, iceberg.inspect.files()):
            files[date].append(path)
            rows[date] += count
        return {
            date: PartitionSpec(
                date=date,
                location=paths[0].rsplit("/", 1)[0] + "/",
                files=sorted(paths),
                rows=rows[date],
            )
            for date, paths in files.items()
        }

    def publish(
        self, table: TableShape | str, partitions: Sequence[PartitionSpec], run_id: str
    ) -> None:
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        shape = as_shape(table)
        files = [_uri(f) for spec in partitions for f in spec.files]
        if not files:
            return
        incoming = self._file_schema(files[-1])
        iceberg = self.table(shape.name) or self._create(shape.name, incoming)
        added = [n for n in incoming.names if n not in iceberg.schema().column_names]
        dates = [spec.date for spec in partitions]
        summary = {
            RUN_ID: run_id,
            ATTEMPTS: json.dumps({s.date: published_attempt(s) for s in partitions}),
        }
        try:
            with iceberg.transaction() as tx:
                if added:  # the source gained columns: they flow into the table
                    with tx.update_schema() as update:
                        update.union_by_name(incoming)
                partitioned = PARTITION_COLUMN in iceberg.schema().column_names
                replace_files(tx, dates if partitioned else None, partitions, summary)
        except (CommitFailedException, ValidationException) as e:
            raise ExplainedFailure(
                f"{shape.name}: another writer committed to the Iceberg table at the same "
                f"time ({e}); retrying reads the table afresh",
                retryable=True,
            ) from e

    def retained_attempts(self, table: str, date: str) -> list[str]:
        """The day's attempts that any snapshot still in the table's metadata reads: current
        and time-travel versions alike (their files stay until the snapshots expire)."""
        iceberg = self.table(table)
        if iceberg is None or iceberg.current_snapshot() is None:
            return []
        every = _files_by_day(iceberg, iceberg.inspect.all_data_files())
        return sorted({path.rsplit("/", 2)[-2] for day, path, _ in every if day == date})

    def published(self, table: str, date: str) -> Published:
        return Published(
            published_attempt(self.partition(table, date)),
            frozenset(self.retained_attempts(table, date)),
        )

    def published_by(self, table: str, date: str) -> dict[str, str]:
        """The latest commit in the current snapshot's ancestry that published the day."""
        iceberg = self.table(table)
        snapshot = iceberg.current_snapshot() if iceberg else None
        while iceberg is not None and snapshot is not None:
            props = snapshot.summary.additional_properties if snapshot.summary else {}
            attempts = json.loads(props.get(ATTEMPTS, "{}"))
            if date in attempts:
                return {
                    "snapshot_id": str(snapshot.snapshot_id),
                    "run_id": props.get(RUN_ID, ""),
                    "attempt": attempts[date],
                }
            parent = snapshot.parent_snapshot_id
            snapshot = iceberg.snapshot_by_id(parent) if parent is not None else None
        return {}

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Read-only SQL over each table's current snapshot: DuckDB reads exactly the files
        the snapshot lists (no delete files are ever written, so that is exact); on S3,
        Athena, which reads Iceberg tables in Glue natively."""
        if self.on_s3:
            from lake_assets.catalogs.athena import run_athena_query
            from lake_assets.lake.aws import aws_client

            output = self.athena_output_location or f"{self.lake_root.rstrip('/')}/_athena/"
            return run_athena_query(
                aws_client(None, "athena"),
                sql,
                database=self.namespace,
                workgroup=self.athena_workgroup,
                output_location=output,
                kms_key_id=self.kms_key_id,
            )
        import duckdb  # here: a process that only writes never loads it

        conn = duckdb.connect()
        try:
            for name in self.table_names():
                iceberg = self.table(name)
                assert iceberg is not None
                paths = [_path(t.file.file_path) for t in iceberg.scan().plan_files()]
                view = sql_identifier(name)
                if paths:
                    listed = ", ".join(sql_string(p) for p in paths)
                    # the table's columns, by name: an older file lacks a column added since
                    columns = ", ".join(sql_identifier(c) for c in iceberg.schema().column_names)
                    conn.execute(
                        f"CREATE VIEW {view} AS SELECT {columns} FROM read_parquet([{listed}], "
                        "hive_partitioning = false, union_by_name = true)"
                    )
                else:
                    empty = sql_identifier(f"_{name}_empty")
                    conn.register(empty.strip('"'), iceberg.schema().as_arrow().empty_table())
                    conn.execute(f"CREATE VIEW {view} AS SELECT * FROM {empty}")
            result = conn.execute(sql)
            names = [d[0] for d in result.description or []]
            return names, result.fetchall()
        finally:
            conn.close()

    def published_rows(self, table: str, spec: PartitionSpec, store: LakeStore) -> int:
        """The rows of the day's files in the current snapshot, from their footers."""
        root = store.uri("").rstrip("/") + "/"
        return footer_rows(store, [_path(f).removeprefix(root) for f in spec.files])


def _files_by_day(iceberg: Table, files: pa.Table) -> Iterator[tuple[str, str, int]]:
    """(day, path, rows) of each data file an `inspect` table lists; day "" for an
    unpartitioned table."""
    partitioned = PARTITION_COLUMN in iceberg.schema().column_names
    columns = (files.column(c).to_pylist() for c in ("partition", "file_path", "record_count"))
    for partition, path, rows in zip(*columns, strict=True):
        yield (partition[PARTITION_COLUMN] if partitioned else ""), _path(path), rows


def replace_files(
    tx: Transaction,
    dates: Sequence[str] | None,
    partitions: Sequence[PartitionSpec],
    summary: dict,
) -> None:
    """One snapshot that removes the current data files of `dates` (of the whole table when
    None: an unpartitioned table) and adds the `partitions`' files.

    pyiceberg's `Transaction.delete` followed by `add_files` would commit two snapshots in the
    one metadata swap (a `delete`, then an `append`), and the first of them, in the table's
    snapshot log, shows the days missing to anyone who time-travels to it. Here one
    `_OverwriteFiles` producer (what `update_snapshot().overwrite()` returns) takes both: each
    old file by `delete_data_file`, each new one by `append_data_file`. The days' filter is
    also its conflict filter: a commit by another writer since this transaction began that
    added files to the same days fails this one with a ValidationException (serializable
    isolation, as the delete had); commits to other days are rebased onto. When there is
    nothing to remove (the days' first publish) the snapshot is recorded as the `append` it
    is, not an `overwrite`.
    pyiceberg 0.12's producer API (checked in its source; pyproject keeps it below 0.13)."""
    from pyiceberg.expressions import AlwaysTrue, In
    from pyiceberg.table.snapshots import Operation

    replaced = AlwaysTrue() if dates is None else In(PARTITION_COLUMN, dates)
    old = _current_files(tx, dates)
    with tx.update_snapshot(snapshot_properties=summary).overwrite() as producer:
        producer.delete_by_predicate(replaced)  # the conflict filter, not a row delete
        for data_file in old:
            producer.delete_data_file(data_file)
        if not old:
            producer._operation = Operation.APPEND
        for data_file in _new_files(tx, partitions, partitioned=dates is not None):
            producer.append_data_file(data_file)


def _current_files(tx: Transaction, dates: Sequence[str] | None) -> list[DataFile]:
    """The current snapshot's data files of `dates` (all of them when None), empty files
    included, read from its manifests."""
    from pyiceberg.manifest import DataFileContent

    snapshot = tx.table_metadata.current_snapshot()
    if snapshot is None:
        return []
    io, days = tx._table.io, None if dates is None else set(dates)
    files = []
    for manifest in snapshot.manifests(io):
        for entry in manifest.fetch_manifest_entry(io, discard_deleted=True):
            data_file = entry.data_file
            if data_file.content != DataFileContent.DATA:
                continue
            if days is None or str(data_file.partition[0]) in days:
                files.append(data_file)
    return files


def _new_files(
    tx: Transaction, partitions: Sequence[PartitionSpec], *, partitioned: bool
) -> Iterator[DataFile]:
    """The `partitions`' files as Iceberg data files, as pyiceberg's `add_files` makes them
    (each file's partition read from its `date` column's min/max in the footer), except that
    an empty day's file (a day the source had no rows for: no min/max) gets its partition
    given, so that the day is published empty, as in Hive."""
    from pyiceberg.io.pyarrow import parquet_file_to_data_file
    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.table import TableProperties
    from pyiceberg.typedef import Record

    metadata, io = tx.table_metadata, tx._table.io
    if metadata.name_mapping() is None:  # what add_files does: the files carry no field ids
        mapping = metadata.schema().name_mapping.model_dump_json()
        tx.set_properties(**{TableProperties.DEFAULT_NAME_MAPPING: mapping})
        metadata = tx.table_metadata
    for spec in partitions:
        for uri in (_uri(f) for f in spec.files):
            if spec.rows:
                yield parquet_file_to_data_file(io, metadata, uri)
                continue
            yield (
                DataFile.from_args(
                    content=DataFileContent.DATA,
                    file_path=uri,
                    file_format=FileFormat.PARQUET,
                    partition=Record(spec.date) if partitioned else Record(),
                    file_size_in_bytes=len(io.new_input(uri)),
                    sort_order_id=None,
                    spec_id=metadata.default_spec_id,
                    equality_ids=None,
                    key_metadata=None,
                    record_count=0,
                    column_sizes={},
                    value_counts={},
                    null_value_counts={},
                    nan_value_counts={},
                    lower_bounds={},
                    upper_bounds={},
                    split_offsets=None,
                )
            )


def aws_properties() -> dict[str, str]:
    """pyiceberg's settings for Glue and S3, from the standard AWS environment variables
    (pyiceberg's S3 client is Arrow's, which does not read AWS_ENDPOINT_URL by itself)."""
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    s3 = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    glue = env.get("AWS_ENDPOINT_URL_GLUE") or env.get("AWS_ENDPOINT_URL")
    props = {
        "s3.region": region,
        "glue.region": region,
        "s3.endpoint": s3,
        "glue.endpoint": glue,
        "glue.profile-name": env.get("AWS_PROFILE"),
    }
    return {k: v for k, v in props.items() if v}


def _uri(path: str | Path) -> str:
    """file:// and the absolute path as it is: pyiceberg and DuckDB take it unescaped (the
    lake's folders are named date=YYYYMMDD)."""
    return str(path) if "://" in str(path) else f"file://{Path(path).resolve()}"


def _path(uri: str) -> str:
    return uri.removeprefix("file://")
