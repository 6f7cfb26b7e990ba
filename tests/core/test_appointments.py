"""Appointments with fair slots, tested with the clock: the slot grid, its capacity, the horizon and the per-ID limit;
the fair order (early, on time, late; the green channel's place); no-shows; the province's bookings; and that
every read stays on an index."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kiosk.core import appointments as A
from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core.config import HallConfig
from kiosk.core.hall import RANK, Hall
from kiosk.store import Store
from tests.conftest import FakeClock, make_id
from tests.core.test_queries import FULL_SCAN, plans, traced

TUE = date(2026, 11, 24)  # the clock's day: a Tuesday


def at(clock: FakeClock, h: int, m: int, s: int = 0) -> None:
    clock.set_local(2026, 11, 24, h, m)
    clock.advance(seconds=s)


def queue(hall: Hall, window: int = 1) -> list[str]:
    """The order call-next would take (hall.waiting sorts as _pick_next does)."""
    return [t["number"] for t in hall.waiting(window=window)]


def book(hall: Hall, slot: str, day: date = TUE, business: str = "social", **kw: object) -> str:
    return str(A.book(hall, business, day, slot, **kw).value["code"])  # type: ignore[arg-type]


def kinds(events: list[ev.Event]) -> list[str]:
    return [e.kind for e in events]


def test_the_ranks_appointments_uses_are_the_halls() -> None:
    assert RANK["normal"] == A._WALK_IN_RANK and RANK["appointment"] == A._DUE_RANK
    assert RANK["transfer"] < RANK["green"] < RANK["appointment"] < RANK["normal"]


# --- the fair order (docs/events.md "Queue order") ------------------------------------------------------------------
def test_the_reported_case_is_fair_now(hall: Hall, clock: FakeClock) -> None:
    """A 16:00-slot appointment checked in at 08:50 went ahead of a 09:00-slot appointment and of a green-channel
    citizen who came at 08:40.  Now: green, the 09:00 appointment, then walk-ins in arrival order — the early one
    among them by its check-in time."""
    at(clock, 8, 30)
    late_slot, nine = book(hall, "16:00"), book(hall, "09:00")
    at(clock, 8, 40)
    green = hall.issue_ticket("social", priority="green").value.ticket["number"]  # A001
    at(clock, 8, 45)
    walk1 = hall.issue_ticket("social").value.ticket["number"]  # A002
    at(clock, 8, 50)
    early = hall.check_in(code=late_slot).value
    assert early.ticket["priority"] == "appointment" and early.ahead == 2  # it waits as a walk-in would
    assert early.ticket["due_at"] == "2026-11-24T07:45:00+00:00"  # 16:00 − 15 min, in UTC
    at(clock, 8, 55)
    on_time = hall.check_in(code=nine).value
    assert on_time.ahead == 1 and on_time.ticket["due_at"] is None  # behind the green channel only
    at(clock, 8, 58)
    walk2 = hall.issue_ticket("social").value.ticket["number"]
    at(clock, 9, 0)
    expected = [green, on_time.ticket["number"], walk1, early.ticket["number"], walk2]
    assert queue(hall) == expected
    called = []
    for _ in expected:
        called.append(hall.call_next(1).value["number"])
        hall.start_service(1)
    assert called == expected


def test_an_early_appointment_goes_ahead_at_slot_start_minus_the_early_minutes(hall: Hall, clock: FakeClock) -> None:
    at(clock, 8, 50)
    first, second = book(hall, "10:00"), book(hall, "10:00")
    at(clock, 9, 0)
    w1 = hall.issue_ticket("social").value.ticket["number"]
    at(clock, 9, 5)
    early = hall.check_in(code=first).value.ticket["number"]
    at(clock, 9, 10)
    w2 = hall.issue_ticket("social").value.ticket["number"]
    at(clock, 9, 44, 59)
    assert hall.tick() == [] and queue(hall) == [w1, early, w2]
    at(clock, 9, 45)
    moved = hall.tick()
    assert kinds(moved) == [ev.APPOINTMENT_DUE]
    assert moved[0].payload["ticket"]["number"] == early and moved[0].payload["ahead"] == 0
    assert queue(hall) == [early, w1, w2]
    at(clock, 9, 50)
    on_time = hall.check_in(code=second).value
    assert on_time.ahead == 1  # behind the one whose time came first
    assert queue(hall) == [early, on_time.ticket["number"], w1, w2]
    assert {c["business"]: c["waiting"] for c in hall.waiting_counts()}["social"] == 4
    assert hall.ahead_of(on_time.ticket["id"]) == 1


def test_the_next_command_moves_it_even_without_the_heartbeat(hall: Hall, clock: FakeClock) -> None:
    """Another process (or no server) may not tick: call-next itself never takes a stale order."""
    code = book(hall, "10:00")
    hall.issue_ticket("social")
    at(clock, 9, 5)
    early = hall.check_in(code=code).value.ticket["number"]
    at(clock, 9, 46)
    result = hall.call_next(1)
    assert result.value["number"] == early
    assert kinds(result.events) == [ev.APPOINTMENT_DUE, ev.TICKET_CALLED]


def test_the_green_channel_goes_ahead_of_appointments_whose_time_has_come(hall: Hall, clock: FakeClock) -> None:
    at(clock, 8, 30)
    code = book(hall, "09:00")
    at(clock, 9, 1)
    walk = hall.issue_ticket("social").value.ticket["number"]
    appt = hall.check_in(code=code).value.ticket["number"]
    at(clock, 9, 10)
    green = hall.issue_ticket("social", priority="green").value
    assert green.ahead == 0
    assert queue(hall) == [green.ticket["number"], appt, walk]


def test_a_transferred_ticket_still_goes_first(hall: Hall, clock: FakeClock) -> None:
    at(clock, 8, 30)
    code = book(hall, "09:00")
    hall.issue_ticket("social", priority="green")
    hall.check_in(code=code)
    hall.issue_ticket("tax")
    hall.call_next(2)  # social first at window 2: the green ticket
    hall.start_service(2)
    moved = hall.transfer(2, to_business="social").value["number"]
    assert queue(hall)[0] == moved


@pytest.mark.parametrize("policy", ["walk-in", "refuse"])
def test_a_late_check_in(hall: Hall, clock: FakeClock, policy: str) -> None:
    hall.config.rules.appointment_late = policy  # type: ignore[assignment]
    at(clock, 8, 30)
    code = book(hall, "09:00")
    at(clock, 9, 50)
    walk = hall.issue_ticket("social").value.ticket["number"]
    at(clock, 10, 0)  # 09:30 + 30 min of grace: still on time
    assert hall.store.conn().execute("SELECT status FROM appointments WHERE code = ?", (code,)).fetchone()[0] \
        == "booked"
    at(clock, 10, 0, 1)
    if policy == "refuse":
        with pytest.raises(E.AppointmentExpired) as exc:
            hall.check_in(code=code)
        assert exc.value.message == "预约时段（至 09:30）已过，请取普通号"
        return
    late = hall.check_in(code=code)
    assert kinds(late.events) == [ev.APPOINTMENT_NO_SHOW, ev.TICKET_ISSUED]  # it was a no-show for its slot
    assert late.value.ticket["priority"] == "normal" and late.value.ahead == 1
    assert queue(hall) == [walk, late.value.ticket["number"]]
    row = hall.store.conn().execute("SELECT status FROM appointments WHERE code = ?", (code,)).fetchone()
    assert row[0] == "checked_in"


def test_on_time_means_up_to_the_slots_end_plus_the_grace(hall: Hall, clock: FakeClock) -> None:
    at(clock, 8, 30)
    code = book(hall, "09:00")
    hall.issue_ticket("social")
    at(clock, 9, 59)
    assert hall.check_in(code=code).value.ahead == 0


# --- no-shows --------------------------------------------------------------------------------------------------------
def test_a_booking_nobody_came_for_is_recorded_as_a_no_show(hall: Hall, clock: FakeClock) -> None:
    at(clock, 8, 30)
    gone, kept, cancelled = book(hall, "09:00"), book(hall, "10:00"), book(hall, "09:00")
    A.cancel(hall, cancelled)
    tomorrow = book(hall, "09:00", date(2026, 11, 25))
    at(clock, 10, 0)
    assert hall.tick() == []
    at(clock, 10, 0, 1)
    events = hall.tick()
    assert kinds(events) == [ev.APPOINTMENT_NO_SHOW]
    assert events[0].payload["appointment"]["code"] == gone
    status = dict(hall.store.conn().execute("SELECT code, status FROM appointments").fetchall())
    assert status == {gone: "no_show", kept: "booked", cancelled: "cancelled", tomorrow: "booked"}
    assert hall.tick() == []  # recorded once


def test_no_shows_are_recorded_at_the_day_rollover(hall: Hall, clock: FakeClock) -> None:
    code = book(hall, "23:00", business="tax")
    clock.set_local(2026, 11, 25, 0, 0)
    events = hall.tick()
    assert kinds(events) == [ev.DAY_CLOSED, ev.APPOINTMENT_NO_SHOW]
    assert events[1].payload["appointment"]["code"] == code
    with pytest.raises(E.AppointmentNotToday):
        hall.check_in(code=code)


# --- booking rules ---------------------------------------------------------------------------------------------------
def test_slot_capacity_is_counted_inside_the_booking(hall: Hall, clock: FakeClock) -> None:
    hall.config.business("social").slot_capacity = 2  # type: ignore[union-attr]
    a, b = book(hall, "10:00"), book(hall, "10:00")
    with pytest.raises(E.SlotFull) as exc:
        book(hall, "10:00")
    assert exc.value.message == "社保 2026-11-24 10:00 的预约已满，请选择其他时段"
    hall.check_in(code=a)  # a checked-in appointment keeps its place
    with pytest.raises(E.SlotFull):
        book(hall, "10:00")
    A.cancel(hall, b)  # a cancelled one frees it
    book(hall, "10:00")
    offered = dict(A.offer(hall, hall.config.business("social")))  # type: ignore[arg-type]
    assert {s.start: s.free for s in offered[TUE]}["10:00"] == 0
    assert {s.start: s.free for s in offered[TUE]}["10:30"] == 2


def test_one_id_holds_at_most_n_open_bookings_per_business(hall: Hall, clock: FakeClock) -> None:
    me = make_id(7)
    code = book(hall, "10:00", id_number=me)
    with pytest.raises(E.TooManyAppointments) as exc:
        book(hall, "11:00", date(2026, 11, 25), id_number=me)
    assert exc.value.params == {"name": "社保", "n": 1}
    book(hall, "11:00", business="tax", id_number=me)  # another business
    hall.config.rules.appointments_per_id = 2
    second = book(hall, "11:00", date(2026, 11, 25), id_number=me)
    hall.config.rules.appointments_per_id = 1
    A.cancel(hall, second)
    at(clock, 9, 50)
    hall.check_in(code=code)  # used: no longer open
    book(hall, "11:00", date(2026, 11, 25), id_number=me)
    row = hall.store.conn().execute("SELECT id_hash, id_masked FROM appointments WHERE code = ?", (code,)).fetchone()
    assert me not in tuple(row) and row[1] == me[:4] + "*" * 10 + me[-4:]  # never in clear at rest


def test_the_horizon_days_and_hours(hall: Hall, clock: FakeClock) -> None:
    social = hall.config.business("social")
    assert social is not None
    social.book_days = 3
    assert A.booking_days(hall, social, clock()) == [TUE, date(2026, 11, 25), date(2026, 11, 26)]
    with pytest.raises(E.BookingTooFar) as exc:
        book(hall, "10:00", date(2026, 11, 27))
    assert exc.value.message == "社保只能预约最近 3 个办理日（至 2026-11-26）"
    hall.calendar.set_override(date(2026, 11, 25), is_open=False)  # a closure is not counted
    assert A.booking_days(hall, social, clock())[1:] == [date(2026, 11, 26), date(2026, 11, 27)]
    with pytest.raises(E.NotWorkingDay):
        book(hall, "10:00", date(2026, 11, 25))
    with pytest.raises(E.SlotNotOffered):
        book(hall, "09:15")  # not a slot of the grid
    with pytest.raises(E.SlotNotOffered):
        book(hall, "09:00")  # today's 09:00 has started
    with pytest.raises(E.SlotNotOffered):
        book(hall, "12:00", date(2026, 11, 26))  # lunch: not in the hours
    social.booking_days = [2, 4]  # Tuesdays and Thursdays only
    social.booking_hours = ["09:00-10:00"]
    days = A.offer(hall, social)
    assert [d for d, _ in days] == [TUE, date(2026, 11, 26), date(2026, 12, 1)]
    assert [(s.start, s.end) for s in days[1][1]] == [("09:00", "09:30"), ("09:30", "10:00")]
    assert [s.start for s in days[0][1]] == ["09:30"]  # today: what is still to start
    with pytest.raises(E.SlotNotOffered):
        book(hall, "10:00", date(2026, 11, 27))


def test_an_id_is_asked_where_the_business_or_the_rules_need_one(hall: Hall, clock: FakeClock) -> None:
    with pytest.raises(E.IdRequired):
        book(hall, "10:00", business="housing")
    book(hall, "10:00", business="housing", id_number=make_id(3))
    hall.config.rules.appointment_id_required = True
    with pytest.raises(E.IdRequired):
        book(hall, "10:00")
    with pytest.raises(E.InvalidIdNumber):
        book(hall, "10:00", id_number="110105198001010010")


def test_appointments_off_take_no_booking(hall: Hall) -> None:
    hall.config.business("tax").appointments = False  # type: ignore[union-attr]
    with pytest.raises(E.AppointmentsNotOffered):
        book(hall, "10:00", business="tax")
    assert A.offer(hall, hall.config.business("tax")) == []  # type: ignore[arg-type]


def test_cancel(hall: Hall, clock: FakeClock) -> None:
    code = book(hall, "10:00")
    r = A.cancel(hall, code, source="kiosk")
    assert kinds(r.events) == [ev.APPOINTMENT_CANCELLED] and r.value["source"] == "kiosk"
    with pytest.raises(E.AppointmentNotFound):
        A.cancel(hall, code)
    with pytest.raises(E.AppointmentNotFound):
        hall.check_in(code=code)
    used = book(hall, "10:00")
    number = hall.check_in(code=used).value.ticket["number"]
    with pytest.raises(E.AppointmentUsed) as exc:
        A.cancel(hall, used)
    assert exc.value.params["number"] == number


def test_a_retried_booking_is_one_booking(hall: Hall) -> None:
    first = A.book(hall, "social", TUE, "10:00", idem_key="kiosk1:tap:1")
    again = A.book(hall, "social", TUE, "10:00", idem_key="kiosk1:tap:1")
    assert again.value == first.value and [e.seq for e in again.events] == [e.seq for e in first.events]
    assert len(A.listing(hall)) == 1


def test_the_service_desk_list(hall: Hall, clock: FakeClock) -> None:
    me = make_id(9)
    code = book(hall, "10:00", id_number=me, name="张小三")
    book(hall, "09:30", business="tax")
    at(clock, 9, 50)
    number = hall.check_in(code=code).value.ticket["number"]
    rows = A.listing(hall)
    assert [(r["business"], r["slot_start"], r["status"]) for r in rows] == [
        ("social", "10:00", "checked_in"), ("tax", "09:30", "booked")]
    assert rows[0]["number"] == number and rows[0]["name_masked"] == "张*三" and me not in str(rows)
    assert A.listing(hall, business="tax", status="booked")[0]["business"] == "tax"


# --- the province's platform -----------------------------------------------------------------------------------------
def central(hall: Hall, mid: str, action: str = "book", **kw: object) -> list[ev.Event]:
    code = str(kw.pop("code", "P-" + mid))
    args: dict[str, object] = {"business": "social", "day": date(2026, 11, 25), "slot_start": "10:00", **kw}
    if action == "cancel":
        args = {}
    r = A.apply_central(hall, message_id=mid, action=action, code=code, idem_key=f"central:{mid}",
                        **args)  # type: ignore[arg-type]
    return r.events


def test_central_bookings_are_applied_once_and_always_answered(hall: Hall) -> None:
    hall.config.business("social").slot_capacity = 1  # type: ignore[union-attr]
    booked = central(hall, "msg-0001", code="P0001", id_number=make_id(11), name="李四")
    assert kinds(booked) == [ev.APPOINTMENT_BOOKED]
    assert booked[0].payload["message_id"] == "msg-0001" and booked[0].payload["appointment"]["source"] == "central"
    assert [e.seq for e in central(hall, "msg-0001", code="P0001")] == [booked[0].seq]  # redelivered: once
    refused = central(hall, "msg-0002", code="P0002")  # the last place went meanwhile
    assert kinds(refused) == [ev.APPOINTMENT_REFUSED]
    assert refused[0].payload == {"message_id": "msg-0002", "action": "book", "code": "P0002", "key": "slot_full",
                                  "message": "社保 2026-11-25 10:00 的预约已满，请选择其他时段"}
    cancelled = central(hall, "msg-0003", "cancel", code="P0001")
    assert kinds(cancelled) == [ev.APPOINTMENT_CANCELLED] and cancelled[0].payload["message_id"] == "msg-0003"
    assert kinds(central(hall, "msg-0004", "cancel", code="P0001")) == [ev.APPOINTMENT_REFUSED]
    assert kinds(central(hall, "msg-0005", code="P0002")) == [ev.APPOINTMENT_BOOKED]  # free again


# --- what it costs -------------------------------------------------------------------------------------------------
def test_every_appointment_read_and_write_stays_on_an_index(hall: Hall, clock: FakeClock) -> None:
    for i in range(30):
        hall.issue_ticket("social", priority="green" if i % 7 == 0 else "normal")
    codes = [book(hall, s) for s in ("10:00", "10:00", "11:00", "16:00")]
    book(hall, "09:30", date(2026, 11, 25), id_number=make_id(5))
    at(clock, 9, 5)
    with traced(hall) as statements:
        hall.check_in(code=codes[0])  # early
        at(clock, 9, 50)
        hall.tick()  # moved up
        hall.check_in(code=codes[1])  # on time
        A.book(hall, "social", TUE, "10:30", id_number=make_id(6))
        A.cancel(hall, codes[3])
        hall.call_next(1)
        at(clock, 12, 1)
        hall.tick()  # the 11:00 one: a no-show
        hall.waiting_counts()
    found = plans(hall, statements)
    scans = {sql: p for sql, lines in found.items() for p in lines
             if FULL_SCAN.match(p) or p.startswith("SCAN appointments")}
    assert not scans, scans


def test_a_quiet_heartbeat_reads_nothing(hall: Hall, clock: FakeClock) -> None:
    book(hall, "16:00")
    hall.tick()
    with traced(hall) as statements:
        for _ in range(5):
            clock.advance(seconds=1)
            assert hall.tick() == []
    assert statements == []


def test_a_store_from_before_the_fair_order_keeps_its_queue(tmp_path: Path, config: HallConfig, clock: FakeClock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Migration 070 swaps the green channel (now 1) and appointments (now 2) in the waiting tickets and the
    counters' triggers, without counting anyone twice."""
    import kiosk.store as store_mod

    old = dict(store_mod._WAITING_OF)
    monkeypatch.setattr(store_mod, "MIGRATIONS", [m for m in store_mod.MIGRATIONS if m[0] != "070_appointments"])
    monkeypatch.setitem(store_mod._WAITING_OF, "waiting_appointment", old["waiting_green"])
    monkeypatch.setitem(store_mod._WAITING_OF, "waiting_green", old["waiting_appointment"])
    s = Store(tmp_path / "old.db")
    conn = s.conn()
    for n, (prio, rank) in enumerate([("normal", 3), ("appointment", 1), ("green", 2)], 1):
        conn.execute("INSERT INTO tickets(id, number, business, prefix, seq, local_date, priority, rank, queue_pos, "
                     "status, issued_at) VALUES (?, ?, 'social', 'A', ?, '2026-11-24', ?, ?, ?, 'waiting', ?)",
                     (f"t{n}", f"A00{n}", n, prio, rank, n - 10, f"2026-11-24T00:5{n}:00+00:00"))
    assert tuple(conn.execute("SELECT waiting_appointment, waiting_green FROM counters").fetchone()) == (1, 1)
    conn.execute("UPDATE counters SET last_seq = 3")  # as the issue command left it
    s.close()
    monkeypatch.undo()
    s = Store(tmp_path / "old.db")
    hall = Hall(config, s, clock=clock)
    assert queue(hall) == ["A003", "A002", "A001"]  # green, appointment, walk-in
    row = s.conn().execute("SELECT waiting_appointment, waiting_green, waiting_normal FROM counters").fetchone()
    assert tuple(row) == (1, 1, 1)
    issued = hall.issue_ticket("social", priority="green").value
    assert issued.ahead == 1
    hall.sign_in(1, "c01", "测试员")
    assert hall.call_next(1).value["number"] == "A003"
    row = s.conn().execute("SELECT waiting_appointment, waiting_green, waiting_normal FROM counters").fetchone()
    assert tuple(row) == (1, 1, 1)
    s.close()


