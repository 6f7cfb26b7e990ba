"""The day rollover: numbers restart at local midnight; the earlier days' open tickets are closed set-based, with
one day.closed event that names every ticket it closed (docs/events.md, "Day rollover")."""
from __future__ import annotations

from pathlib import Path

from kiosk.core import events as ev
from kiosk.core import queue as Q
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.conftest import FakeClock

MANY = """
[hall]
id = "big-hall"
name = "大厅"
region = "510104000"
""" + "".join(f"""
[[businesses]]
code = "b{i}"
prefix = "{chr(65 + i)}"
name = "业务{i}"
days = "all"
hours = ["00:00-24:00"]
daily_cap = 999
""" for i in range(4)) + "".join(f"""
[[windows]]
number = {w}
businesses = ["b{w % 4}"]
""" for w in range(1, 5)) + """
[[windows]]
number = 9
combined = true
"""


def closed_numbers(payload: dict) -> dict[tuple[str, str], str]:
    """(day, number) → previous status, from a day.closed payload."""
    out = {}
    for day, by_status in payload["expired_numbers"].items():
        for status, by_prefix in by_status.items():
            for prefix, ranges in by_prefix.items():
                for seq in Q.expand_ranges(ranges):
                    out[(day, f"{prefix}{seq:03d}")] = status
    return out


def sign_in_all(hall: Hall) -> None:
    for w in hall.config.windows:
        hall.sign_in(w.number, f"c{w.number}", "测试员")


def test_sequences_restart_and_open_tickets_expire(hall: Hall, clock) -> None:
    sign_in_all(hall)
    for _ in range(3):
        hall.issue_ticket("social")
    hall.call_next(1)  # A001 current at window 1
    hall.call_next(2)
    hall.hold(2)  # A002 held
    day1 = hall.today()
    clock.set_local(2026, 11, 25, 8, 45)
    r = hall.issue_ticket("social")
    assert r.value.ticket["number"] == "A001" and r.value.ticket["local_date"] == "2026-11-25"
    assert [e.kind for e in r.events] == [ev.DAY_CLOSED, ev.TICKET_ISSUED]
    closed = r.events[0].payload
    assert closed == {"date": day1, "new_date": "2026-11-25", "expired": 3,
                      "expired_numbers": {day1: {"called": {"A": "1"}, "held": {"A": "2"}, "waiting": {"A": "3"}}}}
    assert all(w["current"] is None for w in hall.windows())
    assert hall.counts(day1)["social"]["expired"] == 3
    assert r.value.ahead == 0


def test_rollover_at_midnight_without_commands(hall: Hall, clock) -> None:
    hall.issue_ticket("tax")
    clock.set_local(2026, 11, 24, 23, 59)
    assert hall.tick() == []
    clock.set_local(2026, 11, 25, 0, 0)
    events = hall.tick()
    assert [e.kind for e in events] == [ev.DAY_CLOSED]
    assert events[0].payload["expired"] == 1
    assert hall.tick() == []
    assert hall.issue_ticket("tax").value.ticket["number"] == "C001"


def test_rollover_keeps_paused_windows_paused(hall: Hall, clock) -> None:
    sign_in_all(hall)
    hall.pause(3, "设备维护")
    clock.set_local(2026, 11, 25, 9, 0)
    hall.tick()
    assert hall.window(3)["state"] == "paused"


def test_a_quiet_day_closes_with_nothing_expired(hall: Hall, clock) -> None:
    sign_in_all(hall)
    hall.issue_ticket("tax")
    hall.call_next(2)
    hall.finish_service(2)
    clock.set_local(2026, 11, 25, 9, 0)
    (closed,) = hall.tick()
    assert closed.payload["expired"] == 0 and closed.payload["expired_numbers"] == {}


def test_one_event_names_every_ticket_closed(tmp_path: Path) -> None:
    """A big day: thousands of open tickets in every state, transfers between businesses and to windows. One
    day.closed event, and from it (as central reads it) exactly the tickets that were open, each with its state."""
    clock = FakeClock()
    store = Store(tmp_path / "big.db", synchronous="OFF")
    hall = Hall(loads(MANY), store, clock=clock)
    for w in hall.config.windows:
        hall.sign_in(w.number, f"c{w.number}", "测试员")
    for i in range(3000):
        hall.issue_ticket(f"b{i % 4}", priority="green" if i % 7 == 0 else "normal")
    for w in range(1, 5):
        for _ in range(40):
            hall.call_next(w)
            hall.start_service(w)
        hall.call_next(w)
        hall.transfer(w, to_business=f"b{(w + 1) % 4}")
        hall.call_next(w)
        hall.transfer(w, to_window=9)
        hall.call_next(w)
        hall.hold(w)
        hall.call_next(w)
        hall.start_service(w)
    day1 = hall.today()
    conn = store.conn()
    open_before = {(r["local_date"], r["number"]): r["status"] for r in conn.execute(
        "SELECT local_date, number, status FROM tickets WHERE status IN ('waiting', 'called', 'serving', 'held')")}
    assert {"waiting", "serving", "held"} <= set(open_before.values())
    clock.set_local(2026, 11, 25, 7, 0)
    events = hall.tick()
    assert [e.kind for e in events] == [ev.DAY_CLOSED]
    payload = events[0].payload
    assert payload["expired"] == len(open_before) and closed_numbers(payload) == open_before
    assert conn.execute("SELECT COUNT(*) FROM tickets WHERE status IN ('waiting', 'called', 'serving', 'held')"
                        ).fetchone()[0] == 0
    assert hall.counts(day1)["_total"]["expired"] == len(open_before)
    # the waiting counts of the old day went to zero with the tickets, and the new day starts empty
    assert conn.execute(f"SELECT SUM({Q.ALL_WAITING}) FROM counters").fetchone()[0] == 0
    assert all(c["waiting"] == 0 for c in hall.waiting_counts())
    assert len(store.events_after(events[0].seq - 1, 10)) == 1  # one event, not one per ticket
    store.close()


