"""What every asset does per day of its run: find the days, time them, keep attempts clean."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from dagster import AssetExecutionContext

from lake_assets.core.days import key_to_date
from lake_assets.core.run_tags import run_process_tags
from lake_assets.lake.retention import PublishedLookup, remove_unreferenced
from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import TABLE, DayPath, Superseded, later_attempt

PROGRESS_EVERY_S = 10.0
T = TypeVar("T")


def run_days(context: AssetExecutionContext) -> list[dt.date]:
    """The days of this run: one for a daily run, all of them for a single-run range. Also
    tags the run with the host and process running it, so that a kill is noticed
    (defs/automation/dead_runs.py)."""
    tags = run_process_tags()
    if any(context.run.tags.get(k) != v for k, v in tags.items()):
        context.instance.add_run_tags(context.run.run_id, tags)
    return [key_to_date(k) for k in context.partition_keys]


def or_the_later_runs(
    context: AssetExecutionContext,
    label: str,
    write: Callable[[], T],
    later: Callable[[], T | None],
) -> T:
    """`write()` a new version of a day (or a table); if a run that started later switched it
    first (Superseded), log why and return that run's version, `later()`, instead: the day
    only ever moves forward, and this run moves on."""
    try:
        return write()
    except Superseded as e:
        context.log.warning(f"{label}: {e}")
        version = later()
        assert version is not None, "a later run switched it"
        return version


@contextmanager
def new_attempt(
    store: LakeStore,
    day: dt.date | None,
    zones: list[str],
    attempt: str,
    published: PublishedLookup | None = None,
    table: str = TABLE,
) -> Iterator[None]:
    """On failure, remove what this attempt wrote unless a pointer already names it (best
    effort; the retention rule): what no manifest names was never switched to, so the last good
    version of the day stays current. A file of this attempt that vanished while it was
    written, after a run that started later switched the day (`zones[0]`, the zone whose
    manifest this attempt would switch), was deleted by that run's retention: `Superseded`."""
    try:
        yield
    except BaseException as error:
        try:
            remove_unreferenced(store, day, zones, published, abandoned={attempt}, table=table)
        except Exception as e:
            logging.getLogger(__name__).warning("could not clean up %s of %s: %s", attempt, day, e)
        if isinstance(error, FileNotFoundError):
            path = DayPath(zones[0], day, table)
            if later := later_attempt(store, path, attempt):
                raise Superseded(
                    f"{path.prefix}: a run that started later (attempt {later}) replaced this "
                    f"day and deleted this run's attempt {attempt} while it was written"
                ) from error
        raise


@dataclass
class Progress:
    """Logs rows, MB and rate while a long day is processed, and a summary at the end."""

    log: logging.Logger | logging.LoggerAdapter
    label: str
    unit: str = "rows"
    rows: int = 0
    nbytes: int = 0

    def __post_init__(self) -> None:
        self.started = self._last = time.monotonic()

    def add(self, rows: int, nbytes: int = 0) -> None:
        self.rows += rows
        self.nbytes += nbytes
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.log.info(f"{self.label}: {self.summary()} so far")

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> str:
        s = max(self.seconds, 1e-9)
        return (
            f"{self.rows:,} {self.unit}, {self.nbytes / 1e6:,.1f} MB in {s:,.2f}s "
            f"({self.rows / s:,.0f} {self.unit}/s)"
        )
