"""The lake as a Dagster resource: where it lives (LAKE_ROOT) and its files' layout; it hands
out the plain `LakeStore` (lake/store.py) where the logic lives. An S3 lake is
`S3LakeResource` (defs/s3_lake.py); `defs/resources.py` picks the one a LAKE_ROOT needs."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from lake_assets.lake.file_layout import FileLayout
from lake_assets.lake.store import LakeError, LakeStore, LocalStore


class LakeResource(ConfigurableResource):
    """Where the lake lives: a local folder (LAKE_ROOT). An S3 lake is `S3LakeResource`
    (defs/s3_lake.py), which adds dagster-aws's `S3Resource`; `lake_resource()`
    (defs/resources.py) picks the one a LAKE_ROOT needs, so that a local lake's processes
    never import dagster-aws."""

    root: str
    table_format: str = Field(
        default="hive", description="LAKE_TABLE_FORMAT: hive or iceberg (the data files' layout)"
    )

    def layout(self) -> FileLayout:
        return FileLayout(self.table_format)

    def store(self) -> LakeStore:
        store = self._open()
        store.check_writable()
        return store

    def _open(self) -> LakeStore:
        if self.root.startswith("s3://"):
            raise LakeError(
                f"LAKE_ROOT {self.root} is on S3, and an S3 lake needs S3LakeResource "
                "(lake_resource() picks it from LAKE_ROOT)"
            )
        return LocalStore(self.root)
