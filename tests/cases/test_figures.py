"""Figures on a generated month of cases, checked against a straightforward recomputation from the test's own
record of what happened (times, stops, ratings); and the CSV/XLSX exports."""
from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from kiosk.core.cases import Cases
from kiosk.core.config import loads
from kiosk.core.figures import COLUMNS, month_range
from kiosk.core.hall import Hall
from kiosk.store import Store
from tests.cases.test_workdays import ref_working_time
from tests.conftest import SMALL_CONFIG, FakeClock, staff

TZ = ZoneInfo("Asia/Shanghai")
DEPTS = ["社保局", "不动产中心", "市场监管局"]
CLERKS = ["王五", "赵六", "钱七", "孙八"]
LEVELS = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ)


def working_days(hall: Hall, start: date, end: date) -> list[date]:
    out, d = [], start
    while d <= end:
        if hall.calendar.is_working_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def simulate(hall: Hall, cases: Cases, clock, seed: int = 202611) -> list[dict[str, Any]]:
    """A month of cases, Oct 20 – Dec 4 2026, each action at a working-hour moment; returns the record."""
    rng = random.Random(seed)
    days = working_days(hall, date(2026, 10, 20), date(2026, 11, 30))
    later = working_days(hall, date(2026, 10, 20), date(2026, 12, 31))
    actions: list[tuple[datetime, int, str, dict[str, Any]]] = []
    record: list[dict[str, Any]] = []
    n = 0

    def wday_after(d: date, k: int) -> date:
        return later[later.index(d) + k]

    for d in days:
        for _ in range(rng.randint(3, 7)):
            n += 1
            typ = rng.choice([1, 1, 2, 2, 2, 9])
            promise = rng.randint(1, 8) if typ == 2 else None
            acc = at(d, rng.randint(9, 15), rng.choice([0, 15, 30, 45]))
            c: dict[str, Any] = {
                "case_no": f"M{n:04d}", "type": typ, "promise": promise, "accepted": acc,
                "department": rng.choice(DEPTS), "window": rng.randint(1, 3), "clerk": rng.choice(CLERKS),
                "stops": [], "end": None, "end_status": None, "rating": None,
            }
            cursor = acc
            if typ != 1 and rng.random() < 0.35:  # a stop: 挂起 or 补齐补正, then back to 在办
                s_day = wday_after(d, rng.randint(0, 2))
                s = at(s_day, rng.randint(10, 16), 0)
                s = max(s, acc + timedelta(minutes=30))
                e = at(wday_after(s.date(), rng.randint(0, 3)), rng.randint(9, 16), 30)
                e = max(e, s + timedelta(minutes=20))
                c["stops"].append((s, e, rng.choice(["挂起", "补齐补正"])))
                cursor = e
            if typ == 1:
                fin = at(d, 16, 50) if rng.random() < 0.8 else at(wday_after(d, 1), 10, 0)
            else:
                k = rng.randint(0, (promise or 5) + 3)
                fin = at(wday_after(cursor.date(), k), rng.randint(9, 16), rng.choice([5, 20, 40]))
            fin = max(fin, cursor + timedelta(minutes=10))
            c["end"] = fin
            c["end_status"] = "办结" if rng.random() < 0.9 else "退件"
            if rng.random() < 0.45:
                c["rating"] = rng.choice(LEVELS)
            # the groups a row can fall in: a case is served under a business only when a ticket is linked to it
            c["business"] = "tax" if c["rating"] and c["end_status"] == "办结" else None
            c["day"] = fin.date().isoformat()
            record.append(c)
            actions.append((acc, 0, "create", c))
            for s, e, kind in c["stops"]:
                actions.append((s, 1, kind, c))
                actions.append((e, 2, "在办", c))
            actions.append((fin, 3, "finish", c))
    actions.sort(key=lambda a: (a[0], a[1], a[3]["case_no"]))
    last_day = None
    for when, _, what, c in actions:
        clock.t = when.astimezone(UTC)
        if when.date() != last_day:
            cases.evaluate_cards()
            last_day = when.date()
        if what == "create":
            p = {"case_no": c["case_no"], "case_type": c["type"], "promise_days": c["promise"],
                 "department": c["department"], "window": c["window"], "clerk": c["clerk"],
                 "applicant_name": "李小明", "applicant_phone": "13900001111", "status": "受理"}
            cases.apply_central_update(p, f"msg-{c['case_no']}")
            if c["type"] != 1:
                cases.transition(c["case_no"], "在办")
        elif what == "finish":
            if c["rating"] and c["end_status"] == "办结":
                t = hall.issue_ticket("tax").value.ticket
                hall.call_next(2)
                cases.link_ticket(c["case_no"], t["id"])
                hall.finish_service(2)
                hall.rate(t["id"], c["rating"], reason="测试" if c["rating"].endswith("dissatisfied") else None)
            cases.transition(c["case_no"], c["end_status"])
        else:
            cases.transition(c["case_no"], what)
    return record


