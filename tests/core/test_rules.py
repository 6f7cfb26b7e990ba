"""The queue's rules without holes: business days and holidays, check-in hours, the appointments switch, one open
ticket per ID, windows that serve the business, the 差评 reason, rating after service, every `by=` of times()."""
from __future__ import annotations

from datetime import date

import pytest

from kiosk.core import errors as E
from kiosk.core.config import HallConfig, loads
from kiosk.core.figures import TIME_GROUPS
from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from kiosk.store import Store
from tests.conftest import SMALL_CONFIG, FakeClock, make_id, staff

VALID_ID = "11010519491231002X"

RULES_CONFIG = SMALL_CONFIG + """
[[businesses]]
code = "market"
prefix = "M"
name = "企业开办"
days = [1, 2, 3, 4, 5, 6]

[[businesses]]
code = "permit"
prefix = "P"
name = "证照"
days = [2, 4]

[[businesses]]
code = "notary"
prefix = "N"
name = "公证"
appointments = false

[[windows]]
number = 5
businesses = ["market"]
"""


@pytest.fixture
def config() -> HallConfig:
    return loads(RULES_CONFIG, "rules.toml")


@pytest.fixture
def hall(config: HallConfig, store: Store, clock: FakeClock) -> Hall:
    return staff(Hall(config, store, clock=clock))


# --- business days and holidays ---------------------------------------------------------------------------
def test_a_weekday_list_is_closed_on_a_public_holiday_and_says_it_is_not_a_working_day(hall: Hall, clock) -> None:
    clock.set_local(2026, 10, 2, 10, 0)  # a Friday, 国庆节
    with pytest.raises(E.NotWorkingDay) as exc:
        hall.issue_ticket("market")
    assert exc.value.key == "not_working_day"
    assert "法定节假日" in exc.value.message and "国庆节" in exc.value.message and "不是工作日" in exc.value.message
    assert isinstance(exc.value, E.OutsideTicketHours)  # screens that catch the old refusal still catch it
    clock.set_local(2026, 10, 3, 10, 0)  # a Saturday inside the National Day break: 6 is listed, still closed
    with pytest.raises(E.NotWorkingDay):
        hall.issue_ticket("market")
    assert hall.counts()["_total"] == {}


def test_workdays_refusal_on_a_holiday_and_a_weekend_says_why(hall: Hall, clock) -> None:
    clock.set_local(2026, 10, 1, 10, 0)
    with pytest.raises(E.NotWorkingDay) as exc:
        hall.issue_ticket("social")
    assert exc.value.message == "今天是法定节假日（国庆节），不是工作日，社保不办理"
    clock.set_local(2026, 11, 28, 10, 0)  # an ordinary Saturday
    with pytest.raises(E.NotWorkingDay) as exc:
        hall.issue_ticket("social")
    assert exc.value.message == "今天是休息日，不是工作日，社保不办理"
    assert hall.issue_ticket("market").value.ticket["number"] == "M001"  # 周六延时服务: Saturday is listed


def test_a_make_up_working_day_is_a_working_day_for_a_weekday_list(hall: Hall, clock) -> None:
    clock.set_local(2026, 10, 10, 10, 0)  # a Saturday worked in exchange for the National Day break (调休)
    assert hall.calendar.is_working_day(date(2026, 10, 10))
    assert hall.issue_ticket("social").value.ticket["number"] == "A001"  # "workdays"
    assert hall.issue_ticket("notary").value.ticket["number"] == "N001"  # workdays too
    assert hall.issue_ticket("permit").value.ticket["number"] == "P001"  # [2, 4]: the make-up day is worked


def test_the_halls_own_closure_closes_every_listed_day(config: HallConfig, store: Store, clock) -> None:
    config.calendar.closed = [date(2026, 11, 25)]  # a Wednesday, e.g. a typhoon
    hall = Hall(config, store, clock=clock)
    clock.set_local(2026, 11, 25, 10, 0)
    with pytest.raises(E.NotWorkingDay) as exc:
        hall.issue_ticket("market")
    assert "本中心休息日" in exc.value.message
    hall.issue_ticket("tax")  # days = "all": explicitly open on every day, closures and holidays included


