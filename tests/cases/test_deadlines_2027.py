"""Deadlines that stay right past chinese-calendar's last year (2027 pinned by an overrides file or a calendar the
province publishes), a 法定时限 without a promise as a deadline with its own cards, and days left frozen while the
clock is stopped."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core import cases as C
from kiosk.core.calendar import Published, WorkCalendar, parse_calendar
from kiosk.core.cases import Cases
from kiosk.core.config import load
from kiosk.core.errors import ConfigError
from kiosk.core.hall import Hall
from tests.cases.conftest import payload
from tests.conftest import SMALL_CONFIG

TZ = ZoneInfo("Asia/Shanghai")


def local(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)


def hall_with(tmp_path: Path, store, clock, overrides: str | None) -> Hall:
    text = SMALL_CONFIG
    if overrides is not None:
        (tmp_path / "holidays.txt").write_text(overrides, encoding="utf-8")
        text += '\n[calendar]\noverrides = "holidays.txt"\n'
    (tmp_path / "hall.toml").write_text(text, encoding="utf-8")
    return Hall(load(tmp_path / "hall.toml"), store, clock=clock)


PINNED_2027 = """# 2027 as the hall pinned it
2027-01-01 closed 元旦
2027 complete
"""


def test_2027_pinned_by_the_overrides_file(tmp_path: Path, store, clock) -> None:
    hall = hall_with(tmp_path, store, clock, PINNED_2027)
    cal = hall.calendar
    assert cal.is_working_day(date(2027, 1, 1)) is False and cal.holiday_name(date(2027, 1, 1)) == "元旦"
    assert cal.is_working_day(date(2027, 1, 4)) is True
    clock.t = local(2026, 12, 29, 9).astimezone(UTC)
    r = Cases(hall).register(payload("Y1", promise_days=3, status="受理"))
    # Dec 30, Dec 31, (Jan 1 元旦, Jan 2–3 weekend), Jan 4: due at the end of Monday Jan 4
    assert r.value["due_day"] == "2027-01-04" and r.value["due_at"] == "2027-01-05 00:00"


def test_without_the_pin_2027_is_a_guess_and_the_gap_is_reported(tmp_path: Path, store, clock) -> None:
    hall = hall_with(tmp_path, store, clock, None)
    clock.t = local(2026, 12, 29, 9).astimezone(UTC)
    r = Cases(hall).register(payload("Y2", promise_days=3, status="受理"))
    assert r.value["due_day"] == "2027-01-01"  # Mon–Fri only: the wrong day, which is why the dashboard warns
    assert hall.calendar.official_gap(date(2026, 11, 24), 60) == date(2027, 1, 1)
    assert hall.calendar.official_gap(date(2026, 10, 1), 60) is None  # the next 60 days are all 2026


def test_complete_year_and_published_calendar_close_the_gap(tmp_path: Path, store, clock) -> None:
    assert hall_with(tmp_path, store, clock, PINNED_2027).calendar.official_gap(date(2026, 11, 24)) is None
    cal = WorkCalendar()
    cal.set_published(Published(1, [2027], {date(2027, 1, 1): "元旦"}, {date(2027, 2, 6): "春节调休"}))
    assert cal.official_gap(date(2026, 11, 24)) is None and cal.official_gap(date(2027, 12, 1)) == date(2028, 1, 1)
    assert not cal.is_working_day(date(2027, 1, 1)) and cal.is_working_day(date(2027, 2, 6))  # a Saturday
    assert cal.holiday_name(date(2027, 1, 1)) == "元旦"
    # the hall's own override still wins over the province's calendar
    cal.set_override(date(2027, 1, 1), True)
    assert cal.is_working_day(date(2027, 1, 1))


def test_published_calendar_moves_the_fingerprint_and_the_deadlines(hall: Hall, cases: Cases, clock) -> None:
    clock.t = local(2026, 12, 29, 9).astimezone(UTC)
    cases.register(payload("Y3", promise_days=3, status="受理"))
    cases.evaluate_cards()
    assert cases.case("Y3")["due_day"] == "2027-01-01"
    before = hall.calendar.fingerprint()
    hall.calendar.set_published(Published(7, [2027], {date(2027, 1, 1): "元旦"}, {}))
    assert hall.calendar.fingerprint() != before
    cases.evaluate_cards()  # the next pass sees the new calendar and recomputes open cases
    assert cases.case("Y3")["due_day"] == "2027-01-04"


@pytest.mark.parametrize(("text", "error"), [
    ("2027-01-01 shut", "expected 'closed' or 'open'"),
    ("2027-13-01 closed", "expected 'YYYY-MM-DD"),
    ("2027 done", "expected 'YYYY complete'"),
    ("1999 complete", "expected 'YYYY complete'"),
    ("2003-12-31 closed", "before 2004-01-01"),
    ("2027-01-01 closed\n2027-01-01 open", "both closed and open"),
    ("2027-01-01 closed " + "长" * 41, "longer than 40"),
])
def test_bad_calendar_lines_name_the_line(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error) as exc:
        parse_calendar(text, "holidays.txt")
    assert "holidays.txt:" in str(exc.value)


def test_bad_overrides_file_is_a_config_error(tmp_path: Path, store, clock) -> None:
    with pytest.raises(ConfigError, match=r"option 'overrides' in section \[calendar\] has a bad line"):
        hall_with(tmp_path, store, clock, "2027 soon\n")


def test_published_days_outside_its_years_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the years"):
        Published(1, [2027], {date(2028, 1, 1): "元旦"}, {})
    with pytest.raises(ValueError, match="both as a holiday and as a working day"):
        Published(1, [2027], {date(2027, 1, 1): ""}, {date(2027, 1, 1): ""})


# --- 法定时限 without a promise -----------------------------------------------------------------------------------
def test_legal_limit_alone_is_a_deadline_with_its_own_cards(hall: Hall, cases: Cases, clock) -> None:
    clock.t = local(2026, 11, 2, 9).astimezone(UTC)  # a Monday
    r = cases.register(payload("L1", case_type=9, legal_days=20, promise_days=None, status="受理"))
    v = r.value
    assert v["deadline_basis"] == "legal" and v["deadline_label"] == "法定时限"
    assert v["promised_at"] is None  # no promise was made: only the law's limit
    assert v["due_day"] == "2026-11-30"  # 20 working days after Nov 2
    seen = []
    while clock.t < local(2026, 12, 2, 9).astimezone(UTC):
        clock.advance(hours=6)
        seen += [(e.payload["to"], e.payload["basis"]) for e in cases.evaluate_cards()
                 if e.kind == C.CASE_CARD_CHANGED]
    assert seen == [("yellow", "legal"), ("red", "legal")]
    assert cases.card_counts()["red"] == 1 and cases.cards()[0]["deadline_label"] == "法定时限"


def test_a_promise_wins_over_the_legal_limit(hall: Hall, cases: Cases, clock) -> None:
    clock.t = local(2026, 11, 2, 9).astimezone(UTC)
    v = cases.register(payload("L2", legal_days=20, promise_days=5, status="受理")).value
    assert v["deadline_basis"] == "promise" and v["due_day"] == "2026-11-09" and v["promised_at"] is not None


def test_no_limit_at_all_has_no_deadline(hall: Hall, cases: Cases, clock) -> None:
    v = cases.register(payload("L3", case_type=9, legal_days=None, promise_days=None, status="受理")).value
    assert v["deadline_basis"] is None and v["due_at"] is None and v["card"] == "none"


# --- days left while the clock is stopped ---------------------------------------------------------------------
@pytest.mark.parametrize("stop", ["补齐补正", "挂起"])
def test_working_days_left_frozen_while_stopped(hall: Hall, cases: Cases, clock, stop: str) -> None:
    clock.t = local(2026, 11, 2, 9).astimezone(UTC)
    cases.register(payload("S1", promise_days=10, status="受理"))
    cases.transition("S1", "在办")
    clock.t = local(2026, 11, 3, 12).astimezone(UTC)
    cases.transition("S1", stop)
    left = cases.case("S1")["working_days_left"]
    assert left == pytest.approx(9.5)  # 10 days from the end of Nov 2, half of Nov 3 used
    for hours in (3, 24, 24 * 7):  # later the same day, the next day, a week on: the same days left
        clock.t = local(2026, 11, 3, 12).astimezone(UTC) + timedelta(hours=hours)
        assert cases.case("S1")["working_days_left"] == left
    cases.transition("S1", "在办")
    assert cases.case("S1")["working_days_left"] == pytest.approx(left, abs=0.01)  # the clock runs again from there
    clock.advance(days=1)  # resumed Tuesday Nov 10 12:00; Wednesday 12:00 is one working day later
    assert cases.case("S1")["working_days_left"] == pytest.approx(left - 1, abs=0.01)
