"""`hall export` and the case-figure exports, read back: numbers as numbers, times as times, Chinese headers and
Chinese names for every code (status, priority, level, channel, business) in CSV and in XLSX."""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kiosk.cli import main
from kiosk.core.cases import Cases
from kiosk.core.hall import Hall
from kiosk.core.rating import Channel, Level
from tests.conftest import SMALL_CONFIG, FakeClock

VALID_ID = "11010519491231002X"
TICKET_HEADERS = ["日期", "号码", "业务", "优先级", "状态", "窗口", "工号", "取号时间", "首次叫号时间", "开始办理时间",
                  "结束时间", "等候时长（秒）", "办理时长（秒）", "重呼次数", "转移次数"]
RATING_HEADERS = ["日期", "号码", "业务", "窗口", "工号", "评价状态", "满意度", "评价渠道", "差评原因", "评价时间",
                  "办件编号"]
CODES = {"social", "housing", "tax", "waiting", "called", "serving", "done", "no_show", "normal", "green",
         "appointment", "transfer", "very_satisfied", "satisfied", "dissatisfied", "evaluator", "qr", "rated",
         "unrated"}


@pytest.fixture
def day(hall: Hall, clock: FakeClock, tmp_path: Path) -> Path:
    """A morning on Tuesday 2026-11-24 (Beijing time), written as the hall file `hall export` reads."""
    cfg = tmp_path / "hall.toml"
    cfg.write_text(SMALL_CONFIG, encoding="utf-8")
    hall.sign_in(1, "1024", "王芳")
    hall.sign_in(3, "c03", "李娜")
    clock.set_local(2026, 11, 24, 9, 0)
    hall.issue_ticket("social")  # A001
    hall.issue_ticket("social", priority="green")  # A002
    hall.issue_ticket("housing", id_number=VALID_ID)  # B001
    clock.advance(minutes=10)
    hall.call_next(1)  # A002 (green) at 09:10
    hall.start_service(1)
    clock.advance(minutes=5)
    hall.finish_service(1)  # 09:15
    hall.rate(hall.find_ticket("A002")["id"], Level.VERY_SATISFIED, channel=Channel.EVALUATOR)
    hall.call_next(1)  # A001 at 09:15
    hall.recall(1)
    hall.no_show(1)
    hall.call_next(3)  # B001 at 09:15
    hall.start_service(3)
    clock.advance(minutes=20)
    hall.finish_service(3)  # 09:35
    r = hall.rate(hall.find_ticket("B001")["id"], Level.DISSATISFIED, channel=Channel.QR).value
    hall.complete_rating_reason(r["id"], "等候时间长")
    hall.issue_ticket("tax")  # C001, still waiting
    return cfg


def export(cfg: Path, hall: Hall, out: Path, *extra: str) -> int:
    return main(["export", "--config", str(cfg), "--db", str(hall.store.path), "--from", "2026-11-24",
                 "--out", str(out), *extra])


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_csv_export_reads_back_in_chinese_with_numbers(day: Path, hall: Hall, tmp_path: Path) -> None:
    out = tmp_path / "out" / "day.csv"
    assert export(day, hall, out) == 0
    tickets = read_csv(out)
    assert tickets[0] == TICKET_HEADERS
    rows = {r[1]: dict(zip(TICKET_HEADERS, r, strict=True)) for r in tickets[1:]}
    assert set(rows) == {"A001", "A002", "B001", "C001"}
    a2 = rows["A002"]
    assert (a2["日期"], a2["业务"], a2["优先级"], a2["状态"], a2["工号"]) == (
        "2026-11-24", "社保", "绿色通道", "已办结", "1024")
    assert int(a2["窗口"]) == 1 and int(a2["等候时长（秒）"]) == 600 and int(a2["办理时长（秒）"]) == 300
    assert (a2["取号时间"], a2["开始办理时间"], a2["结束时间"]) == (
        "2026-11-24 09:00:00", "2026-11-24 09:10:00", "2026-11-24 09:15:00")  # the hall's local time
    assert (rows["A001"]["状态"], rows["A001"]["优先级"], int(rows["A001"]["重呼次数"])) == ("过号", "普通", 1)
    assert rows["A001"]["办理时长（秒）"] == ""  # never served
    assert (rows["B001"]["业务"], int(rows["B001"]["窗口"])) == ("不动产", 3)
    assert (rows["C001"]["状态"], rows["C001"]["窗口"], rows["C001"]["首次叫号时间"]) == ("等候中", "", "")

    ratings = read_csv(tmp_path / "out" / "day-ratings.csv")
    assert ratings[0] == RATING_HEADERS
    got = {r[1]: dict(zip(RATING_HEADERS, r, strict=True)) for r in ratings[1:]}
    a2, b1 = got["A002"], got["B001"]
    assert (a2["满意度"], a2["评价渠道"], a2["评价状态"]) == ("非常满意", "评价器", "已评价")
    assert (b1["满意度"], b1["评价渠道"], b1["差评原因"]) == ("不满意", "二维码", "等候时间长")
    assert int(got["B001"]["窗口"]) == 3 and got["B001"]["评价时间"] == "2026-11-24 09:35:00"
    cells = {c for r in tickets[1:] + ratings[1:] for c in r}
    assert not cells & CODES, cells & CODES