def test_days_all_opens_on_a_public_holiday(hall: Hall, clock) -> None:
    clock.set_local(2026, 10, 2, 3, 0)
    assert hall.issue_ticket("tax").value.ticket["number"] == "C001"


def test_a_working_day_not_in_the_list(hall: Hall, clock) -> None:
    clock.set_local(2026, 11, 23, 10, 0)  # a Monday
    with pytest.raises(E.NotBusinessDay) as exc:
        hall.issue_ticket("permit")
    assert exc.value.message == "证照只在周二、周四办理，今天不办理"
    clock.set_local(2026, 11, 24, 10, 0)
    assert hall.issue_ticket("permit").value.ticket["number"] == "P001"


def test_no_booking_on_a_day_the_business_does_not_open(hall: Hall) -> None:
    with pytest.raises(E.NotWorkingDay) as exc:
        hall.book_appointment("YY-HOL", "social", date(2026, 10, 2), "09:00", "09:30")
    assert exc.value.message.startswith("2026-10-02是法定节假日（国庆节）")
    with pytest.raises(E.NotBusinessDay):
        hall.book_appointment("YY-MON", "permit", date(2026, 11, 30), "09:00", "09:30")
    hall.book_appointment("YY-SAT", "market", date(2026, 11, 28), "09:00", "09:30")


# --- check-in within the ticket hours -------------------------------------------------------------------------
def test_check_in_in_the_evening_is_refused(hall: Hall, clock) -> None:
    hall.book_appointment("YY-EVE", "housing", date(2026, 11, 24), "19:30", "20:00", id_number=VALID_ID)
    clock.set_local(2026, 11, 24, 19, 45)
    with pytest.raises(E.OutsideCheckInHours) as exc:
        hall.check_in(code="YY-EVE")
    assert exc.value.message == "不动产的预约签到时间为 08:00-12:30、13:00-18:00，现在不能签到"
    assert hall.counts()["_total"] == {}


@pytest.mark.parametrize(("h", "m", "ok"), [(7, 59, False), (8, 0, True), (12, 30, True), (12, 45, False),
                                           (13, 0, True), (18, 0, True), (18, 1, False)])
def test_check_in_hours_are_the_ticket_hours_with_a_grace(hall: Hall, clock, h: int, m: int, ok: bool) -> None:
    hall.book_appointment("YY-1", "social", date(2026, 11, 24), "08:00", "23:00")
    clock.set_local(2026, 11, 24, h, m)
    if ok:
        assert hall.check_in(code="YY-1").value.ticket["priority"] == "appointment"
    else:
        with pytest.raises(E.OutsideCheckInHours):
            hall.check_in(code="YY-1")


def test_check_in_grace_is_configurable(config: HallConfig, store: Store, clock) -> None:
    config.rules.checkin_grace_minutes = 0
    hall = Hall(config, store, clock=clock)
    hall.book_appointment("YY-L", "social", date(2026, 11, 24), "12:00", "14:00")
    clock.set_local(2026, 11, 24, 12, 10)
    with pytest.raises(E.OutsideCheckInHours) as exc:
        hall.check_in(code="YY-L")
    assert "08:30-12:00、13:30-17:30" in exc.value.message
    clock.set_local(2026, 11, 24, 13, 30)
    hall.check_in(code="YY-L")


def test_check_in_on_a_day_the_hall_closed_after_booking(hall: Hall, clock) -> None:
    hall.book_appointment("YY-WED", "social", date(2026, 11, 25), "09:00", "09:30")
    hall.calendar.set_override(date(2026, 11, 25), is_open=False)  # a typhoon day declared after the booking
    clock.set_local(2026, 11, 25, 9, 10)
    with pytest.raises(E.NotWorkingDay) as exc:
        hall.check_in(code="YY-WED")
    assert exc.value.message == "今天是本中心休息日，不是工作日，社保不办理"


