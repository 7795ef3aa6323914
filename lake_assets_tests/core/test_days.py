"""The day's three spellings convert into each other, one place for all of them."""

from __future__ import annotations

import datetime as dt

import pytest

from lake_assets.core.days import date_to_path_value, key_to_date, path_value_to_date


@pytest.mark.parametrize("day", [dt.date(2021, 1, 1), dt.date(2024, 2, 29), dt.date(9999, 12, 31)])
def test_a_day_round_trips_through_every_spelling(day: dt.date) -> None:
    assert key_to_date(day.isoformat()) == day
    assert date_to_path_value(day) == day.isoformat().replace("-", "")
    assert path_value_to_date(date_to_path_value(day)) == day


def test_a_malformed_path_value_is_refused() -> None:
    with pytest.raises(ValueError):
        path_value_to_date("2024-02-29")
