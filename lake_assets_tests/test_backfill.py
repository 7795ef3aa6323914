"""lake_assets.backfill without a webserver: what it says when none answers, and how `--wait`
follows a backfill (each change said once, an outage waited out for a while, then given up)."""

from __future__ import annotations

import itertools

import pytest

from lake_assets.backfill import BackfillError, BackfillProgress, Webserver, follow
from lake_assets_tests.test_ui_backfill import free_port


def test_an_unreachable_webserver_names_the_setting() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(
        BackfillError, match=r"cannot reach the Dagster webserver at .*DAGSTER_WEBSERVER_URL"
    ):
        Webserver(url, timeout_s=2).daily_assets()


class Scripted(Webserver):
    """Answers `progress` from a script: a BackfillProgress, or an error to raise."""

    def __init__(self, answers: list[BackfillProgress | BackfillError]) -> None:
        super().__init__("http://dagster.example")
        object.__setattr__(self, "answers", iter(answers))

    def progress(self, backfill_id: str) -> BackfillProgress:
        answer = next(self.answers)  # type: ignore[attr-defined]
        if isinstance(answer, BackfillError):
            raise answer
        return answer


RUNNING = BackfillProgress("REQUESTED", 1, 0, 2)
DONE = BackfillProgress("COMPLETED_SUCCESS", 3, 0, 0)
FAILED = BackfillProgress("COMPLETED_FAILED", 2, 1, 0)


def test_follow_says_each_change_once_and_waits_out_an_outage() -> None:
    said: list[str] = []
    web = Scripted([RUNNING, RUNNING, BackfillError("down"), RUNNING, DONE])
    assert follow(web, "b1", said.append, poll_s=0, sleep=lambda _: None) == DONE
    assert said == [
        "  1 run(s) done, 0 failed, 2 in flight (requested)",
        "  … down; trying again",
        "  3 run(s) done, 0 failed, 0 in flight (completed_success)",
    ]
    assert DONE.succeeded and not FAILED.succeeded and FAILED.finished and not RUNNING.finished


def test_follow_gives_up_on_a_webserver_that_stays_away(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = itertools.count(0, 60)  # each look at the clock is a minute later
    monkeypatch.setattr("lake_assets.backfill.time.monotonic", lambda: next(clock))
    web = Scripted([BackfillError("down")] * 10)
    with pytest.raises(BackfillError, match="down"):
        follow(web, "b1", lambda _: None, poll_s=0, unreachable_for_s=120, sleep=lambda _: None)