@pytest.mark.parametrize("option", ["book_days = 5", "slot_minutes = 30"])
def test_the_web_tables_slot_options_moved_to_the_businesses(option: str) -> None:
    from kiosk import schema
    from kiosk.core.errors import ConfigError
    from tests.conftest import DEMO_CONFIG

    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("port = 8080\n", f"port = 8080\n{option}\n", 1)
    with pytest.raises(ConfigError, match=r"\[\[businesses\]\] " + option.split()[0] + " now"):
        schema.loads(text, "hall.toml")


def test_an_early_check_in_made_by_another_process_is_moved_up_in_time(hall: Hall, clock: FakeClock) -> None:
    """A kiosk on the same store in another process (its own Hall): this hall's commands read the store anyway, and
    its heartbeat looks again within REPROBE_S, so the turn comes on time whoever checked in."""
    other = Hall(hall.config, Store(hall.store.path), clock=clock)
    code = book(hall, "10:00")
    hall.tick()
    at(clock, 9, 5)
    other.check_in(code=code)
    at(clock, 9, 44, 50)
    assert hall.tick() == []  # it looked (the last look was at 09:00): nothing due yet, and now it knows when
    at(clock, 9, 45)
    assert kinds(hall.tick()) == [ev.APPOINTMENT_DUE]
    other.store.close()
