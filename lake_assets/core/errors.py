"""The one kind of error the pipeline raises on purpose: a sentence that says what to fix.

It is a Dagster `Failure`, so the UI shows the sentence as the step's error, and it says whether
a retry can help. Only what is known to be transient is retried: a lost MySQL connection, a
lock wait or deadlock (SourceError), AWS throttling, 5xx and timeouts (AwsError), a DuckDB
catalog held by another writer (CatalogLocked). Everything else fails at once:
`only_transient_retried` turns any other exception leaving an asset into a failure that is not
retried, with one sentence, so that the asset's RetryPolicy never repeats a bad setting or a
bug for minutes.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dagster import Failure

P = ParamSpec("P")
R = TypeVar("R")


class ExplainedFailure(Failure):
    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(description=message, allow_retries=retryable)

    def __str__(self) -> str:
        return self.description or ""


def only_transient_retried(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap an asset's body: explained failures pass as they are; anything else is final."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ExplainedFailure:
            raise
        except Failure as e:
            raise ExplainedFailure(e.description or str(e)) from e
        except OSError as e:
            raise ExplainedFailure(explain_os_error(e)) from e
        except Exception as e:
            raise ExplainedFailure(f"{type(e).__name__}: {e}") from e

    return wrapper


def lake_full(where: str) -> str:
    return (
        f"the disk holding the lake at {where} is full — free space, or set LAKE_ROOT to a "
        "folder on another disk"
    )


def lake_unwritable(where: str, reason: str) -> str:
    return (
        f"cannot write the lake at {where} ({reason}) — set LAKE_ROOT to a writable folder "
        "or s3://bucket/prefix"
    )


def explain_os_error(e: OSError) -> str:
    where = e.filename or "LAKE_ROOT"
    if e.errno == errno.ENOSPC:
        return lake_full(where)
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR):
        return lake_unwritable(where, e.strerror)
    return f"{type(e).__name__}: {e}"
