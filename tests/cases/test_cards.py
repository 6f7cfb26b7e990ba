"""Electronic supervision: yellow then red cards appear as events on time, driven only by the clock and
evaluate_cards(); clock stops freeze and push them; concluding clears them; calendar changes reschedule."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.core import cases as C
from kiosk.core.calendar import WorkCalendar
from kiosk.core.cases import Cases, CaseSettings
from kiosk.core.hall import Hall
from tests.cases.conftest import payload

TZ = ZoneInfo("Asia/Shanghai")


def local(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)


def travel(clock, cases: Cases, until: datetime, step: timedelta) -> list[tuple[datetime, str, str]]:
    """Advance the clock step by step calling only evaluate_cards(); collect (time, case_no, new card)."""
    seen = []
    while clock.t < until:
        clock.t = min(clock.t + step, until.astimezone(UTC))
        for e in cases.evaluate_cards():
            if e.kind == C.CASE_CARD_CHANGED:
                seen.append((clock.t, e.payload["case_no"], e.payload["to"]))
    return seen


def test_yellow_then_red_across_national_day(hall: Hall, cases: Cases, clock) -> None:
    clock.t = local(2026, 9, 29, 9).astimezone(UTC)
    r = cases.register(payload("T1", promise_days=3, status="受理"))
    assert r.value["due_at"] == "2026-10-10 00:00" and r.value["due_day"] == "2026-10-09"
    seen = travel(clock, cases, local(2026, 10, 12, 9), timedelta(hours=1))
    # yellow when one working day is left (end of Oct 8), red when the deadline (end of Oct 9) has passed
    assert seen == [(local(2026, 10, 9, 0).astimezone(UTC), "T1", "yellow"),
                    (local(2026, 10, 10, 0).astimezone(UTC), "T1", "red")]
    assert [c["case_no"] for c in cases.cards()] == ["T1"] and cases.cards()[0]["card_label"] == "红牌超期"
    assert cases.cards(window=1)[0]["case_no"] == "T1" and cases.cards(window=2) == []
    evs = hall.store.events_after(0, 10_000, kinds={C.CASE_CARD_CHANGED})
    assert [e.payload["to"] for e in evs] == ["yellow", "red"]  # in the event log, for the outbox
    assert cases.evaluate_cards() == []  # a quiet pass appends nothing


def test_clock_stop_freezes_and_pushes_the_deadline(hall: Hall, cases: Cases, clock) -> None:
    clock.t = local(2026, 9, 29, 9).astimezone(UTC)
    cases.register(payload("T2", promise_days=3, status="受理"))
    cases.transition("T2", "在办")
    clock.t = local(2026, 9, 30, 12).astimezone(UTC)
    r = cases.transition("T2", "挂起")
    assert r.value["clock_stopped"] is True
    assert travel(clock, cases, local(2026, 10, 8, 12), timedelta(hours=3)) == []  # stopped: no card
    r = cases.transition("T2", "在办")
    # half of Sep 30 and half of Oct 8 stopped = one working day: the due moment moves to Saturday Oct 10's end
    assert r.value["due_at"] == "2026-10-11 00:00"
    assert cases.case("T2")["stopped_days"] == 1.0
    seen = travel(clock, cases, local(2026, 10, 12, 9), timedelta(hours=1))
    assert seen == [(local(2026, 10, 10, 0).astimezone(UTC), "T2", "yellow"),
                    (local(2026, 10, 11, 0).astimezone(UTC), "T2", "red")]


def test_correction_after_acceptance_stops_the_clock(cases: Cases, clock) -> None:
    cases.register(payload("T3", promise_days=1, status="受理"))  # Tue 09:00 → due end of Wed
    clock.advance(hours=3)
    cases.transition("T3", "补齐补正")
    clock.advance(days=1)  # Wed 12:00: one whole working day stopped
    r = cases.transition("T3", "在办")
    assert r.value["due_at"] == "2026-11-27 00:00"


def test_correction_before_acceptance_does_not_touch_the_clock(cases: Cases, clock) -> None:
    cases.register(payload("T4", promise_days=1))
    cases.transition("T4", "补齐补正")
    clock.advance(days=2)
    r = cases.transition("T4", "受理")  # the clock starts at acceptance (Thu 09:00)
    assert r.value["due_at"] == "2026-11-28 00:00" and cases.case("T4")["stopped_days"] == 0


def test_instant_case_is_yellow_at_once_and_red_after_the_day(cases: Cases, clock) -> None:
    r = cases.register(payload("T5", case_type=1, promise_days=None, legal_days=None, status="受理"))
    kinds = [(e.kind, e.payload.get("to")) for e in r.events]
    assert (C.CASE_CARD_CHANGED, "yellow") in kinds  # less than one working day left
    seen = travel(clock, cases, datetime(2026, 11, 25, 3, tzinfo=UTC), timedelta(minutes=30))
    assert seen == [(local(2026, 11, 25, 0).astimezone(UTC), "T5", "red")]


def test_finishing_clears_the_card_with_an_event(cases: Cases, clock) -> None:
    cases.register(payload("T6", promise_days=1, status="受理"))
    clock.advance(days=3)
    assert [e.payload["to"] for e in cases.evaluate_cards() if e.kind == C.CASE_CARD_CHANGED] == ["red"]
    r = cases.transition("T6", "办结")
    assert [(e.payload["from"], e.payload["to"]) for e in r.events if e.kind == C.CASE_CARD_CHANGED] == [
        ("red", "none")]
    assert cases.cards() == [] and cases.case("T6")["on_time"] is False


def test_margin_is_configurable(hall: Hall, clock) -> None:
    cases = Cases(hall, CaseSettings(yellow_margin_days=2))
    r = cases.register(payload("T7", promise_days=3, status="受理"))  # Tue → due end of Fri
    assert r.value["card"] == "none"
    seen = travel(clock, cases, local(2026, 11, 28, 9), timedelta(hours=1))
    assert seen[0] == (local(2026, 11, 26, 0).astimezone(UTC), "T7", "yellow")


def test_no_deadline_no_card(cases: Cases, clock) -> None:
    cases.register(payload("T8", case_type=9, promise_days=None, legal_days=None, status="受理"))
    clock.advance(days=30)
    assert all(e.kind != C.CASE_CARD_CHANGED for e in cases.evaluate_cards())
    assert cases.case("T8")["card"] == "none" and cases.case("T8")["due_at"] is None


def test_calendar_change_reschedules_open_cases(config, store, clock) -> None:
    hall = Hall(config, store, clock=clock)
    cases = Cases(hall)
    cases.evaluate_cards()
    cases.register(payload("T9", promise_days=2, status="受理"))  # Tue → due end of Thu
    assert cases.case("T9")["due_at"] == "2026-11-27 00:00"
    # restart with an override file that closes Wednesday (e.g. a typhoon): the deadline moves to Friday
    cal = WorkCalendar(closed={datetime(2026, 11, 25).date()})
    hall2 = Hall(config, store, clock=clock, calendar=cal)
    cases2 = Cases(hall2)
    cases2.evaluate_cards()
    assert cases2.case("T9")["due_at"] == "2026-11-28 00:00"