def test_a_stray_called_ticket_of_the_previous_day_is_closed_too(hall: Hall, clock) -> None:
    """A called or serving ticket is its window's current one; should one ever not be, the previous day's tickets
    are read once more at the rollover, so it is closed all the same."""
    t = hall.issue_ticket("tax").value.ticket
    hall.store.conn().execute("UPDATE tickets SET status = 'serving', window = 2 WHERE id = ?", (t["id"],))
    clock.set_local(2026, 11, 25, 9, 0)
    (closed,) = hall.tick()
    assert closed_numbers(closed.payload) == {("2026-11-24", "C001"): "serving"}
    assert hall.ticket(t["id"])["status"] == "expired"


def test_a_clock_set_back_does_not_reopen_a_closed_day(hall: Hall, clock) -> None:
    """The clock stepped back a day after the rollover (an RTC corrected by NTP): the hall stays on the business
    date it reached — tickets are that day's and number on, screens show that day's queue, the log's dates stay in
    seq order (what `hall audit` and the report's binary search by seq rely on) — also in a hall started again
    meanwhile; the next rollover closes them under that date."""
    clock.set_local(2026, 11, 25, 9, 0)
    hall.issue_ticket("tax")
    clock.set_local(2026, 11, 24, 23, 0)  # back: the clock says the 24th, the hall stays on the 25th
    later = hall.issue_ticket("tax")
    assert (later.value.ticket["local_date"], later.value.ticket["number"]) == ("2026-11-25", "C002")
    assert later.events[0].local_date == "2026-11-25" and hall.today() == "2026-11-25"
    assert [c["business"] for c in hall.waiting_counts() if c["waiting"]] == ["tax"]
    again = Hall(hall.config, hall.store, clock=clock)  # started again with the clock still behind
    assert again.issue_ticket("tax").value.ticket["number"] == "C003" and again.today() == "2026-11-25"
    dates = [r[0] for r in hall.store.conn().execute("SELECT local_date FROM events ORDER BY seq")]
    assert dates == sorted(dates)
    clock.set_local(2026, 11, 26, 9, 0)
    (closed,) = hall.tick()
    assert closed_numbers(closed.payload) == {("2026-11-25", f"C00{n}"): "waiting" for n in (1, 2, 3)}


def test_a_rollover_that_fails_leaves_the_day_open_for_the_next_try(hall: Hall, clock, monkeypatch) -> None:
    """The rollover is part of the first command of the day: if that command is rolled back, so is the rollover,
    and the next command closes the day."""
    hall.issue_ticket("tax")
    clock.set_local(2026, 11, 25, 9, 0)

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(Q, "expire_before", broken)
    try:
        hall.issue_ticket("tax")
    except RuntimeError:
        pass
    monkeypatch.undo()
    assert hall.waiting_counts()[2]["waiting"] == 0  # the new day has none yet; the old ticket is still open
    r = hall.issue_ticket("tax")
    assert [e.kind for e in r.events] == [ev.DAY_CLOSED, ev.TICKET_ISSUED]
    assert r.events[0].payload["expired"] == 1


def test_central_learns_every_expired_ticket(hall: Hall, clock) -> None:
    """The event as it goes out (sync's wire form) decodes at central into every ticket closed, once."""
    sign_in_all(hall)
    from sync import contract

    for _ in range(5):
        hall.issue_ticket("tax")
    hall.call_next(2)
    hall.issue_ticket("social")
    hall.void("C004")
    clock.set_local(2026, 11, 25, 9, 0)
    (closed,) = hall.tick()
    wire = contract.encode(contract.event_message(closed, hall.config.hall_id, "510104000", hall.config.tz))
    got = contract.expired_tickets(contract.decode_event(wire))
    assert got == [("2026-11-24", "C001", "called"), ("2026-11-24", "A001", "waiting"),
                   ("2026-11-24", "C002", "waiting"), ("2026-11-24", "C003", "waiting"),
                   ("2026-11-24", "C005", "waiting")]


def test_the_documented_day_closed_example_follows_the_contract() -> None:
    import json
    import re

    from sync import contract

    doc = (Path(__file__).resolve().parents[2] / "docs" / "sync-contract.md").read_text(encoding="utf-8")
    body = re.search(r"<!-- example: day_closed -->\s*```json\n(.*?)```", doc, re.S)
    assert body is not None
    msg = contract.decode_event(body[1].encode())
    assert contract.expired_tickets(msg) == [
        ("2026-11-24", "A030", "serving"), ("2026-11-24", "A478", "waiting"), ("2026-11-24", "A479", "waiting"),
        ("2026-11-24", "A480", "waiting"), ("2026-11-24", "C017", "waiting")]
    wrong = json.loads(body[1])
    wrong["payload"]["expired"] = 6
    try:
        contract.decode_event(json.dumps(wrong).encode())
    except contract.ContractError as e:
        assert "5 tickets named, 6 expired" in str(e)
    else:
        raise AssertionError("a day.closed naming fewer tickets than it counts was accepted")
