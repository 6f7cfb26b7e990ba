"""`hall report` against a hand recount: two hall days driven with the clock (issues, calls, recalls, no-shows,
transfers, holds, pauses, sign-ins left overnight, ratings, an unrated service, 差评 and 整改, cases), then every
figure of the report, for every grouping, recounted here from the event log alone — store.events_after(0), walked
in order by code that shares nothing with kiosk/core/report.py (minute-by-minute opening hours, a percentile by
counting) — and compared; and the CSV, XLSX and the command itself."""
from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from kiosk.cli import main
from kiosk.core.cases import Cases
from kiosk.core.config import HallConfig, loads
from kiosk.core.hall import Hall
from kiosk.core.report import BY_CHOICES, Durations, Report, build_report
from kiosk.core.report_files import COLUMNS, write_csv, write_xlsx
from kiosk.store import Store
from tests.cases.test_workdays import ref_working_time
from tests.conftest import SMALL_CONFIG, FakeClock, make_id

TZ = ZoneInfo("Asia/Shanghai")
DAY1, DAY2 = date(2026, 11, 24), date(2026, 11, 25)
# the region counts a service left unrated as 满意 after one day: the report must say it and count it so
CONFIG = SMALL_CONFIG.replace("recall_cap = 3", "recall_cap = 3\nunrated_as_satisfied_days = 1")
# 经办人 of each case, as registered: the case events carry the case's public view, which leaves the clerk out
CASE_CLERKS = {"K1": "c09", "K2": "c01", "K3": "c03", "K4": "c01"}


@dataclass
class Day:
    hall: Hall
    clock: FakeClock
    cases: Cases
    now: datetime


def local(clock: FakeClock, d: date, hm: str) -> None:
    h, m = (int(x) for x in hm.split(":"))
    clock.set_local(d.year, d.month, d.day, h, m)


