"""Report a check day by day, also inside a single-run range.

Dagster records an `AssetCheckResult` against the step's partition, and a range step has
none; so for a range every day's verdict is logged as its own partitioned evaluation, and the
step's result is the conjunction, with a per-day table. A failing day is also logged as an
error; a passing one is not (its evaluation already says so, and each log line is one more
write to the event log per day).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
)

from lake_assets.core.days import key_to_date
from lake_assets.defs.steps.metadata import markdown_table


@dataclass
class Verdict:
    """One day's outcome of one check: pass/fail, why, and the numbers behind it."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def check_each_day(
    context: AssetCheckExecutionContext,
    judge: Callable[[dt.date], Verdict],
    *,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
) -> AssetCheckResult:
    """Judge every day of the run; the check's key and blocking flag come from its spec."""
    [spec] = context.check_specs
    days = [key_to_date(k) for k in context.partition_keys]
    verdicts = {day: judge(day) for day in days}
    for day, verdict in verdicts.items():
        if not verdict.passed:
            context.log.error(verdict.description)
        if len(days) > 1:
            context.op_execution_context.log_event(
                AssetCheckEvaluation(
                    asset_key=spec.asset_key,
                    check_name=spec.name,
                    passed=verdict.passed,
                    metadata=flat_metadata(verdict.metadata),
                    severity=severity,
                    description=verdict.description,
                    blocking=spec.blocking,
                    partition=day.isoformat(),
                )
            )
    failed = [str(d) for d, v in verdicts.items() if not v.passed]
    if len(days) == 1:
        [verdict] = verdicts.values()
        return AssetCheckResult(
            passed=verdict.passed,
            severity=severity,
            description=verdict.description,
            metadata=flat_metadata(verdict.metadata),
        )
    return AssetCheckResult(
        passed=not failed,
        severity=severity,
        description=f"failed on {', '.join(failed)}"
        if failed
        else f"passed on all {len(days)} days",
        metadata={
            "failed_days": failed,
            "days": markdown_table(
                [
                    {"date": str(d), "passed": v.passed, "detail": v.description}
                    for d, v in verdicts.items()
                ]
            ),
        },
    )


def flat_metadata(metadata: dict) -> dict:
    """Nested figures as JSON, scalars as themselves (what Dagster's metadata accepts)."""
    return {
        k: MetadataValue.json(v) if isinstance(v, dict | list) else v
        for k, v in metadata.items()
        if v is not None
    }
