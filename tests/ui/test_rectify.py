"""整改 on the screens, both ways: a manager works an item from the dashboard's list and detail (核实 → 整改 → 回访),
a refusal is said and changes nothing; a clerk sees their own items on the caller and appeals; the dashboard warns
while the next 60 days lack official holiday data."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt

from kiosk.core.calendar import Published
from kiosk.core.cases import Cases
from kiosk.core.hall import Hall
from kiosk.ui.caller import CallerScreen
from kiosk.ui.dashboard import DashboardScreen
from kiosk.ui.rectify import MyRectifications
from tests.ui.checks import shown


def bad_rating(hall: Hall, clerk: str = "S023") -> dict:
    hall.sign_in(2, clerk, "王五")
    t = hall.issue_ticket("tax").value.ticket
    hall.call_next(2)
    hall.finish_service(2)
    hall.rate(t["id"], "very_dissatisfied", reason="等候时间长")
    cases = Cases(hall)
    cases.evaluate_cards()
    return cases.rectifications()[0]


def test_manager_works_an_item_from_the_dashboard(qtbot, client, hall: Hall) -> None:
    item = bad_rating(hall)
    d = shown(qtbot, DashboardScreen(client), 1920, 1080)
    d.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: d.rect_table.rowCount() == 1)
    assert d.rect_table.item(0, 7).text() == "待核实"
    d.rect_table.selectRow(0)
    panel = d.rect_panel
    assert panel.item is not None and panel.item["id"] == item["id"] and panel.submit.text() == "提交核实"
    cases = Cases(hall)
    # no staff number: refused, said, nothing changed
    panel.text.setText("调阅监控，属实")
    qtbot.mouseClick(panel.submit, Qt.MouseButton.LeftButton)
    assert "工号" in panel.status.text() and cases.rectification(item["id"])["stage"] == "verify"
    panel.by.setText("M001")
    qtbot.mouseClick(panel.submit, Qt.MouseButton.LeftButton)
    assert cases.rectification(item["id"])["stage"] == "rectify"
    qtbot.waitUntil(lambda: panel.submit.text() == "提交整改" and panel.steps.count() == 1)
    assert "核实（M001）" in panel.steps.item(0).text() and "属实" in panel.steps.item(0).text()
    panel.text.setText("增开周末窗口")
    panel.extra.setText("S023")
    qtbot.mouseClick(panel.submit, Qt.MouseButton.LeftButton)
    assert cases.rectification(item["id"])["responsible"] == "S023"
    qtbot.waitUntil(lambda: panel.submit.text() == "提交回访")
    assert panel.choice.count() == 3  # satisfied, not satisfied, not reached
    panel.choice.setCurrentIndex(1)
    panel.text.setText("群众仍嫌等候久")
    qtbot.mouseClick(panel.submit, Qt.MouseButton.LeftButton)
    done = cases.rectification(item["id"])
    assert done["stage"] == "closed" and done["satisfied"] is False and done["contacted"] is True
    qtbot.waitUntil(lambda: d.rect_table.rowCount() == 0)  # closed: off the open list
    assert [s["by"] for s in done["steps"]] == ["M001", "M001", "M001"]


def test_a_step_taken_elsewhere_shows_in_the_open_detail(qtbot, client, hall: Hall) -> None:
    item = bad_rating(hall)
    d = shown(qtbot, DashboardScreen(client), 1920, 1080)
    d.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: d.rect_table.rowCount() == 1)
    d.rect_table.selectRow(0)
    Cases(hall).verify_rectification(item["id"], valid=True, note="属实", by="M009")  # another manager's screen
    qtbot.waitUntil(lambda: d.rect_panel.steps.count() == 1 and d.rect_panel.submit.text() == "提交整改")
    assert d.rect_table.item(0, 7).text() == "整改中"


def test_clerk_sees_own_items_and_appeals(qtbot, client, hall: Hall) -> None:
    item = bad_rating(hall, clerk="S023")
    c = shown(qtbot, CallerScreen(client, 2), 1280, 800)
    mine = c.findChild(MyRectifications)
    assert mine is not None
    qtbot.waitUntil(lambda: mine.list.count() == 1)
    assert "待核实" in mine.list.item(0).text() and "等候时间长" in mine.list.item(0).text()
    mine.list.setCurrentRow(0)
    qtbot.mouseClick(mine.appeal_button, Qt.MouseButton.LeftButton)  # no reason: refused
    assert "申诉理由" in mine.status.text() and Cases(hall).rectification(item["id"])["stage"] == "verify"
    mine.reason.setText("群众要求办理不符合条件的业务")
    qtbot.mouseClick(mine.appeal_button, Qt.MouseButton.LeftButton)
    got = Cases(hall).rectification(item["id"])
    assert got["stage"] == "appeal" and got["appeal_by"] == "S023"
    qtbot.waitUntil(lambda: "申诉复核中" in mine.list.item(0).text())
    hall.sign_in(2, "S099", "赵六")  # another clerk at the window: not their item
    qtbot.waitUntil(lambda: mine.list.count() == 0)


def test_dashboard_warns_without_official_holiday_data(qtbot, client, hall: Hall) -> None:
    d = shown(qtbot, DashboardScreen(client), 1920, 1080)
    # 2026-11-24: the next 60 days reach into 2027, which chinese-calendar does not know
    assert d.calendar_note.isVisible() and "2027 年节假日安排尚无官方数据" in d.calendar_note.text()
    hall.calendar.set_published(Published(3, [2027], {date(2027, 1, 1): "元旦"}, {}))
    d.refresh_supervision()
    assert not d.calendar_note.isVisible()


def test_a_legal_limit_card_says_so(qtbot, client, hall: Hall, clock) -> None:
    clock.set_local(2026, 10, 9)
    Cases(hall).register({"case_no": "L-1", "case_type": 9, "legal_days": 20, "status": "受理", "window": 1})
    clock.set_local(2026, 11, 24)
    Cases(hall).evaluate_cards()
    d = shown(qtbot, DashboardScreen(client), 1920, 1080)
    d.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: d.cards_table.rowCount() == 1)
    assert d.cards_table.item(0, 0).text() == "红牌 ⊘" and d.cards_table.item(0, 7).text().endswith("（法定时限）")