def test_xlsx_export_has_typed_cells(day: Path, hall: Hall, tmp_path: Path) -> None:
    out = tmp_path / "day.xlsx"
    assert export(day, hall, out, "--format", "xlsx") == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["号票", "评价"]
    tickets = list(wb["号票"].iter_rows(values_only=True))
    assert list(tickets[0]) == TICKET_HEADERS
    rows = {r[1]: dict(zip(TICKET_HEADERS, r, strict=True)) for r in tickets[1:]}
    a2 = rows["A002"]
    assert a2["窗口"] == 1 and type(a2["窗口"]) is int
    assert a2["日期"] == datetime(2026, 11, 24)  # a date cell (openpyxl reads dates back as datetimes)
    assert a2["取号时间"] == datetime(2026, 11, 24, 9, 0) and a2["结束时间"] == datetime(2026, 11, 24, 9, 15)
    assert (a2["等候时长（秒）"], a2["办理时长（秒）"], a2["重呼次数"]) == (600, 300, 0)
    assert (a2["业务"], a2["优先级"], a2["状态"], a2["工号"]) == ("社保", "绿色通道", "已办结", "1024")
    assert rows["C001"]["窗口"] is None and rows["C001"]["状态"] == "等候中"
    ratings = list(wb["评价"].iter_rows(values_only=True))
    assert list(ratings[0]) == RATING_HEADERS
    got = {r[1]: dict(zip(RATING_HEADERS, r, strict=True)) for r in ratings[1:]}
    assert got["B001"]["窗口"] == 3 and got["B001"]["评价时间"] == datetime(2026, 11, 24, 9, 35)
    assert (got["B001"]["满意度"], got["B001"]["评价渠道"]) == ("不满意", "二维码")
    cells = {c for r in tickets[1:] + ratings[1:] for c in r if isinstance(c, str)}
    assert not cells & CODES, cells & CODES


@pytest.mark.parametrize("bad", [["--from", "2026-13-01"], ["--from", "2026-11-24", "--to", "2026-11-01"]])
def test_bad_dates_are_a_clear_error(day: Path, hall: Hall, tmp_path: Path, capsys, bad: list[str]) -> None:
    out = tmp_path / "x.csv"
    argv = ["export", "--config", str(day), "--db", str(hall.store.path), "--out", str(out), *bad]
    assert main(argv) == 2
    assert "日期" in capsys.readouterr().err and not out.exists()


def test_case_figures_export_keys_typed_and_named(hall: Hall, clock: FakeClock, tmp_path: Path) -> None:
    """Figures by window carry the window as a number, by business the business's name, by day a date."""
    cases = Cases(hall)
    cases.register({"case_no": "SB1", "case_type": 1, "department": "社保局", "window": 2, "clerk": "王五",
                    "applicant_name": "张小三", "status": "受理"})
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(2)
    cases.link_ticket("SB1", t["id"])
    hall.finish_service(2)
    cases.transition("SB1", "办结")
    today = hall.today()
    wb = load_workbook(cases.export(tmp_path / "w.xlsx", "window", today))
    data = list(wb.active.iter_rows(values_only=True))
    assert data[1][0] == "窗口" and data[2][0] == 2 and type(data[2][0]) is int
    wb = load_workbook(cases.export(tmp_path / "b.xlsx", "business", today))
    data = list(wb.active.iter_rows(values_only=True))
    assert data[1][0] == "业务" and data[2][0] == "社保"
    wb = load_workbook(cases.export(tmp_path / "d.xlsx", "day", today))
    assert list(wb.active.iter_rows(values_only=True))[2][0] == datetime(2026, 11, 24)  # a date cell
    with cases.export(tmp_path / "b.csv", "business", today).open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0][0] == "业务" and table[1][0] == "社保" and int(table[1][1]) == 1
