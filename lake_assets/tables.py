"""The one table the lake transforms, as a value like any copy's: `reports`.

`raw_reports` is its daily copy (by `date_start`, device-major), checked against the source
with the key `id|updated_at`, which the late-data sensor can afford to recompute every tick;
`decoded_reports` and `reports_table` are the transform and its catalog table. Copies declared
in the copies file are `TableSpec`s too (copies/config.py).
"""

from lake_assets.copies.spec import CopyMode, TableSpec

REPORTS = TableSpec(
    table="reports",
    mode=CopyMode.DAILY,
    date_column="date_start",
    sort_by=("device_id", "id"),  # device-major: row groups prune on device_id, then ts
    checksum_columns=("id", "updated_at"),
    origin="the contract's reports table",
)
