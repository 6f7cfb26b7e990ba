"""No ticket for a business whose windows are all paused, and the estimated wait every new ticket carries: from
today's measured service times over the open windows (kiosk/core/estimate.py, docs/events.md "Estimated wait")."""
from __future__ import annotations

import pytest

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core.estimate import DEFAULT_SERVICE_S, wait_minutes
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import FakeClock, make_id


def signed_in(hall: Hall, *windows: int) -> Hall:
    for n in windows:
        if not hall.window(n)["clerk_id"]:
            hall.sign_in(n, f"c{n:02d}", f"测试员{n}")
    return hall


def counts(hall: Hall, code: str) -> dict:
    return next(c for c in hall.waiting_counts() if c["business"] == code)


def test_all_windows_paused_refuses_with_their_reasons(hall: Hall) -> None:
    signed_in(hall, 3, 9)  # housing: window 3 and the combined window 9
    hall.pause(3, "午休")
    assert hall.issue_ticket("housing", id_number=make_id(1)).value.ticket["number"] == "B001"
    hall.pause(9, "系统维护")
    with pytest.raises(E.NoOpenWindow) as caught:
        hall.issue_ticket("housing", id_number=make_id(2))
    assert isinstance(caught.value, E.BusinessClosed)  # a screen that says "closed" says this too
    assert caught.value.params["reasons"] == "午休、系统维护"
    assert "暂停取号" in caught.value.message and "午休" in caught.value.message
    c = counts(hall, "housing")
    assert (c["windows"], c["open_windows"], c["pause_reasons"], c["wait_s"]) == (2, 0, ["午休", "系统维护"], None)
    assert hall.issue_ticket("social").value.ticket["number"] == "A001"  # windows 1 and 2 still serve social
    hall.resume_window(3)
    assert counts(hall, "housing")["open_windows"] == 1
    assert hall.issue_ticket("housing", id_number=make_id(2)).value.ticket["number"] == "B002"


def test_an_appointment_is_not_checked_in_while_no_window_is_open(hall: Hall, clock: FakeClock) -> None:
    hall.book_appointment("555001", "tax", clock().astimezone(hall.config.tz).date(), "08:30", "12:00")
    signed_in(hall, 2, 9)
    hall.pause(2, "会议")
    hall.pause(9, "会议")
    with pytest.raises(E.NoOpenWindow):
        hall.check_in(code="555001")
    hall.resume_window(9)
    assert hall.check_in(code="555001").value.ticket["business"] == "tax"


def test_the_estimate_uses_todays_service_times_and_open_windows(hall: Hall, clock: FakeClock) -> None:
    signed_in(hall, 1, 2, 9)
    issued = [hall.issue_ticket("social").value for _ in range(3)]
    # nothing timed yet today: the default service time, over the three windows that serve social
    assert issued[2].ahead == 2
    payloads = [e.payload for e in hall.events_after(0) if e.kind == ev.TICKET_ISSUED]
    assert payloads[2]["wait_s"] == pytest.approx((2 + 0.5) * DEFAULT_SERVICE_S / 3)
    assert counts(hall, "social")["wait_s"] == pytest.approx((3 + 0.5) * DEFAULT_SERVICE_S / 3)
    for _ in range(3):  # three services of two minutes each at window 1
        hall.call_next(1)
        hall.start_service(1)
        clock.advance(minutes=2)
        hall.finish_service(1)
    assert hall.times()[0]["avg_service_s"] == 120.0
    for _ in range(4):
        hall.issue_ticket("social")
    assert counts(hall, "social")["wait_s"] == pytest.approx((4 + 0.5) * 120 / 3)
    hall.pause(2, "午休")
    hall.pause(9, "午休")
    assert counts(hall, "social")["wait_s"] == pytest.approx((4 + 0.5) * 120 / 1)
    last = [e.payload for e in hall.events_after(0) if e.kind == ev.TICKET_ISSUED][-1]
    assert last["wait_s"] == pytest.approx((3 + 0.5) * 120 / 3)  # taken before the pauses
    assert wait_minutes(last["wait_s"]) == 2  # 140 s


def test_a_restart_keeps_the_mornings_service_times(hall: Hall, store: Store, clock: FakeClock) -> None:
    signed_in(hall, 1)
    for _ in range(3):
        hall.issue_ticket("social")
        hall.call_next(1)
        hall.start_service(1)
        clock.advance(minutes=4)
        hall.finish_service(1)
    again = Hall(hall.config, store, clock=clock)
    assert again.service_times.rows(again.today()) == [{"business": "social", "served": 3, "avg_service_s": 240.0}]
    clock.advance(days=1)  # a new day starts from the default again
    assert again.service_times.rows(again.today()) == []


def test_wait_minutes_never_says_zero() -> None:
    assert [wait_minutes(s) for s in (0, 20, 89, 91, 600)] == [1, 1, 1, 2, 10]