def case(cases: Cases, no: str, typ: int, window: int, promise: int | None = None) -> None:
    cases.apply_central_update({"case_no": no, "case_type": typ, "promise_days": promise, "window": window,
                                "clerk": CASE_CLERKS[no], "department": "社保局", "status": "受理"}, f"m-{no}")


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Monday 11-23 a case is accepted; Tuesday 11-24 and Wednesday 11-25 the hall works (times are local)."""
    store = Store(tmp_path_factory.mktemp("report") / "hall.db")
    clock = FakeClock()
    local(clock, date(2026, 11, 23), "10:00")
    hall = Hall(loads(CONFIG, "test.toml"), store, clock=clock)
    cases = Cases(hall)
    case(cases, "K4", 2, 1, promise=1)  # due at the end of Tuesday: concluded Wednesday, late
    t = lambda hm, d=DAY1: local(clock, d, hm)  # noqa: E731
    find = lambda n: hall.find_ticket(n)["id"]  # noqa: E731

    t("08:00")
    hall.sign_in(1, "c01", "王芳")
    hall.sign_in(3, "c03", "李娜")
    t("08:40")
    for b, kw in (("social", {}), ("social", {"priority": "green"}), ("housing", {"id_number": make_id(1)}),
                  ("tax", {})):
        hall.issue_ticket(b, **kw)  # A001 A002 B001 C001
    t("08:50")
    hall.issue_ticket("social")  # A003
    t("09:00")
    hall.call_next(1)  # A002, the green channel
    hall.call_next(3)  # B001
    t("09:02")
    hall.start_service(1)
    t("09:05")
    hall.start_service(3)
    t("09:10")
    hall.finish_service(1)
    hall.rate(find("A002"), "very_satisfied")
    hall.call_next(1)  # A001
    t("09:11")
    hall.recall(1)
    t("09:12")
    hall.no_show(1)
    t("09:15")
    hall.transfer(3, to_window=9)  # B001 goes to the combined window
    t("09:20")
    hall.call_next(1)  # A003
    t("09:21")
    hall.start_service(1)
    t("09:25")
    case(cases, "K2", 2, 1, promise=3)
    cases.transition("K2", "在办")
    t("09:30")
    case(cases, "K3", 2, 3, promise=1)
    hall.hold(1)  # A003 fetches a document
    hall.pause(1, "会议")
    t("10:00")
    hall.sign_in(2, "c02", "张伟")
    t("10:01")
    hall.call_next(2)  # C001, after 81 minutes
    t("10:02")
    hall.start_service(2)
    t("10:10")
    hall.resume_window(1)
    t("10:12")
    hall.resume_ticket(1, "A003")
    t("10:20")
    hall.finish_service(1)  # A003: 59 minutes of service, the hold included (started_at is kept)
    hall.rate(find("A003"), "dissatisfied", reason="等候时间长")
    cases.link_ticket("K2", find("A003"))
    t("10:30")
    hall.finish_service(2)
    hall.mark_unrated(find("C001"))
    hall.sign_in(9, "c09", "赵敏")
    t("10:31")
    hall.call_next(9)  # B001 at its new window
    t("10:32")
    hall.start_service(9)
    case(cases, "K1", 1, 9)  # 即办件, accepted at the window
    cases.link_ticket("K1", find("B001"))
    t("10:50")
    hall.finish_service(9)
    hall.rate(find("B001"), "satisfied")
    cases.transition("K1", "办结")  # on the spot
    cases.evaluate_cards()  # A003's 差评 opens its 整改 item
    t("14:00")
    hall.issue_ticket("social")  # A004
    t("14:05")
    hall.call_next(1)
    hall.start_service(1)
    t("14:10")
    hall.issue_ticket("social")  # A005
    t("14:25")
    hall.call_next(1)  # finishes A004, calls A005
    t("14:27")
    hall.transfer(1, to_business="tax")  # A005 leaves 社保 for 税务
    t("14:30")
    hall.call_next(2)  # A005, transferred in: ahead of the tax queue
    t("14:31")
    hall.start_service(2)
    t("14:40")
    hall.finish_service(2)
    hall.rate(find("A005"), "basic")
    t("17:00")
    hall.sign_out(1)
    hall.pause(3, "下班")  # …and stays signed in and paused overnight
    t("17:30")
    hall.sign_out(2)  # window 9 stays signed in overnight: it serves 税务, open round the clock

    t("08:20", DAY2)
    hall.sign_in(1, "c01", "王芳")  # the rollover's day.closed comes first
    t("09:00", DAY2)
    hall.issue_ticket("social")  # A001
    hall.issue_ticket("housing", id_number=make_id(2))  # B001
    hall.resume_window(3)
    t("09:05", DAY2)
    hall.call_next(1)
    t("09:06", DAY2)
    hall.start_service(1)
    t("09:10", DAY2)
    hall.call_next(3)
    t("09:15", DAY2)
    hall.no_show(3)
    t("09:20", DAY2)
    hall.finish_service(1)
    hall.rate(find("A001"), "very_dissatisfied", reason="态度不好")
    cases.link_ticket("K3", find("A001"))
    t("10:00", DAY2)
    cases.transition("K2", "办结")  # early: two working days to spare
    t("10:30", DAY2)
    cases.transition("K4", "办结")  # late
    hall.issue_ticket("tax")  # C001
    t("10:40", DAY2)
    hall.call_next(9)
    t("10:41", DAY2)
    hall.start_service(9)
    t("11:05", DAY2)
    hall.finish_service(9)
    hall.rate(find("C001"), "satisfied")
    cases.evaluate_cards()  # the second 差评's item
    items = {i["number"]: i["id"] for i in cases.rectifications(open_only=True)}
    cases.verify_rectification(items["A003"], valid=False, note="核实不属实", evidence="监控录像", by="m01")
    t("16:00", DAY2)
    cases.transition("K3", "办结")  # on time, not a working day early
    t("17:45", DAY2)
    yield Day(hall, clock, cases, clock())
    store.close()


# --- the hand recount -------------------------------------------------------------------------------------------------
def nearest_rank(values: list[float], p: int) -> float | None:
    """The smallest value with at least p % of the values at or below it (what nearest rank means)."""
    return next((v for v in sorted(values) if sum(x <= v for x in values) * 100 >= p * len(values)), None)


def minutes_open(config: HallConfig, window: int) -> list[tuple[int, int]]:
    """The window's ticket hours as minutes of the day, from the hall file's own strings."""
    out = []
    for code in config.window_businesses(window):
        for span in config.business(code).hours:  # type: ignore[union-attr]
            a, b = span.split("-")
            out.append((int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])))
    return out


@dataclass
class Tally:
    issued: int = 0
    served: int = 0
    no_show: int = 0
    transferred: int = 0
    waits: list[float] = field(default_factory=list)
    services: list[float] = field(default_factory=list)
    rated: int = 0
    satisfied: int = 0
    unrated: int = 0
    unrated_counted: int = 0
    bad: int = 0
    rectify_opened: int = 0
    rectify_closed: int = 0
    cases_done: int = 0
    cases_timed: int = 0
    on_time: int = 0
    early: int = 0
    on_spot: int = 0
    case_rated: int = 0
    case_satisfied: int = 0
    pause_s: float = 0.0
    idle_s: float = 0.0


GOOD = {"very_satisfied", "satisfied", "basic"}


def recount(hall: Hall, d1: date, d2: date, by: str, now: datetime) -> tuple[dict[Any, Tally], Tally]:
    """Every figure of the report from the event log, walked from its first event."""
    config = hall.config
    groups: dict[Any, Tally] = defaultdict(Tally)
    total = Tally()
    lo, hi = d1.isoformat(), d2.isoformat()
    start = datetime.combine(d1, datetime.min.time(), TZ)
    end = min(now, datetime.combine(d2 + timedelta(days=1), datetime.min.time(), TZ))
    tickets: dict[str, dict[str, Any]] = {}
    desks = {w.number: {"clerk": None, "paused": False, "ticket": None, "since": None} for w in config.windows}
    ratings: dict[str, dict[str, Any]] = {}  # rating id → its key and day, as last recorded
    case_of_ticket: dict[str, str] = {}
    done_cases: list[dict[str, Any]] = []
    items: dict[str, str] = {}  # 整改 item → rating id
    closed_items: set[str] = set()

    def add(key: Any, attributed: bool = True) -> list[Tally]:
        return [total, groups[key]] if attributed else [total]

    def spend(n: int, until: datetime) -> None:
        d = desks[n]
        since, d["since"] = d["since"], until
        if since is None or d["clerk"] is None or (not d["paused"] and d["ticket"] is not None):
            return
        spans = minutes_open(config, n)
        m = max(since, start)
        while m < min(until, end):  # minute by minute: every event of these days is on a whole minute
            lm = m.astimezone(TZ)
            if any(a <= lm.hour * 60 + lm.minute < b for a, b in spans):
                key = {"window": n, "clerk": d["clerk"], "day": lm.date().isoformat()}.get(by)
                for g in add(key, by != "business"):
                    if d["paused"]:
                        g.pause_s += 60
                    else:
                        g.idle_s += 60
            m += timedelta(minutes=1)

    seq = 0
    while batch := hall.store.events_after(seq, 500):
        for e in batch:
            seq = e.seq
            at = datetime.fromisoformat(e.at_utc)
            p = e.payload
            t = p.get("ticket") or {}
            info = tickets.get(t.get("id", ""), {})
            if e.kind == "ticket.issued":
                tickets[t["id"]] = {"day": e.local_date, "issued": at, "business": t["business"], "first": None,
                                    "called": None, "started": None, "window": None, "clerk": None}
                if lo <= e.local_date <= hi:
                    for g in add({"business": t["business"], "day": e.local_date}.get(by), by in ("business", "day")):
                        g.issued += 1
            elif e.kind in ("window.signed_in", "window.signed_out", "window.paused", "window.resumed"):
                n = p["window"]
                spend(n, at)
                if e.kind == "window.signed_in":
                    desks[n]["clerk"] = p["clerk_id"]
                elif e.kind == "window.signed_out":
                    desks[n]["clerk"] = None
                else:
                    desks[n]["paused"] = e.kind == "window.paused"
            elif e.kind == "day.closed":
                for n in desks:
                    spend(n, at)
                    desks[n]["ticket"] = None
            elif e.kind == "ticket.called":
                n = p["window"]
                spend(n, at)
                desks[n]["ticket"] = t["id"]
                info.update(first=info["first"] or at, called=at, window=n, clerk=desks[n]["clerk"],
                            business=t["business"])
            elif e.kind == "ticket.recalled":
                info["called"] = at
            elif e.kind == "service.started":
                info["started"] = at
            elif e.kind == "ticket.resumed":
                spend(p["window"], at)
                desks[p["window"]]["ticket"] = t["id"]
                info["started"] = info["started"] or at
            elif e.kind in ("service.finished", "ticket.no_show", "ticket.held"):
                n = p["window"]
                spend(n, at)
                desks[n]["ticket"] = None
                if e.kind != "ticket.held" and lo <= info["day"] <= hi:
                    key = {"business": info["business"], "window": n, "clerk": info["clerk"],
                           "day": info["day"]}[by]
                    for g in add(key):
                        if e.kind == "ticket.no_show":
                            g.no_show += 1
                            continue
                        g.served += 1
                        g.waits.append((info["first"] - info["issued"]).total_seconds())
                        g.services.append((at - (info["started"] or info["called"])).total_seconds())
            elif e.kind == "ticket.transferred":
                n = p["from_window"]
                spend(n, at)
                desks[n]["ticket"] = None
                if lo <= e.local_date <= hi:
                    key = {"business": info["business"], "window": n, "clerk": desks[n]["clerk"],
                           "day": e.local_date}[by]
                    for g in add(key):
                        g.transferred += 1
                info["business"] = p["to_business"]
            elif e.kind in ("rating.recorded", "rating.unrated"):
                if e.kind == "rating.recorded":
                    r = p["rating"]
                    rid, tid, level = r["id"], r["ticket_id"], r["level"]
                    key = {"business": r["business"], "window": r["window"], "clerk": r["clerk_id"],
                           "day": r["local_date"]}[by]
                    if r.get("case_no"):
                        case_of_ticket.setdefault(tid, r["case_no"])
                else:
                    rid, tid, level = f"unrated-{t['id']}", t["id"], None
                    key = {"business": t["business"], "window": p["window"], "clerk": tickets[tid]["clerk"],
                           "day": e.local_date}[by]
                ratings[rid] = {"key": key, "day": e.local_date, "ticket": tid, "level": level}
            elif e.kind == "case.linked":
                case_of_ticket[p["ticket_id"]] = p["case_no"]
            elif e.kind == "case.status_changed" and p["to"] == "done":
                done_cases.append(p["case"])
            elif e.kind == "rectification.opened":
                items[p["item"]["id"]] = p["item"]["rating_id"]
            elif e.kind == "rectification.closed":
                closed_items.add(p["item"]["id"])
    for n in desks:
        spend(n, end)

    counted_until = (now.astimezone(TZ).date() - timedelta(days=hall.config.rules.unrated_as_satisfied_days))
    for rid, r in ratings.items():
        if not lo <= r["day"] <= hi:
            continue
        for g in add(r["key"]):
            if r["level"] is None:
                g.unrated += 1
                g.unrated_counted += r["day"] <= counted_until.isoformat()
            else:
                g.rated += 1
                g.satisfied += r["level"] in GOOD
                g.bad += r["level"] in ("dissatisfied", "very_dissatisfied")
            g.rectify_opened += rid in items.values()
            g.rectify_closed += any(items[i] == rid for i in closed_items)

    def local_minute(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)

    case_key: dict[str, Any] = {}
    for c in done_cases:
        fin = local_minute(c["finished_at"])
        ticket = next((tid for tid, no in case_of_ticket.items() if no == c["case_no"]), None)
        business = tickets[ticket]["business"] if ticket else None
        case_key[c["case_no"]] = {"business": business, "window": c["window"], "clerk": CASE_CLERKS[c["case_no"]]}
        if not lo <= fin.date().isoformat() <= hi:
            continue
        for g in add(case_key[c["case_no"]].get(by, fin.date().isoformat())):
            g.cases_done += 1
            if c["due_at"]:
                due = local_minute(c["due_at"])
                g.cases_timed += 1
                g.on_time += fin < due
                g.early += ref_working_time(hall.calendar, fin, due) >= 1 - 1e-9
            g.on_spot += c["case_type"] == 1 and fin.date() == local_minute(c["accepted_at"]).date()
    for r in ratings.values():
        no = case_of_ticket.get(r["ticket"])
        if r["level"] is None or no not in case_key or not lo <= r["day"] <= hi:
            continue
        for g in add(case_key[no].get(by, r["day"])):
            g.case_rated += 1
            g.case_satisfied += r["level"] in GOOD
    return groups, total


# --- the comparison ---------------------------------------------------------------------------------------------------
def durations(values: list[float]) -> Durations:
    if not values:
        return Durations()
    return Durations(len(values), sum(values) / len(values), nearest_rank(values, 50), nearest_rank(values, 90))


COUNTS = ("served", "no_show", "transferred", "rated", "satisfied", "unrated", "unrated_counted", "bad",
          "rectify_opened", "rectify_closed", "cases_done", "cases_timed", "on_time", "early", "on_spot",
          "case_rated", "case_satisfied")


def compare(row: Any, tally: Tally, by: str, where: str) -> None:
    for f in COUNTS:
        got, want = getattr(row, f), getattr(tally, f)
        assert got == want, f"{where} {f}: report {got}, recount {want}"
    assert row.issued == (tally.issued if by in ("business", "day", "hall") else None), f"{where} issued"
    for name, values in (("wait", tally.waits), ("service", tally.services)):
        got, want = getattr(row, name), durations(values)
        assert (got.n, got.p50_s, got.p90_s) == (want.n, want.p50_s, want.p90_s), f"{where} {name}"
        assert got.mean_s == pytest.approx(want.mean_s), f"{where} {name} mean"
    if by == "business":
        assert row.pause_s is None and row.idle_s is None, where
    else:
        assert (row.pause_s, row.idle_s) == (tally.pause_s, tally.idle_s), f"{where} pause/idle"
    good, rated = tally.satisfied + tally.unrated_counted, tally.rated + tally.unrated_counted
    assert row.satisfaction_rate == (pytest.approx(good / rated) if rated else None), f"{where} 满意率"
    for rate, n, d in (("on_time_rate", tally.on_time, tally.cases_timed),
                       ("early_rate", tally.early, tally.cases_timed),
                       ("on_spot_rate", tally.on_spot, tally.cases_done),
                       ("case_satisfaction_rate", tally.case_satisfied, tally.case_rated)):
        assert getattr(row, rate) == (pytest.approx(n / d) if d else None), f"{where} {rate}"


def check(report: Report, hall: Hall, d1: date, d2: date, now: datetime) -> tuple[dict[Any, Tally], Tally]:
    groups, total = recount(hall, d1, d2, report.by, now)
    rows = {r.key: r for r in report.rows}
    assert set(groups) <= set(rows), f"groups the report lacks: {set(groups) - set(rows)}"
    for key, row in rows.items():
        compare(row, groups.get(key, Tally()), report.by, f"by {report.by} {key!r}")
    compare(report.total, total, "hall", "全厅合计")
    return groups, total


@pytest.mark.parametrize("by", BY_CHOICES)
def test_every_figure_matches_the_hand_recount(day: Day, by: str) -> None:
    report = build_report(day.hall.store.conn(), day.hall.config, DAY1, DAY2, by, day.now)
    groups, _ = check(report, day.hall, DAY1, DAY2, day.now)
    # the days hold what the figures are about: none of them is trivially zero
    t = report.total
    assert (t.issued, t.served, t.no_show, t.transferred) == (10, 8, 2, 2)
    assert (t.rated, t.unrated, t.unrated_counted, t.bad, t.rectify_opened, t.rectify_closed) == (6, 1, 1, 2, 2, 1)
    assert (t.cases_done, t.cases_timed, t.on_time, t.early, t.on_spot, t.case_rated) == (4, 4, 3, 1, 1, 3)
    assert t.pause_s and t.idle_s and t.wait.p90_s and t.service.p90_s
    assert len([k for k in groups if k is not None]) >= 2  # more than one group


@pytest.mark.parametrize("by", BY_CHOICES)
def test_a_range_that_starts_after_a_sign_in_and_a_pause(day: Day, by: str) -> None:
    """Wednesday alone: window 3 was paused and window 9 signed in since Tuesday — the report reads that state from
    the events before its range, as the recount (which walks from the first event) has it."""
    report = build_report(day.hall.store.conn(), day.hall.config, DAY2, DAY2, by, day.now)
    check(report, day.hall, DAY2, DAY2, day.now)
    if by == "window":
        rows = {r.key: r for r in report.rows}
        assert rows[3].pause_s == 30 * 60  # 08:30 (its ticket hours open) to 09:00, when 李娜 resumed
        assert rows[9].idle_s and rows[9].idle_s > 9 * 3600  # signed in all night at a window open round the clock


def test_a_day_still_running_ends_at_now(day: Day) -> None:
    earlier = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 local: pause and idle stop there
    report = build_report(day.hall.store.conn(), day.hall.config, DAY2, DAY2, "clerk", earlier)
    check(report, day.hall, DAY2, DAY2, earlier)


def test_percentiles_and_the_hours(day: Day) -> None:
    report = build_report(day.hall.store.conn(), day.hall.config, DAY1, DAY2, "day", day.now)
    # issue → first call of the eight served: A002 B001 A003 C001 A004 A005 on Tuesday, A001 C001 on Wednesday
    waits = sorted([1200.0, 1200.0, 1800.0, 4860.0, 300.0, 900.0, 300.0, 600.0])
    assert report.total.wait.n == len(waits)
    assert report.total.wait.p50_s == waits[math.ceil(0.5 * len(waits)) - 1]
    assert report.total.wait.p90_s == waits[math.ceil(0.9 * len(waits)) - 1]
    issued_by_hour = {h.hour: h.issued for h in report.hours}
    assert issued_by_hour == {8: 5, 14: 2, 9: 2, 10: 1}
    assert sum(b.count for b in report.wait_bins) == report.total.served
    assert "按满意计" in report.policy_note and "1 天" in report.policy_note


def test_unknown_grouping_and_backward_range(day: Day) -> None:
    with pytest.raises(ValueError, match="business, window, clerk, day"):
        build_report(day.hall.store.conn(), day.hall.config, DAY1, DAY2, "hour", day.now)
    with pytest.raises(ValueError):
        build_report(day.hall.store.conn(), day.hall.config, DAY2, DAY1, "day", day.now)


def test_the_range_start_reads_the_window_events_index(day: Day) -> None:
    """Who sat where when the range starts comes from the partial index of window events (migration 080)."""
    conn = day.hall.store.conn()
    kinds = "'window.signed_in', 'window.signed_out', 'window.paused', 'window.resumed'"
    plan = " ".join(r[3] for r in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT kind, payload FROM events WHERE kind IN ({kinds}) AND seq < ? ORDER BY seq DESC",
        (10,)))
    assert "USING INDEX events_window" in plan, plan


# --- the files and the command --------------------------------------------------------------------------------------
def test_csv_has_chinese_headers_numbers_and_percentages(day: Day, tmp_path: Path) -> None:
    report = build_report(day.hall.store.conn(), day.hall.config, DAY1, DAY2, "window", day.now)
    path = write_csv(report, tmp_path / "r.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["窗口"] + [c.header for c in COLUMNS]
    body = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(body) == {"1号窗口", "2号窗口", "3号窗口", "9号窗口", "全厅合计"}
    w1, hall = body["1号窗口"], body["全厅合计"]
    one = next(r for r in report.rows if r.key == 1)
    assert int(w1["办结数"]) == one.served and int(w1["过号数"]) == one.no_show
    assert float(w1["平均等候（秒）"]) == round(one.wait.mean_s or 0, 1)
    assert float(w1["空闲时长（分钟）"]) == round((one.idle_s or 0) / 60, 1)
    assert w1["满意率"] == f"{(one.satisfaction_rate or 0) * 100:.1f}%" and w1["取号数"] == ""
    assert int(hall["取号数"]) == 10 and hall["按时办结率"] == "75.0%"


def test_xlsx_rates_are_percent_cells(day: Day, tmp_path: Path) -> None:
    report = build_report(day.hall.store.conn(), day.hall.config, DAY1, DAY2, "business", day.now)
    wb = load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))
    assert wb.sheetnames == ["报表", "分时段", "等候分布", "说明"]
    ws = wb["报表"]
    assert ws["A1"].value == "测试政务服务中心 运行报表（2026-11-24 至 2026-11-25，按业务）"
    head = [c.value for c in ws[3]]
    assert head == ["业务"] + [c.header for c in COLUMNS]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=4)}
    assert set(rows) == {"社保", "不动产", "税务", "未指定", "全厅合计"}  # 未指定: K4, a case with no ticket linked
    col = {h: i for i, h in enumerate(head)}
    total = rows["全厅合计"]
    rate = total[col["满意率"]]
    assert rate.number_format == "0.0%" and rate.value == pytest.approx(report.total.satisfaction_rate)
    assert total[col["按时办结率"]].value == pytest.approx(0.75)
    assert type(total[col["办结数"]].value) is int and total[col["办结数"]].value == 8
    assert total[col["暂停时长（分钟）"]].value == round((report.total.pause_s or 0) / 60, 1)
    assert rows["社保"][col["暂停时长（分钟）"]].value is None  # a business does not pause; a window does
    notes = " ".join(str(r[0].value) for r in wb["说明"].iter_rows())
    assert "最近秩" in notes and "按满意计" in notes


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_hall_report_command(day: Day, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "hall.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / f"week.{fmt}"
    args = ["report", "--config", str(cfg), "--db", str(day.hall.store.path), "--from", "2026-11-24", "--to",
            "2026-11-25", "--by", "clerk", "--out", str(out)]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "按工作人员" in said and "取号 10，办结 8" in said and out.exists()
    if fmt == "csv":
        text = out.read_text(encoding="utf-8-sig")
        assert text.startswith("工作人员,取号数,") and "c01 王芳" in text
    assert main(["report", "--config", str(cfg), "--db", str(day.hall.store.path), "--from", "2026-11-25", "--to",
                 "2026-11-24", "--out", str(out)]) == 2
    assert main(["report", "--config", str(cfg), "--db", str(day.hall.store.path), "--from", "24.11.2026",
                 "--out", str(out)]) == 2
    assert main(["report", "--config", str(cfg), "--db", str(day.hall.store.path), "--from", "2026-11-24",
                 "--out", str(tmp_path / "r.txt")]) == 2
    assert "--format" in capsys.readouterr().err


def test_open_seconds_are_found_by_bisection_not_by_walking_the_year() -> None:
    """A window's state changes thousands of times in a year; each change must count the open seconds of its own
    stretch without visiting every day's hours of the range (a year by day took minutes when it did)."""
    from kiosk.core import report as R

    tz = ZoneInfo("Asia/Shanghai")
    day1 = date(2026, 1, 1)
    spans = [(day1 + timedelta(days=i), datetime.combine(day1 + timedelta(days=i), time(9), tz),
              datetime.combine(day1 + timedelta(days=i), time(17), tz)) for i in range(366)]

    class Counting(list):  # type: ignore[type-arg]
        seen = 0

        def __getitem__(self, k: Any) -> Any:
            Counting.seen += 1
            return super().__getitem__(k)

        def __iter__(self) -> Any:  # walking the list counts every span it passes
            for sp in super().__iter__():
                Counting.seen += 1
                yield sp

    counted = Counting(spans)
    mid = day1 + timedelta(days=200)
    a, b = datetime.combine(mid, time(16), tz), datetime.combine(mid + timedelta(days=1), time(10), tz)
    got = list(R._overlap(counted, a, b))
    assert got == [(mid, 3600.0), (mid + timedelta(days=1), 3600.0)]
    assert Counting.seen <= 3 + 2 * 10  # the bisection's probes (log2 366 < 10) and the spans it counts
    assert list(R._overlap(spans, a - timedelta(days=400), a)) == [
        (d, 8 * 3600.0) for d, _, _ in spans[:200]] + [(mid, 7 * 3600.0)]