# --- the appointments switch and used codes --------------------------------------------------------------------
def test_appointments_false_refuses_booking_and_check_in(hall: Hall, config: HallConfig) -> None:
    with pytest.raises(E.AppointmentsNotOffered) as exc:
        hall.book_appointment("YY-N", "notary", date(2026, 11, 24), "09:00", "09:30")
    assert exc.value.message == "公证不提供预约，请取普通号"
    config.business("notary").appointments = True  # booked while it was offered …
    hall.book_appointment("YY-N", "notary", date(2026, 11, 24), "09:00", "09:30")
    config.business("notary").appointments = False  # … then switched off
    with pytest.raises(E.AppointmentsNotOffered):
        hall.check_in(code="YY-N")
    with pytest.raises(E.AppointmentsNotOffered):
        hall.issue_ticket("notary", appointment_code="YY-N")
    assert hall.counts()["_total"] == {}
    assert hall.issue_ticket("notary").value.ticket["priority"] == "normal"  # walk-ins still come


def test_booking_a_used_code_again_is_refused_not_reset(hall: Hall) -> None:
    hall.book_appointment("YY-U", "social", date(2026, 11, 24), "09:00", "09:30")
    number = hall.check_in(code="YY-U").value.ticket["number"]
    with pytest.raises(E.AppointmentCodeUsed) as exc:
        hall.book_appointment("YY-U", "social", date(2026, 11, 24), "10:00", "10:30")
    assert "YY-U" in exc.value.message
    with pytest.raises(E.AppointmentUsed) as used:
        hall.check_in(code="YY-U")
    assert used.value.params["number"] == number
    row = hall.store.conn().execute("SELECT status, slot_start FROM appointments WHERE code = 'YY-U'").fetchone()
    assert tuple(row) == ("checked_in", "09:00")


def test_a_booked_code_may_be_rescheduled(hall: Hall) -> None:
    hall.book_appointment("YY-R", "social", date(2026, 11, 24), "09:00", "09:30")
    hall.book_appointment("YY-R", "social", date(2026, 11, 24), "10:00", "10:30")
    row = hall.store.conn().execute("SELECT status, slot_start FROM appointments WHERE code = 'YY-R'").fetchone()
    assert tuple(row) == ("booked", "10:00")


# --- one open ticket per ID, walk-in and appointment alike -----------------------------------------------------
def test_an_appointment_ticket_counts_as_the_ids_open_ticket(hall: Hall) -> None:
    hall.book_appointment("YY-ID", "housing", date(2026, 11, 24), "09:00", "09:30", id_number=VALID_ID)
    t = hall.check_in(code="YY-ID").value.ticket
    assert t["id_masked"] == "1101**********002X"
    with pytest.raises(E.DuplicateOpenTicket) as exc:
        hall.issue_ticket("housing", id_number=VALID_ID)
    assert exc.value.params["number"] == t["number"]


def test_check_in_with_an_open_walk_in_ticket_is_refused(hall: Hall) -> None:
    walk_in = hall.issue_ticket("housing", id_number=VALID_ID).value.ticket
    hall.book_appointment("YY-W", "housing", date(2026, 11, 24), "09:00", "09:30", id_number=VALID_ID)
    with pytest.raises(E.DuplicateOpenTicket) as exc:
        hall.check_in(code="YY-W")
    assert exc.value.params["number"] == walk_in["number"]
    hall.call_next(3)
    hall.finish_service(3)
    assert hall.check_in(code="YY-W").value.ticket["priority"] == "appointment"  # served: the booking is honoured


# --- windows serve their businesses ---------------------------------------------------------------------------
def test_transfer_to_a_window_that_does_not_serve_the_business(hall: Hall) -> None:
    hall.issue_ticket("housing", id_number=VALID_ID)
    hall.call_next(3)
    with pytest.raises(E.WindowDoesNotServe) as exc:
        hall.transfer(3, to_window=5)
    assert exc.value.message == "5号窗口不办理不动产"
    assert hall.window(3)["current"]["number"] == "B001"  # nothing changed
    with pytest.raises(E.WindowDoesNotServe):
        hall.transfer(3, to_business="tax", to_window=5)
    hall.transfer(3, to_business="market", to_window=5)  # sent on as 企业开办: window 5 serves that
    assert hall.call_next(5).value["number"] == "B001"


