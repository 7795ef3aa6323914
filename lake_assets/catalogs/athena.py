"""Athena queries for `lake-assets query` on an S3 lake: start, wait, read the results."""

from __future__ import annotations

import time
from typing import Any

from lake_assets.lake.aws import AwsError, explain_aws_errors

ATHENA_PERMISSIONS = (
    "athena:StartQueryExecution, athena:GetQueryExecution, athena:GetQueryResults "
    "(and s3:PutObject on the output location)"
)


def run_athena_query(
    athena: Any,
    sql: str,
    *,
    database: str,
    workgroup: str,
    output_location: str,
    kms_key_id: str = "",
    poll_s: float = 0.5,
    timeout_s: float = 600.0,
) -> tuple[list[str], list[tuple]]:
    """Run `sql` in `database`; returns column names and rows (values as Athena's strings).
    With `kms_key_id`, the results Athena writes to S3 are encrypted with that key (SSE-KMS)."""
    results: dict[str, Any] = {"OutputLocation": output_location}
    if kms_key_id:
        results["EncryptionConfiguration"] = {"EncryptionOption": "SSE_KMS", "KmsKey": kms_key_id}
    with explain_aws_errors("query", f"athena:{workgroup}/{database}", ATHENA_PERMISSIONS):
        qid = athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": database},
            WorkGroup=workgroup,
            ResultConfiguration=results,
        )["QueryExecutionId"]
        deadline = time.monotonic() + timeout_s
        while True:
            status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
            if status["State"] == "SUCCEEDED":
                break
            if status["State"] in ("FAILED", "CANCELLED"):
                raise AwsError(
                    f"Athena query {qid} {status['State'].lower()}: "
                    f"{status.get('StateChangeReason', 'no reason given')}"
                )
            if time.monotonic() > deadline:
                athena.stop_query_execution(QueryExecutionId=qid)
                raise AwsError(f"Athena query {qid} took over {timeout_s:.0f}s; stopped it")
            time.sleep(poll_s)
        names: list[str] = []
        rows: list[tuple] = []
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            if not names:
                names = [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            for row in page["ResultSet"]["Rows"]:
                values = tuple(d.get("VarCharValue") for d in row["Data"])
                if not rows and values == tuple(names):
                    continue  # Athena repeats the header as the first row
                rows.append(values)
    return names, rows
