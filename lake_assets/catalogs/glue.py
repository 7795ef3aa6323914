"""The AWS Glue Data Catalog for an S3 lake: the table `<GLUE_DATABASE>.reports` and one
partition per published day, registered directly (no crawler, no MSCK REPAIR).

Publishing a day creates or updates its partition so that its location is the day's new
attempt folder: Athena switches from the old files to the new ones in that one call, and the
old attempt is deleted only afterwards. Glue's batch calls report failures per partition in
the response body rather than raising, so every response is checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from dagster_aws.utils import ResourceWithBoto3Configuration
from pydantic import Field

from lake_assets.catalogs.athena import run_athena_query
from lake_assets.catalogs.base import (
    LakeCatalog,
    PartitionSpec,
    TableShape,
    as_shape,
)
from lake_assets.core.days import PARTITION_COLUMN
from lake_assets.lake.aws import AwsError, aws_client, explain_aws_errors

BATCH_WRITE = 100  # Glue's limit for batch_create_partition / batch_update_partition
BATCH_GET = 1000
PARQUET_STORAGE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}
GLUE_PERMISSIONS = (
    "glue:GetDatabase, glue:CreateDatabase, glue:GetTable, glue:CreateTable, glue:UpdateTable, "
    "glue:GetPartition, glue:GetPartitions, glue:BatchGetPartition, glue:BatchCreatePartition, "
    "glue:BatchUpdatePartition"
)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class GlueCatalogResource(ResourceWithBoto3Configuration, LakeCatalog):
    """Glue table and partitions over `<lake_root>/data/reports/`; queries go to Athena."""

    database: str = Field(description="GLUE_DATABASE")
    lake_root: str = Field(description="s3://bucket/prefix (LAKE_ROOT)")
    athena_workgroup: str = Field(default="primary", description="ATHENA_WORKGROUP")
    athena_output_location: str | None = Field(
        default=None,
        description="ATHENA_OUTPUT_LOCATION; default <LAKE_ROOT>/_athena/ unless the workgroup "
        "enforces its own",
    )

    kms_key_id: str = Field(
        default="", description="LAKE_S3_KMS_KEY_ID: Athena's results encrypted with this key"
    )

    def describe(self) -> str:
        return f"glue:{self.database}"

    def table_location(self, table: str) -> str:
        return f"{self.lake_root.rstrip('/')}/data/{table}/"

    def _errors(self, action: str, table: str):
        return explain_aws_errors(action, f"glue:{self.database}.{table}", GLUE_PERMISSIONS)

    # -- table --------------------------------------------------------------------------------

    def table_input(
        self, table: TableShape | str, whole: PartitionSpec | None = None, run_id: str = ""
    ) -> dict[str, Any]:
        """A daily table over `data/<table>/`, partitioned by `date`; an unpartitioned one
        (a full copy) located at its current copy's folder, `whole`."""
        shape = as_shape(table)
        parameters = {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "parquet.compression": "ZSTD",
        }
        if whole is not None:
            parameters |= {
                "rows": str(whole.rows),
                "files": str(len(whole.files)),
                "run_id": run_id,
            }
        return {
            "Name": shape.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string"}]
            if shape.partitioned
            else [],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in shape.columns],
                "Location": whole.location if whole else self.table_location(shape.name),
                **PARQUET_STORAGE,
            },
        }

    def ensure_table(
        self,
        glue: Any,
        table: TableShape | str,
        whole: PartitionSpec | None = None,
        run_id: str = "",
    ) -> str:
        """Create the database and table if missing, update the table if our declared schema
        (or, unpartitioned, its current copy) changed; returns "created", "updated" or
        "unchanged"."""
        try:
            glue.get_database(Name=self.database)
        except glue.exceptions.EntityNotFoundException:
            glue.create_database(DatabaseInput={"Name": self.database})
        wanted = self.table_input(table, whole, run_id)
        table = wanted["Name"]
        try:
            current = glue.get_table(DatabaseName=self.database, Name=table)["Table"]
        except glue.exceptions.EntityNotFoundException:
            glue.create_table(DatabaseName=self.database, TableInput=wanted)
            return "created"
        if _table_shape(current) == _table_shape(wanted):
            return "unchanged"
        glue.update_table(DatabaseName=self.database, TableInput=wanted)
        return "updated"

    # -- partitions ---------------------------------------------------------------------------

    def _whole(self, glue: Any, table: str) -> dict[str, PartitionSpec] | None:
        """An unpartitioned table's one slot ({"": its copy}), {} if the table is missing,
        None if the table is partitioned."""
        try:
            t = glue.get_table(DatabaseName=self.database, Name=table)["Table"]
        except glue.exceptions.EntityNotFoundException:
            return {}
        if t.get("PartitionKeys"):
            return None
        return {"": _spec({"Values": [""], **t})}

    def partitions(self, table: str) -> dict[str, PartitionSpec]:
        glue = aws_client(self, "glue")
        out: dict[str, PartitionSpec] = {}
        with self._errors("read partitions of", table):
            whole = self._whole(glue, table)
            if whole is not None:
                return whole
            try:
                pages = glue.get_paginator("get_partitions").paginate(
                    DatabaseName=self.database, TableName=table
                )
                for page in pages:
                    for p in page["Partitions"]:
                        out[p["Values"][0]] = _spec(p)
            except glue.exceptions.EntityNotFoundException:
                return {}
        return out

    def partition(self, table: str, date: str) -> PartitionSpec | None:
        glue = aws_client(self, "glue")
        with self._errors("read partitions of", table):
            if not date:
                return (self._whole(glue, table) or {}).get("")
            try:
                response = glue.get_partition(
                    DatabaseName=self.database, TableName=table, PartitionValues=[date]
                )
            except glue.exceptions.EntityNotFoundException:
                return None
        return _spec(response["Partition"])

    def publish(
        self, table: TableShape | str, partitions: Sequence[PartitionSpec], run_id: str
    ) -> None:
        shape = as_shape(table)
        table = shape.name
        glue = aws_client(self, "glue")
        with self._errors("publish to", table):
            if not shape.partitioned:
                # One call switches the whole table to the new copy's folder.
                [whole] = partitions
                self.ensure_table(glue, shape, whole, run_id)
                return
            self.ensure_table(glue, shape)
            existing = self._existing(glue, table, [p.date for p in partitions])
            creates = [p for p in partitions if p.date not in existing]
            updates = [p for p in partitions if p.date in existing]
            for chunk in _chunks(creates, BATCH_WRITE):
                response = glue.batch_create_partition(
                    DatabaseName=self.database,
                    TableName=table,
                    PartitionInputList=[self._partition_input(shape, p, run_id) for p in chunk],
                )
                errors = response.get("Errors", [])
                # Created meanwhile by a concurrent run: update it instead (the later wins).
                raced = {
                    e["PartitionValues"][0]
                    for e in errors
                    if e["ErrorDetail"].get("ErrorCode") == "AlreadyExistsException"
                }
                updates += [p for p in chunk if p.date in raced]
                _raise_partition_errors(
                    "create", table, [e for e in errors if e["PartitionValues"][0] not in raced]
                )
            for chunk in _chunks(updates, BATCH_WRITE):
                response = glue.batch_update_partition(
                    DatabaseName=self.database,
                    TableName=table,
                    Entries=[
                        {
                            "PartitionValueList": [p.date],
                            "PartitionInput": self._partition_input(shape, p, run_id),
                        }
                        for p in chunk
                    ],
                )
                _raise_partition_errors("update", table, response.get("Errors", []))

    def _existing(self, glue: Any, table: str, dates: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(dates, BATCH_GET):
            response = glue.batch_get_partition(
                DatabaseName=self.database,
                TableName=table,
                PartitionsToGet=[{"Values": [d]} for d in chunk],
            )
            found |= {p["Values"][0] for p in response.get("Partitions", [])}
            if response.get("UnprocessedKeys"):
                raise AwsError(
                    f"Glue could not read {len(response['UnprocessedKeys'])} "
                    f"partition(s) of {self.database}.{table}; retry the run"
                )
        return found

    def _partition_input(self, shape: TableShape, p: PartitionSpec, run_id: str) -> dict[str, Any]:
        return {
            "Values": [p.date],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in shape.columns],
                "Location": p.location,
                **PARQUET_STORAGE,
            },
            "Parameters": {"rows": str(p.rows), "files": str(len(p.files)), "run_id": run_id},
        }

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        output = self.athena_output_location or f"{self.lake_root.rstrip('/')}/_athena/"
        return run_athena_query(
            aws_client(self, "athena"),
            sql,
            database=self.database,
            workgroup=self.athena_workgroup,
            output_location=output,
            kms_key_id=self.kms_key_id,
        )


def _spec(partition: dict[str, Any]) -> PartitionSpec:
    params = partition.get("Parameters", {})
    return PartitionSpec(
        date=partition["Values"][0],
        location=partition["StorageDescriptor"]["Location"],
        files=[],
        rows=int(params.get("rows", 0)),
    )


def _table_shape(t: dict[str, Any]) -> tuple[Any, ...]:
    sd = t.get("StorageDescriptor", {})
    return (
        [(c["Name"], c["Type"]) for c in sd.get("Columns", [])],
        [(c["Name"], c["Type"]) for c in t.get("PartitionKeys", [])],
        sd.get("Location"),
        sd.get("SerdeInfo", {}).get("SerializationLibrary"),
        t.get("Parameters", {}).get("run_id"),
    )


def _raise_partition_errors(action: str, table: str, errors: list[dict[str, Any]]) -> None:
    if errors:
        details = "; ".join(
            f"date={e['PartitionValues'][0]}: {e['ErrorDetail'].get('ErrorCode')} "
            f"{e['ErrorDetail'].get('ErrorMessage', '')}".strip()
            for e in errors
        )
        raise AwsError(f"Glue could not {action} {len(errors)} partition(s) of {table}: {details}")