def test_transfer_to_a_combined_window_or_a_serving_one(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.call_next(1)
    hall.transfer(1, to_window=9)  # 综合窗口 serves every business
    assert hall.call_next(9).value["number"] == "A001"
    hall.transfer(9, to_window=2)
    assert hall.call_next(2).value["number"] == "A001"


def test_transfer_to_a_business_no_window_serves(config: HallConfig, store: Store, clock) -> None:
    config.windows = [w for w in config.windows if w.number != 9 and w.number != 5]
    hall = staff(Hall(config, store, clock=clock))
    hall.issue_ticket("social")
    hall.call_next(1)
    with pytest.raises(E.NoWindowServes) as exc:
        hall.transfer(1, to_business="market")
    assert exc.value.message == "没有窗口办理企业开办"


def test_call_a_specific_ticket_only_where_its_business_is_served(hall: Hall) -> None:
    hall.issue_ticket("social")
    with pytest.raises(E.WindowDoesNotServe) as exc:
        hall.call_ticket(5, "A001")
    assert exc.value.message == "5号窗口不办理社保"
    assert hall.waiting()[0]["number"] == "A001"
    assert hall.call_ticket(9, "A001").value["window"] == 9  # the combined window serves it


def test_a_ticket_sent_to_a_window_is_called_there(hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.call_next(1)
    hall.transfer(1, to_window=2)
    with pytest.raises(E.TransferredElsewhere) as exc:
        hall.call_ticket(1, "A001")
    assert exc.value.message == "A001 已转到2号窗口，请由该窗口呼叫"
    assert hall.call_ticket(2, "A001").value["window"] == 2


# --- ratings -----------------------------------------------------------------------------------------------------
def _serve(hall: Hall) -> str:
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(1)
    hall.start_service(1)
    hall.finish_service(1)
    return str(t["id"])


def test_a_called_ticket_cannot_be_rated_before_service_starts(hall: Hall) -> None:
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(1)
    with pytest.raises(E.NotRateable) as exc:
        hall.rate(t["id"], Level.SATISFIED)
    assert exc.value.message == "A001 当前为已叫号，开始办理后才能评价"
    with pytest.raises(E.NotRateable):
        hall.request_rating(1)
    hall.start_service(1)
    assert hall.request_rating(1).value["id"] == t["id"]
    assert hall.rate(t["id"], Level.SATISFIED).value["level"] == "satisfied"


def test_a_no_show_cannot_be_rated(hall: Hall) -> None:
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(1)
    hall.no_show(1)
    with pytest.raises(E.NotRateable):
        hall.rate(t["id"], Level.VERY_SATISFIED)


def test_a_reason_only_for_a_bad_rating(hall: Hall) -> None:
    good = hall.rate(_serve(hall), Level.SATISFIED).value
    with pytest.raises(E.ReasonNotNeeded) as exc:
        hall.complete_rating_reason(good["id"], "等候时间长")
    assert exc.value.message == "只有差评（不满意、非常不满意）需要填写原因"
    assert hall.rating(good["id"])["reason"] is None
    with pytest.raises(E.ReasonNotNeeded):
        hall.rate(_serve(hall), Level.BASIC, reason="等候时间长")


def test_a_bad_ratings_reason_is_given_once(hall: Hall) -> None:
    r = hall.rate(_serve(hall), Level.DISSATISFIED).value
    hall.complete_rating_reason(r["id"], "等候时间长")
    with pytest.raises(E.ReasonAlreadyGiven) as exc:
        hall.complete_rating_reason(r["id"], "态度不好")
    assert exc.value.message == "这条差评已经填写过原因：等候时间长"
    assert hall.rating(r["id"])["reason"] == "等候时间长"
    given = hall.rate(_serve(hall), Level.VERY_DISSATISFIED, reason="需要多次跑腿").value
    with pytest.raises(E.ReasonAlreadyGiven):
        hall.complete_rating_reason(given["id"], "态度不好")


def test_an_unrated_service_takes_no_reason(hall: Hall) -> None:
    tid = _serve(hall)
    hall.mark_unrated(tid)
    rid = hall.store.conn().execute("SELECT id FROM ratings WHERE ticket_id = ?", (tid,)).fetchone()[0]
    with pytest.raises(E.ReasonNotNeeded):
        hall.complete_rating_reason(rid, "等候时间长")


# --- every by= of times() ---------------------------------------------------------------------------------------
def _day(hall: Hall, clock: FakeClock) -> None:
    """Three services on Tuesday 2026-11-24 and one on Wednesday, with known wait and service times."""
    hall.sign_in(1, "c01", "王芳")
    hall.sign_in(2, "c02", "李娜")
    clock.set_local(2026, 11, 24, 9, 0)
    hall.issue_ticket("social")  # A001: 09:00, called 09:10 at 1, served 10 min
    hall.issue_ticket("tax")  # C001: 09:00, called 09:20 at 2, served 20 min
    clock.advance(minutes=10)
    hall.call_next(1)
    clock.advance(minutes=10)
    hall.finish_service(1)
    hall.call_next(2)
    clock.advance(minutes=20)
    hall.finish_service(2)
    clock.set_local(2026, 11, 24, 14, 0)
    hall.issue_ticket("social")  # A002: 14:00, called 14:30 at 2, served 5 min
    clock.advance(minutes=30)
    hall.call_next(2)
    clock.advance(minutes=5)
    hall.finish_service(2)
    clock.set_local(2026, 11, 25, 9, 0)
    hall.issue_ticket("social")  # A001 on Wednesday: called at once at 1, served 2 min
    hall.call_next(1)
    clock.advance(minutes=2)
    hall.finish_service(1)


EXPECTED = {
    "business": [{"business": "social", "served": 3, "avg_wait_s": 800.0, "avg_service_s": 340.0},
                 {"business": "tax", "served": 1, "avg_wait_s": 1200.0, "avg_service_s": 1200.0}],
    "window": [{"window": 1, "served": 2, "avg_wait_s": 300.0, "avg_service_s": 360.0},
               {"window": 2, "served": 2, "avg_wait_s": 1500.0, "avg_service_s": 750.0}],
    "clerk": [{"clerk": "c01", "served": 2, "avg_wait_s": 300.0, "avg_service_s": 360.0},
              {"clerk": "c02", "served": 2, "avg_wait_s": 1500.0, "avg_service_s": 750.0}],
    "day": [{"day": "2026-11-24", "served": 3, "avg_wait_s": 1200.0, "avg_service_s": 700.0},
            {"day": "2026-11-25", "served": 1, "avg_wait_s": 0.0, "avg_service_s": 120.0}],
    "hour": [{"hour": 9, "served": 3, "avg_wait_s": 600.0, "avg_service_s": 640.0},
             {"hour": 14, "served": 1, "avg_wait_s": 1800.0, "avg_service_s": 300.0}],
}


@pytest.mark.parametrize("by", TIME_GROUPS)
def test_times_by_every_group(hall: Hall, clock: FakeClock, by: str) -> None:
    _day(hall, clock)
    assert hall.times(by, "2026-11-24", "2026-11-25") == EXPECTED[by]


def test_times_groups_are_the_documented_ones() -> None:
    assert set(TIME_GROUPS) == set(EXPECTED)


def test_times_by_an_unknown_group_is_a_clear_error(hall: Hall) -> None:
    with pytest.raises(ValueError, match="by must be one of business, window, clerk, day, hour"):
        hall.times("colour")


def test_times_default_is_today_by_business(hall: Hall, clock: FakeClock) -> None:
    _day(hall, clock)
    assert hall.times() == [{"business": "social", "served": 1, "avg_wait_s": 0.0, "avg_service_s": 120.0}]


def test_other_ids_are_their_own(hall: Hall) -> None:
    """The per-ID rule is per business and per ID: a second citizen and a second business are not refused."""
    hall.book_appointment("YY-A", "housing", date(2026, 11, 24), "09:00", "09:30", id_number=VALID_ID)
    hall.check_in(code="YY-A")
    hall.issue_ticket("housing", id_number=make_id(7))
    hall.issue_ticket("social", id_number=VALID_ID)
    assert hall.counts()["_total"]["issued"] == 3
