"""lake_assets.lake.accounting: the digests add up exactly when every report yields what its header
says and every malformed report is quarantined once — and not when a count moves between
reports, a report is quarantined twice, or a report's readings are split."""

from __future__ import annotations

import numpy as np

from lake_assets.lake.accounting import Accounting, digest, runs

IDS = np.array([10, 11, 12, 13], np.uint64)
EXPECTED = np.array([3, -1, 2, 0])  # 11 is malformed; 13 yields nothing (no samples)


def account(readings: list[int], quarantine: list[int]) -> Accounting:
    a = Accounting()
    a.add(IDS, EXPECTED, np.array(readings, np.uint64), np.array(quarantine, np.uint64))
    return a


def test_a_day_that_adds_up_has_no_problems() -> None:
    good = account([10, 10, 10, 12, 12], [11])
    assert good.problems() == {}
    assert (good.raw_rows, good.readings_written, good.quarantined) == (4, 5, 1)


def test_a_count_moved_between_reports_is_caught_though_the_total_is_right() -> None:
    moved = account([10, 10, 12, 12, 12], [11])
    assert moved.readings_written == moved.readings_expected == 5
    assert "reports with wrong reading counts" in moved.problems()


def test_a_report_quarantined_twice_or_not_at_all_is_caught() -> None:
    assert (
        "malformed reports not quarantined exactly once"
        in account([10] * 3 + [12] * 2, []).problems()
    )
    assert (
        "malformed reports not quarantined exactly once"
        in account([10] * 3 + [12] * 2, [11, 11]).problems()
    )
    assert (
        "malformed reports not quarantined exactly once"
        in account([10] * 3 + [12] * 2, [13]).problems()
    )


def test_split_readings_of_a_report_do_not_pass() -> None:
    assert "reports with wrong reading counts" in account([10, 10, 12, 10, 12], [11]).problems()


def test_digests_ignore_order_and_batches() -> None:
    ids, counts = runs(np.array([5, 5, 7, 9, 9, 9], np.uint64))
    assert ids.tolist() == [5, 7, 9] and counts.tolist() == [2, 1, 3]
    assert digest(ids, counts) == digest(ids[::-1], counts[::-1])
    whole, halves = Accounting(), Accounting()
    whole.add(IDS, EXPECTED, np.array([10, 10, 10, 12, 12], np.uint64), np.array([11], np.uint64))
    halves.add(IDS[:2], EXPECTED[:2], np.array([10, 10, 10], np.uint64), np.array([11], np.uint64))
    halves.add(IDS[2:], EXPECTED[2:], np.array([12, 12], np.uint64), np.array([], np.uint64))
    assert whole == halves
