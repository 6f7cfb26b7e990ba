"""The day rollover: numbers restart at local midnight and yesterday's open tickets are closed by events."""
from __future__ import annotations

from kiosk.core import events as ev
from kiosk.core.hall import Hall


def test_sequences_restart_and_open_tickets_expire(hall: Hall, clock) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    hall.call_next(1)  # A001 current at window 1
    hall.call_next(2)
    hall.hold(2)  # A002 held
    day1 = hall.today()
    clock.set_local(2026, 11, 25, 8, 45)
    r = hall.issue_ticket("social")
    assert r.value.ticket["number"] == "A001" and r.value.ticket["local_date"] == "2026-11-25"
    kinds = [e.kind for e in r.events]
    assert kinds == [ev.TICKET_EXPIRED] * 3 + [ev.DAY_CLOSED, ev.TICKET_ISSUED]
    closed = r.events[3].payload
    assert closed == {"date": day1, "new_date": "2026-11-25", "expired": 3}
    assert {e.payload["ticket"]["number"] for e in r.events[:3]} == {"A001", "A002", "A003"}
    assert all(w["current"] is None for w in hall.windows())
    assert hall.counts(day1)["social"]["expired"] == 3
    assert r.value.ahead == 0


def test_rollover_at_midnight_without_commands(hall: Hall, clock) -> None:
    hall.issue_ticket("tax")
    clock.set_local(2026, 11, 24, 23, 59)
    assert hall.tick() == []
    clock.set_local(2026, 11, 25, 0, 0)
    events = hall.tick()
    assert [e.kind for e in events] == [ev.TICKET_EXPIRED, ev.DAY_CLOSED]
    assert hall.tick() == []
    assert hall.issue_ticket("tax").value.ticket["number"] == "C001"


def test_rollover_keeps_paused_windows_paused(hall: Hall, clock) -> None:
    hall.pause(3, "设备维护")
    clock.set_local(2026, 11, 25, 9, 0)
    hall.tick()
    assert hall.window(3)["state"] == "paused"
