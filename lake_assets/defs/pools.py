"""The project's concurrency pools, and creating them once on a new instance.

Dagster creates a pool's row (at the instance's `pools.default_limit`) the first time a step
claims it. On PostgreSQL two runs doing that at the same moment collide: one insert fails on
the unique key, its transaction is aborted, and that run fails. Creating the pools once,
before any run (`lake-assets pools`, which `make prod-local` runs), leaves nothing to race on;
their limits still follow `default_limit`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterInstance

MYSQL_EXTRACT = "mysql_extract"  # steps that read the source database
LAKE_CATALOG = "lake_catalog"  # steps that write the catalog (DuckDB, Glue)
POOLS = (MYSQL_EXTRACT, LAKE_CATALOG)


@dataclass(frozen=True)
class Pool:
    name: str
    limit: int | None  # None: unlimited
    from_default: bool


def ensure_pools(instance: DagsterInstance) -> list[Pool]:
    """Create each pool that does not exist yet at the instance's default limit; returns them."""
    storage = instance.event_log_storage
    existing = {p.name for p in storage.get_pool_limits()}
    for name in POOLS:
        if name not in existing:
            storage.initialize_concurrency_limit_to_default(name)
    limits = {p.name: p for p in storage.get_pool_limits()}
    return [
        Pool(name, limits[name].limit, limits[name].from_default)
        if name in limits
        else Pool(name, None, True)
        for name in POOLS
    ]
