"""报表 on a LAN dashboard: the hall server computes the report (report.build), the dashboard rebuilds the same Report
and writes the same files; a manager's (or admin's) once the hall has accounts; a year at most; a dashboard's only;
and the reply of the largest report a request can ask for fits the broker's packet."""
from __future__ import annotations

import random
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

import sync.lan
from kiosk.core import context as C
from kiosk.core import staff as S
from kiosk.core.report import (
    BY_CHOICES,
    Durations,
    HourRow,
    Report,
    ReportDataError,
    ReportRow,
    WaitBin,
    report_for,
)
from kiosk.core.report_files import write_csv, write_xlsx
from sync.lan import (
    MAX_REPLY_BYTES,
    REPORT_MAX_DAYS,
    LanBadRequest,
    LanBusy,
    LanRefused,
    LanServer,
    _reply_bytes,
)
from tests.sync.test_lan import Lan, broker, hall, lan  # noqa: F401  (its hall, broker and LAN fixtures)

PIN = "246810"
DAY1, DAY2 = date(2026, 11, 24), date(2026, 11, 25)


def at(lan: Lan, d: date, hm: str) -> None:  # noqa: F811
    """The hall's clock to local time hm of day d (Beijing, UTC+8)."""
    h, m = (int(x) for x in hm.split(":"))
    lan.hall.clock.t = datetime(d.year, d.month, d.day, h, m, tzinfo=ZoneInfo("Asia/Shanghai"))  # type: ignore[attr-defined]


def drive(lan: Lan) -> None:  # noqa: F811
    """Two small days at the test hall's two windows (clerks c01, c02 signed in by the fixture): waits, services,
    a no-show, a transfer, a pause, ratings good, bad and missing."""
    h = lan.hall
    find = lambda n: h.find_ticket(n)["id"]  # noqa: E731
    at(lan, DAY1, "09:00")
    for _ in range(4):
        h.issue_ticket("tax")  # C001-C004
    at(lan, DAY1, "09:05")
    h.call_next(1)
    h.call_next(2)
    at(lan, DAY1, "09:07")
    h.start_service(1)
    h.start_service(2)
    at(lan, DAY1, "09:20")
    h.finish_service(1)
    h.rate(find("C001"), "very_satisfied")
    h.transfer(2, to_window=1)  # C002 moves to window 1
    at(lan, DAY1, "09:30")
    h.call_next(1)
    h.start_service(1)
    h.pause(2, "会议")
    at(lan, DAY1, "10:00")
    h.finish_service(1)
    h.rate(find("C002"), "dissatisfied", reason="等候时间长")
    h.resume_window(2)
    h.call_next(2)
    at(lan, DAY1, "10:03")
    h.no_show(2)
    h.call_next(1)
    h.start_service(1)
    at(lan, DAY1, "10:30")
    h.finish_service(1)
    h.mark_unrated(find("C004"))
    at(lan, DAY2, "09:00")
    h.issue_ticket("tax")
    at(lan, DAY2, "09:40")
    h.call_next(1)
    h.start_service(1)
    at(lan, DAY2, "09:55")
    h.finish_service(1)
    h.rate(h.find_ticket("C001")["id"], "satisfied")
    at(lan, DAY2, "17:00")


def accounts(lan: Lan) -> None:  # noqa: F811
    with C.acting(C.CONSOLE):
        S.add(lan.hall, "m1", "张经理", "manager", PIN)
        S.add(lan.hall, "a1", "李管理", "admin", PIN)
        S.add(lan.hall, "c9", "王芳", "clerk", PIN)


