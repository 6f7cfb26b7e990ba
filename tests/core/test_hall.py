"""Unit tests for every Hall command and every refusal."""
from __future__ import annotations

from datetime import date

import pytest

from kiosk.core import errors as E
from kiosk.core import events as ev
from kiosk.core.hall import Hall
from kiosk.core.rating import Channel, Level
from tests.conftest import make_id, staff

VALID_ID = "11010519491231002X"  # GB 11643 example number with a valid check digit
OTHER_ID = make_id(1)


def kinds(result) -> list[str]:
    return [e.kind for e in result.events]


# --- issuing ------------------------------------------------------------------------------------------
def test_issue_numbers_and_ahead(hall: Hall) -> None:
    a1 = hall.issue_ticket("social")
    a2 = hall.issue_ticket("social")
    c1 = hall.issue_ticket("tax")
    assert [a1.value.ticket["number"], a2.value.ticket["number"], c1.value.ticket["number"]] == ["A001", "A002", "C001"]
    assert (a1.value.ahead, a2.value.ahead, c1.value.ahead) == (0, 1, 0)
    assert kinds(a1) == [ev.TICKET_ISSUED]
    assert a1.events[0].payload["ahead"] == 0 and a1.events[0].payload["hall_name"] == "测试政务服务中心"


def test_green_channel_goes_ahead_of_walk_ins(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    g = hall.issue_ticket("social", priority="green")
    assert g.value.ahead == 0 and g.value.ticket["priority"] == "green"
    assert hall.call_next(1).value["number"] == "A003"


def test_green_channel_refused_where_not_offered(hall: Hall) -> None:
    with pytest.raises(E.GreenChannelUnavailable):
        hall.issue_ticket("housing", priority="green", id_number=VALID_ID)


def test_unknown_business(hall: Hall) -> None:
    with pytest.raises(E.UnknownBusiness) as exc:
        hall.issue_ticket("nope")
    assert exc.value.key == "unknown_business" and "nope" in exc.value.message


def test_closed_business_with_message(hall: Hall) -> None:
    r = hall.close_business("social", "系统升级，暂停办理")
    assert kinds(r) == [ev.BUSINESS_CLOSED]
    with pytest.raises(E.BusinessClosed) as exc:
        hall.issue_ticket("social")
    assert "系统升级" in exc.value.message
    assert hall.waiting_counts()[0]["closed"] is True
    hall.open_business("social")
    assert hall.issue_ticket("social").value.ticket["number"] == "A001"


@pytest.mark.parametrize(("h", "m", "ok"), [(8, 29, False), (8, 30, True), (12, 1, False), (13, 30, True),
                                           (17, 30, True), (17, 31, False), (20, 0, False)])
def test_ticket_hours(hall: Hall, clock, h: int, m: int, ok: bool) -> None:
    clock.set_local(2026, 11, 24, h, m)
    if ok:
        hall.issue_ticket("social")
    else:
        with pytest.raises(E.OutsideTicketHours):
            hall.issue_ticket("social")


def test_no_tickets_on_holidays_and_weekends(hall: Hall, clock) -> None:
    clock.set_local(2026, 10, 1, 10, 0)  # 国庆节
    with pytest.raises(E.OutsideTicketHours):
        hall.issue_ticket("social")
    clock.set_local(2026, 11, 28, 10, 0)  # a Saturday
    with pytest.raises(E.OutsideTicketHours):
        hall.issue_ticket("social")
    hall.issue_ticket("tax")  # days = "all", open around the clock


def test_daily_cap(hall: Hall) -> None:
    for i in range(5):
        hall.issue_ticket("housing", id_number=make_id(i))
    with pytest.raises(E.DailyCapReached) as exc:
        hall.issue_ticket("housing", id_number=make_id(99))
    assert exc.value.params["cap"] == 5


def test_id_required_invalid_and_masked(hall: Hall) -> None:
    with pytest.raises(E.IdRequired):
        hall.issue_ticket("housing")
    with pytest.raises(E.InvalidIdNumber):
        bad = make_id(5)
        hall.issue_ticket("housing", id_number=bad[:-1] + ("1" if bad[-1] != "1" else "2"))  # bad check digit
    r = hall.issue_ticket("housing", id_number=VALID_ID)
    assert r.value.ticket["id_masked"] == "1101**********002X"
    raw = hall.store.conn().execute("SELECT * FROM tickets").fetchone()
    assert VALID_ID not in " ".join(str(v) for v in tuple(raw))
    assert VALID_ID not in str(r.events[0].payload)


def test_one_open_ticket_per_id_per_business(hall: Hall) -> None:
    hall.issue_ticket("housing", id_number=VALID_ID)
    with pytest.raises(E.DuplicateOpenTicket) as exc:
        hall.issue_ticket("housing", id_number=VALID_ID.lower())
    assert exc.value.params["number"] == "B001"
    hall.issue_ticket("housing", id_number=OTHER_ID)
    hall.issue_ticket("social", id_number=VALID_ID)  # another business is fine
    hall.call_next(3)
    hall.finish_service(3)
    hall.issue_ticket("housing", id_number=VALID_ID)  # served: may take a new one


def test_refusal_changes_nothing(hall: Hall) -> None:
    before = hall.store.last_seq()
    with pytest.raises(E.UnknownBusiness):
        hall.issue_ticket("nope")
    assert hall.store.last_seq() == before


def test_idempotent_issue(hall: Hall) -> None:
    a = hall.issue_ticket("social", idem_key="kiosk1:tap:77")
    b = hall.issue_ticket("social", idem_key="kiosk1:tap:77")
    assert a.value.ticket["id"] == b.value.ticket["id"] and a.value.ahead == b.value.ahead
    assert [e.seq for e in a.events] == [e.seq for e in b.events]
    assert hall.counts()["social"]["issued"] == 1


# --- appointments -------------------------------------------------------------------------------------
def test_appointment_check_in_by_code_goes_ahead_of_walk_ins(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social", priority="green")
    hall.book_appointment("YY1001", "social", date(2026, 11, 24), "09:00", "09:30", name="张小三")
    r = hall.check_in(code="YY1001")
    assert r.value.ticket["priority"] == "appointment" and r.value.ahead == 1  # the green channel goes first
    assert hall.call_next(1).value["number"] == "A002"
    hall.start_service(1)
    assert hall.call_next(1).value["number"] == "A003"
    hall.start_service(1)
    assert hall.call_next(1).value["number"] == "A001"
    with pytest.raises(E.AppointmentUsed):
        hall.check_in(code="YY1001")


def test_appointment_check_in_by_id_and_refusals(hall: Hall, clock) -> None:
    hall.book_appointment("YY2", "housing", date(2026, 11, 24), "09:00", "09:30", id_number=VALID_ID)
    hall.book_appointment("YY3", "social", date(2026, 11, 25), "09:00", "09:30")
    hall.book_appointment("YY4", "social", date(2026, 11, 24), "08:00", "08:20")
    with pytest.raises(E.AppointmentNotFound):
        hall.check_in(code="NOPE")
    with pytest.raises(E.AppointmentNotToday):
        hall.check_in(code="YY3")
    clock.set_local(2026, 11, 24, 9, 0)
    hall.config.rules.appointment_late = "refuse"
    with pytest.raises(E.AppointmentExpired):
        hall.check_in(code="YY4")  # slot ended 08:20, grace 30 min
    hall.config.rules.appointment_late = "walk-in"  # the default: a late citizen gets a walk-in ticket at once
    late = hall.check_in(code="YY4").value.ticket
    assert late["priority"] == "normal" and late["appointment_code"] == "YY4"
    r = hall.issue_ticket("housing", appointment_code="YY2")  # the same path from the ticket button
    assert r.value.ticket["number"] == "B001"
    with pytest.raises(E.AppointmentUsed):
        hall.check_in(id_number=VALID_ID)


def test_appointment_checks_in_outside_ticket_hours(hall: Hall, clock) -> None:
    hall.book_appointment("YY5", "social", date(2026, 11, 24), "12:00", "12:30")
    clock.set_local(2026, 11, 24, 12, 10)  # lunch break: walk-ins refused, the booked slot is honoured
    with pytest.raises(E.OutsideTicketHours):
        hall.issue_ticket("social")
    assert hall.check_in(code="YY5").value.ticket["number"] == "A001"


# --- window actions -----------------------------------------------------------------------------------
def test_call_next_order_and_business_preference(hall: Hall) -> None:
    hall.issue_ticket("tax")  # C001
    hall.issue_ticket("social")  # A001
    # window 2 serves social first, then tax
    assert hall.call_next(2).value["number"] == "A001"
    hall.start_service(2)
    assert hall.call_next(2).value["number"] == "C001"
    hall.start_service(2)
    with pytest.raises(E.QueueEmpty):
        hall.call_next(2)


def test_combined_window_takes_any_business_first_come(hall: Hall) -> None:
    hall.issue_ticket("tax")
    hall.issue_ticket("housing", id_number=VALID_ID)
    hall.issue_ticket("social")
    got = []
    for _ in range(3):
        got.append(hall.call_next(9).value["number"])
        hall.start_service(9)
    assert got == ["C001", "B001", "A001"]


def test_call_next_finishes_current_and_emits(hall: Hall, clock) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    hall.sign_in(1, "c01", "王芳")
    r1 = hall.call_next(1)
    assert kinds(r1) == [ev.TICKET_CALLED]
    p = r1.events[0].payload
    assert (p["window"], p["window_name"], p["clerk"], p["ticket"]["number"]) == (1, "1号窗口", "王芳", "A001")
    hall.start_service(1)
    clock.advance(minutes=4)
    r2 = hall.call_next(1)
    assert kinds(r2) == [ev.SERVICE_FINISHED, ev.TICKET_CALLED]
    assert r2.events[0].payload["service_s"] == 240.0
    assert hall.window(1)["current"]["number"] == "A002"


def test_call_specific_ticket(hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    r = hall.call_ticket(1, "a003")
    assert r.value["number"] == "A003" and r.events[-1].payload["specific"] is True
    with pytest.raises(E.TicketNotWaiting):
        hall.call_ticket(2, "A003")
    with pytest.raises(E.TicketNotFound):
        hall.call_ticket(2, "A099")


def test_recall_capped(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.call_next(1)
    left = [hall.recall(1).events[0].payload["recalls_left"] for _ in range(3)]
    assert left == [2, 1, 0]
    with pytest.raises(E.RecallLimit):
        hall.recall(1)
    assert hall.window(1)["recalls_left"] == 0


def test_no_show(hall: Hall) -> None:
    with pytest.raises(E.NoCurrentTicket):
        hall.no_show(1)
    hall.issue_ticket("social")
    hall.call_next(1)
    r = hall.no_show(1)
    assert kinds(r) == [ev.TICKET_NO_SHOW] and r.value["status"] == "no_show"
    assert hall.window(1)["state"] == "idle" and hall.window(1)["current"] is None


def test_start_and_finish_service(hall: Hall, clock) -> None:
    hall.issue_ticket("social")
    clock.advance(minutes=10)
    hall.call_next(1)
    clock.advance(minutes=1)
    assert kinds(hall.start_service(1)) == [ev.SERVICE_STARTED]
    assert hall.window(1)["state"] == "serving"
    with pytest.raises(E.TicketNotWaiting):
        hall.recall(1)  # already being served
    clock.advance(minutes=5)
    r = hall.finish_service(1)
    p = r.events[0].payload
    assert (p["wait_s"], p["service_s"]) == (600.0, 300.0)
    assert hall.times()[0] == {"business": "social", "served": 1, "avg_wait_s": 600.0, "avg_service_s": 300.0}


def test_transfer_to_business_goes_to_front(hall: Hall) -> None:
    hall.issue_ticket("social")  # A001
    hall.issue_ticket("tax")  # C001
    hall.issue_ticket("tax")  # C002
    hall.call_next(1)
    r = hall.transfer(1, to_business="tax")
    assert kinds(r) == [ev.TICKET_TRANSFERRED] and r.value["number"] == "A001" and r.value["business"] == "tax"
    assert hall.ahead_of(r.value["id"]) == 0
    assert hall.call_next(2).value["number"] == "A001"


def test_transfer_to_window(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    hall.call_next(1)
    with pytest.raises(E.WindowDoesNotServe):
        hall.transfer(1, to_window=3)  # 3 serves housing only (tests/core/test_rules.py)
    hall.transfer(1, to_window=2)  # sent to window 2: its own, ahead of its queues
    hall.issue_ticket("tax")
    assert hall.call_next(1).value["number"] == "A002"
    assert hall.call_next(2).value["number"] == "A001"
    hall.issue_ticket("social")
    hall.start_service(1)
    hall.call_next(1)
    with pytest.raises(E.UnknownWindow):
        hall.transfer(1, to_window=77)


def test_hold_and_resume(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    hall.call_next(1)
    hall.start_service(1)
    r = hall.hold(1)
    assert kinds(r) == [ev.TICKET_HELD] and [t["number"] for t in hall.held(1)] == ["A001"]
    hall.call_next(1)  # the window goes on with A002
    with pytest.raises(E.WindowBusy):
        hall.resume_ticket(1, "A001")
    hall.finish_service(1)
    with pytest.raises(E.NotServedHere):
        hall.resume_ticket(2, "A001")
    r = hall.resume_ticket(1, "A001")
    assert kinds(r) == [ev.TICKET_RESUMED] and hall.window(1)["current"]["number"] == "A001"


def test_pause_and_resume_window(hall: Hall) -> None:
    hall.issue_ticket("social")
    r = hall.pause(1, "午休")
    assert kinds(r) == [ev.WINDOW_PAUSED] and r.events[0].payload["reason"] == "午休"
    with pytest.raises(E.WindowPaused):
        hall.call_next(1)
    hall.resume_window(1)
    with pytest.raises(E.WindowNotPaused):
        hall.resume_window(1)
    hall.call_next(1)
    with pytest.raises(E.WindowBusy):
        hall.pause(1, "临时离开")


def test_void(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    r = hall.void("A001", "打印失败，群众离开")
    assert kinds(r) == [ev.TICKET_VOIDED] and r.value["status"] == "voided"
    assert hall.call_next(1).value["number"] == "A002"
    hall.void("A002")  # voiding the current ticket frees the window
    assert hall.window(1)["current"] is None
    with pytest.raises(E.TicketNotWaiting):
        hall.void("A002")


def test_unknown_window(hall: Hall) -> None:
    with pytest.raises(E.UnknownWindow):
        hall.call_next(42)


def test_sign_in_out(hall: Hall) -> None:
    hall.sign_in(2, "c07", "李娜")
    assert hall.window(2)["clerk_name"] == "李娜"
    hall.issue_ticket("social")
    hall.call_next(2)
    with pytest.raises(E.WindowBusy):
        hall.sign_out(2)
    hall.finish_service(2)
    assert kinds(hall.sign_out(2)) == [ev.WINDOW_SIGNED_OUT]


# --- ratings ------------------------------------------------------------------------------------------
def served(hall: Hall, window: int = 1) -> str:
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(window)
    hall.finish_service(window)
    return str(t["id"])


def test_rating_once_per_service(hall: Hall) -> None:
    tid = served(hall)
    req = hall.request_rating(1)
    assert kinds(req) == [ev.RATING_REQUESTED] and req.value["id"] == tid
    r = hall.rate(tid, Level.VERY_SATISFIED, channel=Channel.EVALUATOR)
    assert r.value["level_label"] == "非常满意" and kinds(r) == [ev.RATING_RECORDED]
    with pytest.raises(E.RatingExists):
        hall.rate(tid, Level.SATISFIED)
    assert hall.rating_summary()["distribution"]["very_satisfied"] == 1


def test_bad_rating_without_reason_is_pending(hall: Hall) -> None:
    tid = served(hall)
    r = hall.rate(tid, "dissatisfied")
    assert r.value["reason_pending"] is True
    assert hall.rating_summary()["reason_pending"] == 1
    with pytest.raises(E.ReasonRequired):
        hall.complete_rating_reason(r.value["id"], "  ")
    done = hall.complete_rating_reason(r.value["id"], "等候时间长", "排了一个小时")
    assert done.value["reason_pending"] is False and done.value["reason"] == "等候时间长"
    assert [b["id"] for b in hall.bad_ratings()] == [r.value["id"]]


def test_rating_refusals(hall: Hall) -> None:
    t = hall.issue_ticket("social").value.ticket
    with pytest.raises(E.NotRateable):
        hall.rate(t["id"], Level.SATISFIED)
    with pytest.raises(E.TicketNotFound):
        hall.rate("missing", Level.SATISFIED)
    with pytest.raises(E.RatingNotFound):
        hall.complete_rating_reason("missing", "x")


def test_unrated_then_late_rating_and_policy(hall: Hall, clock) -> None:
    tid = served(hall)
    assert kinds(hall.mark_unrated(tid)) == [ev.RATING_UNRATED]
    assert hall.mark_unrated(tid).events == []  # a second timeout changes nothing
    s = hall.rating_summary()
    assert (s["unrated"], s["unrated_counted_as_satisfied"], s["satisfaction_rate"]) == (1, 0, None)
    hall.rate(tid, Level.BASIC)  # a late key press still counts
    assert hall.rating_summary()["unrated"] == 0


def test_unrated_as_satisfied_policy_is_visible(config, store, clock) -> None:
    config.rules.unrated_as_satisfied_days = 3
    hall = staff(Hall(config, store, clock=clock), 1)
    hall.mark_unrated(served(hall))
    hall.rate(served(hall), Level.DISSATISFIED, reason="态度差")
    day = hall.today()
    assert hall.rating_summary()["unrated_counted_as_satisfied"] == 0
    clock.advance(days=4)
    s = hall.rating_summary(day, day)
    assert s["unrated_counted_as_satisfied"] == 1 and s["policy_days"] == 3 and s["satisfaction_rate"] == 0.5


# --- devices report through commands ------------------------------------------------------------------
def test_device_health_only_on_change(hall: Hall) -> None:
    assert kinds(hall.report_device_health("printer1", "printer", "offline", "缺纸")) == [ev.DEVICE_HEALTH]
    assert hall.report_device_health("printer1", "printer", "offline", "缺纸").events == []
    hall.report_device_health("printer1", "printer", "ok")
    assert hall.devices()[0]["state"] == "ok"


def test_print_report(hall: Hall) -> None:
    t = hall.issue_ticket("social").value.ticket
    r = hall.report_print(t["id"], ok=False, device="printer1", reason="缺纸")
    assert kinds(r) == [ev.PRINT_FAILED] and r.events[0].payload["reason"] == "缺纸"


# --- events and the bus -------------------------------------------------------------------------------
def test_events_after_commit_in_order_and_gap_free(hall: Hall) -> None:
    seen: list[int] = []
    before = hall.store.last_seq()  # the clerks' sign-ins
    unsub = hall.subscribe(lambda e: seen.append(e.seq))
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    hall.call_next(1)
    hall.start_service(1)
    hall.call_next(1)
    hall.start_service(1)
    with pytest.raises(E.QueueEmpty):
        hall.call_next(1)
    unsub()
    hall.issue_ticket("social")
    allseq = [e.seq for e in hall.events_after(0)]
    assert allseq == list(range(1, len(allseq) + 1))
    assert seen == [s for s in allseq if s > before][:-1]


def test_failing_subscriber_does_not_undo(hall: Hall) -> None:
    def boom(_e) -> None:
        raise RuntimeError("screen crashed")

    hall.subscribe(boom)
    hall.issue_ticket("social")
    assert hall.counts()["social"]["issued"] == 1


def test_queries_for_screens(hall: Hall, clock) -> None:
    hall.issue_ticket("social")
    clock.advance(minutes=3)
    hall.issue_ticket("social")
    hall.issue_ticket("tax")
    wc = {w["business"]: w for w in hall.waiting_counts()}
    assert wc["social"]["waiting"] == 2 and wc["social"]["longest_wait_s"] == 180.0
    assert [t["number"] for t in hall.waiting(window=2)] == ["A001", "A002", "C001"]
    hall.call_next(2)
    calls = hall.recent_calls()
    assert calls[0]["number"] == "A001" and calls[0]["window"] == 2
    assert hall.counts()["_total"]["issued"] == 3
    assert hall.notice() == ""
    hall.set_notice("今天下午三点停电检修")
    assert hall.notice() == "今天下午三点停电检修"
