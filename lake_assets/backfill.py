"""`lake-assets backfill`: a real Dagster asset backfill of the daily assets, submitted and
followed through the webserver's GraphQL API.

That is the route the UI's "Materialize → range" takes (the `launchPartitionBackfill`
mutation), so the backfill is the same object, listed under Backfills, split into runs by the
daemon according to each asset's `BackfillPolicy` (LAKE_BACKFILL_DAYS_PER_RUN). It needs only
the webserver's address, not the instance's database: from a laptop, it works through the
same private route people use for the UI. (`dagster job backfill` would make one run per day
and ignore the policy; `instance.add_backfill` is private API and needs database access.)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"

_DAILY_ASSETS = """
{ assetNodes { assetKey { path } partitionDefinition { type } } }"""

_LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}"""

_PROGRESS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 10000) { status } }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message }
  }
}"""

# A backfill in one of these states will not change any more.
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
_RUN_DONE = {"SUCCESS"}
_RUN_FAILED = {"FAILURE", "CANCELED"}


class BackfillError(RuntimeError):
    """The webserver refused or could not be reached; the message says what to change."""


@dataclass(frozen=True)
class BackfillProgress:
    status: str
    done: int
    failed: int
    in_flight: int

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return (
            self.finished and self.failed == 0 and self.status in ("COMPLETED", "COMPLETED_SUCCESS")
        )

    def __str__(self) -> str:
        return (
            f"{self.done} run(s) done, {self.failed} failed, {self.in_flight} in flight "
            f"({self.status.lower()})"
        )


@dataclass(frozen=True)
class Webserver:
    """The Dagster webserver at `url` (DAGSTER_WEBSERVER_URL)."""

    url: str = DEFAULT_WEBSERVER_URL
    timeout_s: float = 30.0

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url.rstrip('/')}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise BackfillError(
                f"the Dagster webserver at {self.url} answered HTTP {e.code}: check "
                "DAGSTER_WEBSERVER_URL (or --url)"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise BackfillError(
                f"cannot reach the Dagster webserver at {self.url} ({reason}): start it "
                "(make prod-local, make dev) or set DAGSTER_WEBSERVER_URL (or --url)"
            ) from None
        if body.get("errors"):
            raise BackfillError(
                f"the webserver refused the request: {body['errors'][0]['message']}"
            )
        return body["data"]

    def daily_assets(self) -> list[list[str]]:
        """The key paths of every daily-partitioned asset of the deployment."""
        nodes = self.graphql(_DAILY_ASSETS)["assetNodes"]
        return sorted(
            n["assetKey"]["path"]
            for n in nodes
            if (n.get("partitionDefinition") or {}).get("type") == "TIME_WINDOW"
        )

    def launch(self, first: str, last: str, assets: Sequence[Sequence[str]]) -> str:
        """Submit one backfill of `assets` for the days first…last; returns its id."""
        params = {
            "partitionsByAssets": [
                {
                    "assetKey": {"path": list(a)},
                    "partitions": {"range": {"start": first, "end": last}},
                }
                for a in assets
            ],
            "title": f"lake-assets backfill {first}…{last}",
        }
        result = self.graphql(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise BackfillError(
                f"the backfill was refused: {result.get('message', result['__typename'])}"
            )
        return result["backfillId"]

    def progress(self, backfill_id: str) -> BackfillProgress:
        found = self.graphql(_PROGRESS, {"id": backfill_id})["partitionBackfillOrError"]
        if found["__typename"] != "PartitionBackfill":
            raise BackfillError(
                f"backfill {backfill_id}: {found.get('message', found['__typename'])}"
            )
        statuses = [r["status"] for r in found["runs"]]
        done = sum(s in _RUN_DONE for s in statuses)
        failed = sum(s in _RUN_FAILED for s in statuses)
        return BackfillProgress(found["status"], done, failed, len(statuses) - done - failed)

    def link(self, backfill_id: str) -> str:
        return f"{self.url.rstrip('/')}/runs/b/{backfill_id}?tab=runs"


def follow(
    webserver: Webserver,
    backfill_id: str,
    echo: Callable[[str], None],
    poll_s: float = 5.0,
    unreachable_for_s: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillProgress:
    """Poll the backfill until it finishes, saying each change of its progress. A webserver
    that stops answering (a restart, a deploy) is waited for up to `unreachable_for_s`."""
    last: BackfillProgress | None = None
    lost_since: float | None = None
    while True:
        try:
            progress = webserver.progress(backfill_id)
            lost_since = None
        except BackfillError as e:
            now = time.monotonic()
            lost_since = lost_since or now
            if now - lost_since > unreachable_for_s:
                raise
            echo(f"  … {e}; trying again")
            sleep(poll_s)
            continue
        if progress != last:
            echo(f"  {progress}")
            last = progress
        if progress.finished:
            return progress
        sleep(poll_s)
