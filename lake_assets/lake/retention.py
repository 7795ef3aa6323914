"""The lake's one retention rule: when an attempt of a day may be deleted.

A day has pointers to its attempts, and each only ever moves forward (to a later-started
attempt): the raw manifest names the raw attempt; the data manifest names the data attempt
and, linked, the quarantine attempt switched with it; the quarantine manifest mirrors that;
the catalog names the published data attempt. An attempt the catalog still reads (an Iceberg
table's retained snapshots) is kept, whatever its age, until the catalog stops reading it.

An attempt is deleted only if, re-read now, no pointer of its zone names it and it is older
than every one of them, since a pointer that only moves forward can then never come back to
it. Newer attempts belong to runs still writing and are left to them; with a pointer missing
(a day never published) nothing older is deleted, since a publisher may be about to name it.
The one exception is `abandoned`: a run's own failed attempt, deleted if nothing names it.
Files of runs killed mid-write fall under the rule the next time the day is written.

Without the catalog's pointer (`published` None, as for decoded_reports, which does not use
the catalog), the data zone deletes only an abandoned attempt that no manifest has reached
yet: the catalog only ever names what a data manifest named first, so such an attempt cannot
be published. Superseded data attempts are then left to reports_table, which knows the
catalog.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass

from lake_assets.lake.store import LakeStore
from lake_assets.lake.zones import DATA, QUARANTINE, RAW, TABLE, DayPath, attempt_of, read_manifest


@dataclass(frozen=True)
class Published:
    """What the catalog shows of a day: the attempt it publishes now (a pointer that only
    moves forward; None if unpublished) and every attempt it still reads (a table format with
    time travel reads older ones too, until their snapshots expire)."""

    current: str | None
    read: frozenset[str] = frozenset()


# The catalog's view of a day, read when called.
PublishedLookup = Callable[[dt.date | None], Published]


def day_pointers(
    store: LakeStore,
    day: dt.date | None,
    zones: Collection[str],
    shown: Published | None,
    table: str = TABLE,
) -> dict[str, list[str | None]]:
    """Every pointer of the day in `zones`, read now (None where one does not exist yet);
    `shown` is the catalog's view of the day, read by the caller."""

    def attempt(zone: str) -> str | None:
        manifest = read_manifest(store, DayPath(zone, day, table))
        return manifest.attempt if manifest else None

    pointers: dict[str, list[str | None]] = {}
    if RAW in zones:
        pointers[RAW] = [attempt(RAW)]
    if DATA in zones or QUARANTINE in zones:
        data = read_manifest(store, DayPath(DATA, day, table))
        if DATA in zones:
            pointers[DATA] = [data.attempt if data else None]
            if shown is not None:
                pointers[DATA].append(shown.current)
        if QUARANTINE in zones:
            linked = data.linked_zone(QUARANTINE) if data else None
            pointers[QUARANTINE] = [attempt(QUARANTINE), linked.attempt if linked else None]
    return pointers


def remove_unreferenced(
    store: LakeStore,
    day: dt.date | None,
    zones: Collection[str],
    published: PublishedLookup | None = None,
    abandoned: Collection[str] = (),
    table: str = TABLE,
) -> int:
    """Apply the rule to the day's attempts in `zones` of `table` (day None: an unpartitioned
    table); returns the number of files deleted. Without `published` (the catalog's pointer)
    the data zone only loses abandoned attempts that no manifest has reached."""
    # the catalog is read once: its pointer, and what it still reads, from the same moment
    shown = published(day) if published is not None and DATA in zones else None
    pointers = day_pointers(store, day, zones, shown, table)
    still_read = shown.read if shown is not None else frozenset()
    removed = 0
    for zone in zones:
        named = pointers[zone]
        path = DayPath(zone, day, table)
        by_attempt: dict[str, list[str]] = defaultdict(list)
        for key in store.list_keys(path.prefix):
            attempt = attempt_of(key, path)
            if attempt is not None and not attempt.startswith((".", "_", "date=")):
                by_attempt[attempt].append(key)
        for attempt, keys in by_attempt.items():
            if attempt in named or (zone == DATA and attempt in still_read):
                continue
            if zone == DATA and published is None:
                unreached = all(p is None or p < attempt for p in named)
                if attempt in abandoned and unreached:
                    removed += store.delete_keys(keys)
                continue
            superseded = all(p is not None and attempt < p for p in named)
            if superseded or attempt in abandoned:
                removed += store.delete_keys(keys)
    return removed