def recompute(hall: Hall, record: list[dict[str, Any]], by: str, d1: date, d2: date) -> dict[Any, dict[str, Any]]:
    cal = hall.calendar
    acc: dict[Any, dict[str, Any]] = defaultdict(lambda: {"done": 0, "timed": 0, "on_time": 0, "early": 0,
                                                          "instant": 0, "on_spot": 0, "used": [], "rated": 0,
                                                          "satisfied": 0})
    for c in record:
        key = "hall" if by == "hall" else c[by]
        fin: datetime = c["end"]
        if c["end_status"] == "办结" and d1 <= fin.date() <= d2:
            g = acc[key]
            g["done"] += 1
            stopped = sum(ref_working_time(cal, s, e) for s, e, _ in c["stops"])
            running = ref_working_time(cal, c["accepted"], fin) - stopped
            g["used"].append(running)
            midnight = datetime.combine(c["accepted"].date() + timedelta(days=1), time(), TZ)
            if c["type"] in (1, 2):
                budget = ref_working_time(cal, c["accepted"], midnight) + (c["promise"] or 0)
                g["timed"] += 1
                g["on_time"] += running < budget
                g["early"] += budget - running >= 1 - 1e-9
            if c["type"] == 1:
                g["instant"] += 1
                g["on_spot"] += fin.date() == c["accepted"].date()
        if c["rating"] and c["end_status"] == "办结" and d1 <= fin.date() <= d2:
            g = acc[key]
            g["rated"] += 1
            g["satisfied"] += c["rating"] in ("very_satisfied", "satisfied", "basic")
    return acc


def check(rows: list[dict[str, Any]], expected: dict[Any, dict[str, Any]], by: str) -> None:
    got = {r[by]: r for r in rows}
    assert set(got) == {k for k, v in expected.items() if v["done"] or v["rated"]}
    for k, e in expected.items():
        r = got[k]
        for f in ("done", "timed", "on_time", "early", "instant", "on_spot", "rated", "satisfied"):
            assert r[f] == e[f], (k, f)
        assert r["on_time_rate"] == (round(e["on_time"] / e["timed"], 4) if e["timed"] else None)
        assert r["early_rate"] == (round(e["early"] / e["timed"], 4) if e["timed"] else None)
        assert r["on_spot_rate"] == (round(e["on_spot"] / e["done"], 4) if e["done"] else None)
        assert r["satisfaction_rate"] == (round(e["satisfied"] / e["rated"], 4) if e["rated"] else None)
        if e["used"]:
            assert r["avg_working_days"] == pytest.approx(sum(e["used"]) / len(e["used"]), abs=0.006)


@dataclass
class Month:
    hall: Hall
    cases: Cases
    clock: FakeClock
    record: list[dict[str, Any]]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    """One simulated month shared by the tests of this module (it is read-only for them)."""
    store = Store(tmp_path_factory.mktemp("month") / "month.db", synchronous="OFF")
    clock = FakeClock()
    clock.set_local(2026, 10, 20, 8, 0)  # the hall opens on the month's first day: its business date never goes back
    hall = staff(Hall(loads(SMALL_CONFIG, "test.toml"), store, clock=clock), 2)
    cases = Cases(hall)
    yield Month(hall, cases, clock, simulate(hall, cases, clock))
    store.close()


@pytest.mark.parametrize("by", ["department", "window", "clerk", "business", "day", "hall"])
def test_month_figures_match_recomputation(month: Month, by: str) -> None:
    hall, cases = month.hall, month.cases
    d1, d2 = month_range(2026, 11)
    rows = cases.figures(by, d1, d2)
    check(rows, recompute(hall, month.record, by, date.fromisoformat(d1), date.fromisoformat(d2)), by)
    assert sum(r["done"] for r in rows) > 80  # the month is not trivially small
    assert any(r["on_time_rate"] not in (None, 0, 1) for r in rows)


def test_day_and_custom_range(month: Month) -> None:
    hall, cases = month.hall, month.cases
    for d1, d2 in ((date(2026, 11, 9), date(2026, 11, 9)), (date(2026, 11, 16), date(2026, 11, 27))):
        check(cases.figures("department", d1, d2), recompute(hall, month.record, "department", d1, d2), "department")
    assert cases.figures("clerk", "2026-11-01") == []  # a Sunday: nothing concluded
    with pytest.raises(ValueError, match="by must be one of"):
        cases.figures("colour", d1, d2)


def test_exports_carry_the_same_figures(month: Month, tmp_path: Path) -> None:
    cases = month.cases
    d1, d2 = month_range(2026, 11)
    rows = cases.figures("department", d1, d2)
    with pytest.raises(ValueError):
        cases.export(tmp_path / "f.pdf", "department", d1, d2)
    with (cases.export(tmp_path / "f.csv", "department", d1, d2)).open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["部门"] + [label for _, label in COLUMNS]
    assert [t[0] for t in table[1:]] == [r["department"] for r in rows]
    assert [int(t[1]) for t in table[1:]] == [r["done"] for r in rows]
    wb = load_workbook(cases.export(tmp_path / "f.xlsx", "department", d1, d2))
    data = list(wb.active.iter_rows(values_only=True))
    assert "2026-11-01 至 2026-11-30" in data[0][0] and data[1][0] == "部门"
    col = [label for _, label in COLUMNS].index("按时办结率") + 1
    assert [r[col] for r in data[2:]] == [r["on_time_rate"] for r in rows]


def test_figures_go_to_central_as_events(month: Month) -> None:
    hall, cases = month.hall, month.cases
    r = cases.publish_figures("window", *month_range(2026, 11))
    assert r.events[0].kind == "case.figures" and r.events[0].payload["rows"] == cases.figures(
        "window", *month_range(2026, 11))
    daily = hall.store.events_after(0, 1_000_000, kinds={"case.figures"})
    days = [e.payload["day"] for e in daily if "day" in e.payload]
    assert "2026-11-24" in days and len(days) == len(set(days))  # one report per day, by the evaluate pass