def test_the_lan_report_is_the_servers_for_every_grouping(lan: Lan, tmp_path: Path) -> None:  # noqa: F811
    drive(lan)
    lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    for by in BY_CHOICES:
        got = dash.report(DAY1, DAY2, by)
        want = report_for(lan.hall, DAY1, DAY2, by)
        assert got.to_builtins() == want.to_builtins(), by
        assert got == want and got.generated_at == want.generated_at  # the same instant, the hall's offset
        assert got.rows and got.total.served == 4 and got.total.no_show == 1 and got.total.bad == 1
        # the files the dashboard writes from it are the hall's own, byte for byte
        assert (write_csv(got, tmp_path / f"lan-{by}.csv").read_bytes()
                == write_csv(want, tmp_path / f"hall-{by}.csv").read_bytes())
    assert [r.label for r in dash.report(DAY1, DAY2, "day").rows] == ["2026-11-24 周二", "2026-11-25 周三"]
    assert write_xlsx(got, tmp_path / "lan.xlsx").stat().st_size > 0
    one = dash.report(DAY2, DAY2, "window")  # one day: a range of one
    assert one.span == "2026-11-25" and one.total.served == 1


def test_a_hall_with_accounts_reports_to_a_signed_in_manager_or_admin(lan: Lan) -> None:  # noqa: F811
    drive(lan)
    accounts(lan)
    lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    with pytest.raises(S.ManagerRequired) as refused:  # nobody signed in at the dashboard
        dash.report(DAY1, DAY2, "business")
    assert refused.value.message == "需要负责人登录后才能生成报表"
    dash.staff.verify("c9", PIN)
    with pytest.raises(S.RoleTooLow) as low:  # a clerk's account is not enough
        dash.report(DAY1, DAY2, "business")
    assert low.value.message == "窗口人员 c9 无权生成报表，需要负责人登录"
    dash.staff.verify("m1", PIN)
    assert dash.report(DAY1, DAY2, "business").total.served == 4
    dash.staff.verify("a1", PIN)
    assert dash.report(DAY1, DAY2, "clerk").total.served == 4
    dash.staff.end_session()
    with pytest.raises(S.ManagerRequired):  # 退出: anonymous again
        dash.report(DAY1, DAY2, "business")
    dash.staff.verify("m1", PIN)
    with C.acting(C.CONSOLE):
        S.disable(lan.hall, "m1")
    with pytest.raises(S.ManagerRequired):  # the account disabled since: its session is nobody's
        dash.report(DAY1, DAY2, "business")


def test_a_hall_without_accounts_reports_to_any_dashboard(lan: Lan) -> None:  # noqa: F811
    drive(lan)
    lan.server(clients={"dash1": "dashboard"})
    assert lan.remote("dash1").report(DAY1, DAY1, "business").total.served == 3


def test_a_range_over_a_year_or_backwards_is_refused(lan: Lan) -> None:  # noqa: F811
    lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    year = dash.report(DAY1 - timedelta(days=REPORT_MAX_DAYS - 1), DAY1, "day")  # the longest allowed
    assert year.day_to - year.day_from == timedelta(days=REPORT_MAX_DAYS - 1)
    with pytest.raises(LanBadRequest) as e:
        dash.report(DAY1 - timedelta(days=REPORT_MAX_DAYS), DAY1, "day")
    assert f"报表一次最多统计 {REPORT_MAX_DAYS} 天（所选 {REPORT_MAX_DAYS + 1} 天），请分段生成" in e.value.message
    with pytest.raises(LanBadRequest) as e:
        dash.report(DAY2, DAY1, "day")
    assert "早于" in e.value.message
    with pytest.raises(LanBadRequest) as e:
        dash.report(DAY1, DAY2, "month")
    assert "business, window, clerk, day" in e.value.message
    with pytest.raises(LanBadRequest) as e:
        dash.call("report.build", "2026-13-01", "2026-11-24", "day")
    assert "'day_from' must be a date" in e.value.message
    with pytest.raises(LanBadRequest) as e:
        dash.call("report.build", 20261124, "2026-11-24", "day")
    assert "'day_from' must be str" in e.value.message


