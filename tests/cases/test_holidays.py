"""The province's holiday calendar at the hall (kiosk/core/holidays.py): a newer version is applied once and
recorded, an older or replayed one changes nothing, a bad one is refused whole, and the version in use comes back
after a restart."""
from __future__ import annotations

from datetime import date

import pytest

from kiosk.core import holidays as H
from kiosk.core.hall import Hall


def cal(version: int, *holidays: tuple[str, str], years: tuple[int, ...] = (2027,)) -> H.PublishedCalendar:
    return H.PublishedCalendar(version=version, years=list(years),
                               holidays=[H.PublishedDay(date=date.fromisoformat(d), name=n) for d, n in holidays])


def test_newer_applies_older_and_replay_do_not(hall: Hall) -> None:
    assert H.in_use(hall) is None and H.status(hall)["warning"] is not None
    assert H.apply(hall, cal(5, ("2027-01-01", "元旦")), message_id="m5", idem_key="central:m5") == {
        "applied": True, "version": 5}
    assert H.in_use(hall) == 5 and not hall.calendar.is_working_day(date(2027, 1, 1))
    assert H.status(hall) == {"version": 5, "official_years": [2026, 2027], "gap_from": None, "warning": None}
    assert H.apply(hall, cal(5, ("2027-01-01", "元旦")), message_id="m5", idem_key="central:m5")["applied"] is False
    assert H.apply(hall, cal(4, ("2027-01-04", "")), message_id="m4") == {"applied": False, "version": 5}
    assert hall.calendar.is_working_day(date(2027, 1, 4))  # the older calendar was not used
    applied = hall.store.events_after(0, 100, kinds={H.CALENDAR_APPLIED})
    assert [(e.payload["version"], e.payload["previous"], e.payload["message_id"]) for e in applied] == [
        (5, None, "m5")]
    assert H.apply(hall, cal(6, ("2027-01-01", "元旦"), ("2027-01-04", "调休")), message_id="m6")["applied"]
    assert not hall.calendar.is_working_day(date(2027, 1, 4))


def test_a_bad_calendar_is_refused_whole(hall: Hall) -> None:
    before = hall.store.last_seq()
    with pytest.raises(H.InvalidCalendar, match="outside the years"):
        H.apply(hall, cal(9, ("2028-01-01", "元旦")), message_id="m9")
    assert hall.store.last_seq() == before and H.in_use(hall) is None and H.stored(hall) is None


def test_the_version_in_use_comes_back_after_a_restart(hall: Hall, config, store, clock) -> None:
    H.apply(hall, cal(7, ("2027-01-01", "元旦")), message_id="m7")
    again = Hall(config, store, clock=clock)  # a new process on the same store
    assert H.in_use(again) == 7 and again.calendar.holiday_name(date(2027, 1, 1)) == "元旦"
