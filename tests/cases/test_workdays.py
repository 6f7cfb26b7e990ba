"""Working-day arithmetic: known holiday weeks (2025/2026 National Day, Spring Festival, make-up days), property
tests against a day-by-day reference, clock stops and hall overrides."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.calendar import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def local(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)


def ref_working_time(cal: WorkCalendar, a: datetime, b: datetime) -> float:
    """Straightforward reference: walk the days, add the part of each working day that lies in [a, b)."""
    if b <= a:
        return -ref_working_time(cal, b, a) if b < a else 0.0
    total, day = 0.0, a.date()
    while day <= b.date():
        start = max(a, datetime.combine(day, datetime.min.time(), TZ))
        end = min(b, datetime.combine(day + timedelta(days=1), datetime.min.time(), TZ))
        if end > start and cal.is_working_day(day):
            total += (end - start).total_seconds() / 86400
        day += timedelta(days=1)
    return total


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 20)).map(
    lambda d: d.replace(tzinfo=TZ, microsecond=0))


@pytest.mark.parametrize(("day", "working"), [
    (date(2025, 1, 26), True),  # Sunday make-up day before Spring Festival 2025
    (date(2025, 1, 28), False), (date(2025, 2, 4), False), (date(2025, 2, 8), True),  # Saturday make-up
    (date(2025, 9, 28), True),  # Sunday make-up before National Day 2025
    (date(2025, 10, 1), False), (date(2025, 10, 8), False), (date(2025, 10, 9), True), (date(2025, 10, 11), True),
    (date(2026, 2, 14), True), (date(2026, 2, 16), False), (date(2026, 2, 23), False), (date(2026, 2, 28), True),
    (date(2026, 9, 20), True), (date(2026, 10, 1), False), (date(2026, 10, 7), False), (date(2026, 10, 8), True),
    (date(2026, 10, 10), True),
])
def test_known_holidays_and_make_up_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working
    assert CAL.working_index(day + timedelta(days=1)) - CAL.working_index(day) == int(working)


@pytest.mark.parametrize(("accepted", "days", "due"), [
    (local(2025, 9, 30, 10), 1, local(2025, 10, 10)),  # Oct 1–8 off: the 1st working day after is Oct 9
    (local(2025, 9, 26, 10), 1, local(2025, 9, 29)),  # Sunday 9-28 is a make-up working day
    (local(2025, 10, 4, 10), 0, local(2025, 10, 1)),  # accepted on a holiday, 0 days: end of the last working day
    (local(2026, 2, 13, 16), 2, local(2026, 2, 25)),  # Feb 14 (Sat, make-up) then Feb 24 after Spring Festival
    (local(2026, 9, 29, 9), 3, local(2026, 10, 10)),  # Sep 30, Oct 8, Oct 9
    (local(2026, 9, 29, 9), 4, local(2026, 10, 11)),  # … and Saturday Oct 10 is a make-up day
])
def test_deadlines_across_holiday_weeks(accepted: datetime, days: int, due: datetime) -> None:
    assert CAL.moment_at(CAL.end_of_day_position(accepted, TZ) + days, TZ) == due


@settings(max_examples=80, deadline=None)
@given(moments, moments)
def test_working_time_matches_day_by_day_reference(a: datetime, b: datetime) -> None:
    assert CAL.working_time_between(a, b) == pytest.approx(ref_working_time(CAL, a, b), abs=1e-6)


@settings(max_examples=80, deadline=None)
@given(moments, st.integers(min_value=0, max_value=40))
def test_whole_day_deadline_matches_add_working_days(a: datetime, n: int) -> None:
    due = CAL.moment_at(CAL.end_of_day_position(a, TZ) + n, TZ)
    # the due moment is midnight after the n-th working day after a's date (a's own day not counted)
    last = CAL.add_working_days(a.date(), n) if n else a.date()
    if n == 0 and not CAL.is_working_day(a.date()):
        last = a.date() - timedelta(days=1)
        while not CAL.is_working_day(last):
            last -= timedelta(days=1)
    assert due == datetime.combine(last + timedelta(days=1), datetime.min.time(), TZ)
    assert CAL.is_working_day(last)


@settings(max_examples=80, deadline=None)
@given(moments, st.floats(min_value=0, max_value=30, allow_nan=False))
def test_moment_at_is_the_first_moment_reaching_a_position(a: datetime, extra: float) -> None:
    pos = CAL.position(a) + extra
    m = CAL.moment_at(pos, TZ)
    assert CAL.position(m) == pytest.approx(pos, abs=1e-6)
    assert CAL.position(m - timedelta(seconds=1)) < pos + 1e-9  # nothing earlier reaches it


@settings(max_examples=60, deadline=None)
@given(moments, moments, moments)
def test_clock_stop_extends_deadline_by_working_time_stopped(accepted: datetime, s1: datetime, s2: datetime) -> None:
    stop_from, stop_to = sorted((s1, s2))
    stopped = CAL.working_time_between(stop_from, stop_to)
    base = CAL.end_of_day_position(accepted, TZ) + 5
    due = CAL.moment_at(base + stopped, TZ)
    # running time from acceptance to the due moment, minus the stop, is the budget
    budget = base - CAL.position(accepted)
    assert ref_working_time(CAL, accepted, due) - ref_working_time(CAL, stop_from, stop_to) == pytest.approx(
        budget, abs=1e-5)


def test_stop_inside_a_holiday_changes_nothing() -> None:
    assert CAL.working_time_between(local(2026, 10, 2, 9), local(2026, 10, 6, 17)) == 0
    assert CAL.working_time_between(local(2026, 2, 15, 9), local(2026, 2, 23, 23)) == 0


def test_override_file_closes_and_opens_days(tmp_path) -> None:
    f = tmp_path / "overrides.txt"
    f.write_text("# 台风停止办公\n2026-11-26 closed\n2026-11-28 open  # 周六加班\n", encoding="utf-8")
    cal = WorkCalendar.from_file(f)
    accepted = local(2026, 11, 24, 10)
    # Wed 25, (Thu 26 closed), Fri 27, Sat 28 open → 3 days end on Saturday
    assert cal.moment_at(cal.end_of_day_position(accepted, TZ) + 3, TZ) == local(2026, 11, 29)
    assert CAL.moment_at(CAL.end_of_day_position(accepted, TZ) + 3, TZ) == local(2026, 11, 28)
    fp = cal.fingerprint()
    cal.set_override(date(2026, 11, 26), True)  # reopened: the tables are rebuilt
    assert cal.moment_at(cal.end_of_day_position(accepted, TZ) + 3, TZ) == local(2026, 11, 28)
    assert cal.fingerprint() != fp


@pytest.mark.parametrize("text", ["2026-13-01 closed", "2026-11-26 shut", "closed"])
def test_override_file_errors_name_the_line(tmp_path, text: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("# ok\n" + text + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        WorkCalendar.from_file(f)


def test_before_epoch_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.position(local(2003, 12, 31, 9))


def test_tables_grow_safely_from_several_threads() -> None:
    import threading

    cal = WorkCalendar()
    moments_ = [local(2025, 1, 1, 9) + timedelta(hours=7 * i) for i in range(2500)]
    results: list[list[float]] = []

    def work(order: list[datetime]) -> None:
        results.append([cal.position(m) for m in order])

    threads = [threading.Thread(target=work, args=(moments_[::1 if i % 2 else -1],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = [CAL.position(m) for m in moments_]
    assert len(results) == len(threads)  # a worker that died appended nothing
    for i, r in enumerate(results):
        assert (r if len(r) and r[0] == want[0] else r[::-1]) == want, i
