"""The one kind of error the pipeline raises on purpose: a sentence that says what to fix.

It is a Dagster `Failure`, so the UI shows the sentence as the step's error, and it says whether
a retry can help: a lost connection can, a denied permission cannot.
"""

from dagster import Failure


class ExplainedFailure(Failure):
    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(description=message, allow_retries=retryable)

    def __str__(self) -> str:
        return self.description or ""
