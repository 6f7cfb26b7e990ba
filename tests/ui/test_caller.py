"""The clerk's caller against a real Hall: buttons and shortcuts change the hall; hall changes redraw the caller."""
from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.core.hall import Hall
from kiosk.ui.caller import CallerScreen


def make_caller(qtbot, client, window: int = 2) -> CallerScreen:
    c = CallerScreen(client, window)
    qtbot.addWidget(c)
    c.resize(1280, 800)
    c.show()
    qtbot.waitExposed(c)
    return c


def click(qtbot, c: CallerScreen, key: str) -> None:
    qtbot.mouseClick(c.buttons[key], Qt.MouseButton.LeftButton)


def test_call_recall_no_show_and_finish(qtbot, client, hall: Hall) -> None:
    for code in ("social", "tax", "social"):
        hall.issue_ticket(code)
    c = make_caller(qtbot, client)
    qtbot.waitUntil(lambda: c.waiting_list.count() == 3)
    assert not c.buttons["recall"].isEnabled()
    click(qtbot, c, "call")
    assert hall.window(2)["current"]["number"] == "A001"
    assert c.current_label.text() == "A001" and "已呼叫 A001" in c.status.text()
    assert "剩 3 次" in c.buttons["recall"].text()  # recall_cap = 3 in the test hall
    click(qtbot, c, "recall")
    assert "剩 2 次" in c.buttons["recall"].text()
    click(qtbot, c, "no_show")
    assert hall.find_ticket("A001")["status"] == "no_show"
    assert c.current_label.text() == "—"
    click(qtbot, c, "call")
    click(qtbot, c, "start")
    assert "办理中" in c.state_label.text()
    click(qtbot, c, "finish")
    assert hall.find_ticket("A002")["status"] == "done"
    assert c.waiting_list.count() == 1


def test_keyboard_shortcuts(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    qtbot.keyClick(c, Qt.Key.Key_F1)
    assert hall.window(2)["current"]["number"] == "A001"
    qtbot.keyClick(c.waiting_list, Qt.Key.Key_F2)  # from a child widget too
    assert hall.find_ticket("A001")["recalls"] == 1
    qtbot.keyClick(c, Qt.Key.Key_F4)
    assert hall.find_ticket("A001")["status"] == "serving"
    qtbot.keyClick(c, Qt.Key.Key_F9)
    assert hall.find_ticket("A001")["status"] == "done"


def test_refusals_land_in_the_status_line(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    c.call_next()  # empty queue (the F1 shortcut works even when the button is greyed out)
    assert "当前没有等候的号码" in c.status.text() and c.status.property("role") == "status_error"
    c.recall()
    assert "当前没有号码" in c.status.text()
    c.call_selected()
    assert "请先在等候列表中选中" in c.status.text()
    assert c.isVisible()


def test_call_a_specific_ticket_from_the_list(qtbot, client, hall: Hall) -> None:
    for _ in range(3):
        hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    c.waiting_list.setCurrentRow(2)
    click(qtbot, c, "call_selected")
    assert hall.window(2)["current"]["number"] == "A003"
    assert [c.waiting_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(c.waiting_list.count())] == \
        ["A001", "A002"]


def test_pause_with_reason_and_resume(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    c.pause_reason.setCurrentText("会议")
    click(qtbot, c, "pause")
    w = hall.window(2)
    assert w["state"] == "paused" and w["pause_reason"] == "会议"
    assert "暂停服务（会议）" in c.state_label.text() and "恢复服务" in c.buttons["pause"].text()
    hall.issue_ticket("social")
    qtbot.waitUntil(lambda: c.waiting_list.count() == 1)
    assert not c.buttons["call"].isEnabled()
    click(qtbot, c, "pause")
    assert hall.window(2)["state"] == "idle"


def test_hold_resume_and_transfer(qtbot, client, hall: Hall) -> None:
    hall.issue_ticket("social")
    hall.issue_ticket("social")
    c = make_caller(qtbot, client)
    click(qtbot, c, "call")
    click(qtbot, c, "hold")
    assert hall.find_ticket("A001")["status"] == "held" and c.held_list.count() == 1
    click(qtbot, c, "resume_held")
    assert hall.window(2)["current"]["number"] == "A001"
    c.transfer_target.setCurrentIndex(c.transfer_target.findData("business:tax"))
    click(qtbot, c, "transfer")
    t = hall.find_ticket("A001")
    assert t["status"] == "waiting" and t["business"] == "tax"
    assert "A001" in [w["number"] for w in hall.waiting(window=2)]


def test_clerk_signs_in(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert "请填写工号和姓名" in c.status.text()
    c.clerk_id.setText("c02")
    c.clerk_name.setText("刘芳")
    qtbot.mouseClick(c.sign_in_button, Qt.MouseButton.LeftButton)
    assert hall.window(2)["clerk_name"] == "刘芳" and "刘芳" in c.clerk_label.text()


def test_hall_changes_redraw_the_caller(qtbot, client, hall: Hall) -> None:
    c = make_caller(qtbot, client)
    hall.sign_in(2, "c07", "李娜")
    hall.issue_ticket("tax")
    hall.call_next(2)  # e.g. from a hardware keypad
    qtbot.waitUntil(lambda: c.current_label.text() == "C001")
    assert "李娜" in c.clerk_label.text()


def test_screenshot(qtbot, demo_client, demo_hall: Hall, shoot) -> None:
    for code in ("social", "fund", "social", "social", "fund"):
        demo_hall.issue_ticket(code)
    demo_hall.issue_ticket("social", priority="green")
    demo_hall.sign_in(2, "c02", "王晓明")
    c = make_caller(qtbot, demo_client, 2)
    click(qtbot, c, "call")
    click(qtbot, c, "recall")
    c.waiting_list.setCurrentRow(1)
    shoot(c, "caller")