def test_only_a_dashboard_may_ask(lan: Lan) -> None:  # noqa: F811
    lan.server(clients={"dash1": "dashboard", "kiosk1": "kiosk", "board1": "board", "caller1": "caller",
                        "eval1": "evaluator"})
    for cid in ("kiosk1", "board1", "caller1", "eval1"):
        with pytest.raises(LanRefused) as e:
            lan.remote(cid).report(DAY1, DAY1, "business")
        assert e.value.params == {"method": "report.build"}, cid
    assert lan.remote("dash1").report(DAY1, DAY1, "business").total.served == 0


def test_one_report_at_a_time(lan: Lan, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A long report holds one worker; another report meanwhile is refused at once (LanBusy), other calls go on."""
    started, release = threading.Event(), threading.Event()

    runs: list[str] = []

    def slow(h: Any, day_from: date, day_to: date, by: str) -> Report:
        runs.append(by)
        started.set()
        assert release.wait(10)
        return report_for(h, day_from, day_to, by)

    monkeypatch.setattr(sync.lan, "report_for", slow)
    lan.server(clients={"dash1": "dashboard", "dash2": "dashboard", "kiosk1": "kiosk"})
    dash1, dash2, kiosk = lan.remote("dash1"), lan.remote("dash2"), lan.remote("kiosk1")
    got: list[Any] = []
    first = threading.Thread(target=lambda: got.append(dash1.report(DAY1, DAY1, "business")))
    first.start()
    try:
        assert started.wait(5)
        with pytest.raises(LanBusy):
            dash2.report(DAY1, DAY1, "window")
        assert kiosk.issue_ticket("tax").value.ticket["number"] == "C001"  # the hall still serves citizens
        time.sleep(1.5)  # the first dashboard resends meanwhile (rpc_timeout 0.6 s): still one run
    finally:
        release.set()
        first.join(10)
    assert got and got[0].total.issued == 1 and runs == ["business"]  # resent while it ran, run once
    assert dash2.report(DAY1, DAY1, "window").total.issued == 1


def test_a_report_longer_than_the_wait_is_busy_not_a_lost_link(lan: Lan, monkeypatch: pytest.MonkeyPatch  # noqa: F811
                                                               ) -> None:
    release = threading.Event()

    def slow(h: Any, day_from: date, day_to: date, by: str) -> Report:
        release.wait(10)
        return report_for(h, day_from, day_to, by)

    monkeypatch.setattr(sync.lan, "report_for", slow)
    monkeypatch.setattr(sync.lan, "REPORT_WAIT_S", 1.5)
    lan.server(clients={"dash1": "dashboard"})
    dash = lan.remote("dash1")
    try:
        with pytest.raises(LanBusy):  # the server's heartbeat goes on: it is computing, not gone
            dash.report(DAY1, DAY1, "business")
        with pytest.raises(LanBusy):  # …and refuses another report until that one ends
            dash.report(DAY1, DAY1, "business")
    finally:
        release.set()
    for _ in range(50):  # the first one ends; then reports are made again
        try:
            assert dash.report(DAY1, DAY1, "business").total.issued == 0
            break
        except LanBusy:
            time.sleep(0.1)
    else:
        pytest.fail("the server stayed busy")


class GarbledServer(LanServer):
    """A server whose report answer is not a Report (a bug, a newer server gone wrong)."""

    def _report(self, day_from: str, day_to: str, by: str) -> Any:
        return {"rows": "nonsense"}


def test_a_malformed_reply_is_a_refusal_not_a_crash(lan: Lan) -> None:  # noqa: F811
    lan.server(cls=GarbledServer, clients={"dash1": "dashboard"})
    with pytest.raises(ReportDataError) as e:
        lan.remote("dash1").report(DAY1, DAY1, "business")
    assert e.value.message.startswith("报表数据不正确")


def test_from_builtins_refuses_what_is_not_a_report(lan: Lan) -> None:  # noqa: F811
    drive(lan)
    good = report_for(lan.hall, DAY1, DAY2, "window").to_builtins()
    assert Report.from_builtins(good).to_builtins() == good
    bad: list[Any] = [None, [], "x", {}, {**good, "rows": 3}, {**good, "by": "month"},
                      {**good, "day_from": "2026-02-30"}, {**good, "generated_at": "yesterday"},
                      {**good, "total": [1, 2]}, {**good, "hours": [[9, 1]]}, {**good, "wait_bins": [{"lo_s": 0}]},
                      {**good, "row_fields": ["key", 1]},
                      {**good, "rows": [[*good["rows"][0][:6], [1, 2], *good["rows"][0][7:]]]},
                      {**good, "rows": [["x"] * len(good["row_fields"])]}]
    for d in bad:
        with pytest.raises(ReportDataError):
            Report.from_builtins(d)
    # a newer sender's extra field is read past; the dates and the hall's local time come back exactly
    newer = {**good, "row_fields": [*good["row_fields"], "future"],
             "rows": [[*r, 7] for r in good["rows"]], "total": [*good["total"], 7],
             "windows": [[*r, 7] for r in good["windows"]]}
    back = Report.from_builtins(newer)
    assert back.to_builtins() == good
    assert back.generated_at.isoformat() == good["generated_at"] and back.day_from == DAY1


def largest_report(windows: int = 60) -> Report:
    """The biggest answer report.build can give: a year by day, every figure filled at full float precision (the
    digits a mean of seconds really has), a long hall name, every hour and every wait bin, and `windows` windows."""
    rnd = random.Random(1)

    def durations() -> Durations:
        return Durations(rnd.randint(100, 9999), rnd.random() * 3600, rnd.random() * 3600, rnd.random() * 7200)

    def row(key: Any, label: str, *, total: bool = False) -> ReportRow:
        return ReportRow(key, label, 99999, 99999, 9999, 9999, durations(), durations(), 99999, 99999, 9999, 9999,
                         9999, 9999, 9999, 99999, 99999, 99999, 99999, 99999, 99999, 99999,
                         rnd.random() * 40000, rnd.random() * 40000, total)

    first = date(2025, 11, 25)
    days = [first + timedelta(days=i) for i in range(REPORT_MAX_DAYS)]
    rows = [row(d.isoformat(), f"{d.isoformat()} 周二") for d in days]
    return Report("四川省成都市锦江区人民政府政务服务中心（市民中心）", "510104-demo", first,
                  first + timedelta(days=REPORT_MAX_DAYS - 1), "day",
                  datetime(2026, 11, 25, 17, 45, 12, 345678, tzinfo=ZoneInfo("Asia/Shanghai")), rows,
                  row(None, "全厅合计", total=True), [HourRow(h, 99999, durations()) for h in range(24)],
                  [WaitBin(lo, lo + 300, 99999) for lo in range(0, 3600, 300)] + [WaitBin(3600, None, 9999)],
                  [row(n, f"{n}号窗口（综合受理）") for n in range(1, windows + 1)], 30)


def test_a_year_by_day_fits_a_lan_reply(capsys: pytest.CaptureFixture[str]) -> None:
    big = largest_report()
    size = len(_reply_bytes("0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a", big.to_builtins()))
    with capsys.disabled():
        print(f"\nreport.build reply, a year by day, 60 windows, every figure filled: {size} bytes "
              f"({size / 1024:.1f} KiB of {MAX_REPLY_BYTES // 1024} KiB)")
    assert size < MAX_REPLY_BYTES * 0.6  # 129 KiB: room for some 350 more windows (about 300 bytes a row)
    assert Report.from_builtins(big.to_builtins()) == big
    # with every field named, as msgspec.to_builtins would send it, it would not fit
    assert len(msgspec.json.encode(msgspec.to_builtins(big))) > MAX_REPLY_BYTES
