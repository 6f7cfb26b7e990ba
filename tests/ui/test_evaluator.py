"""The tablet evaluator against a real Hall: the clerk's 评价 shows the faces; a tap records one rating."""
from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from kiosk.ui.caller import CallerScreen
from kiosk.ui.evaluator import FACES, IDLE, REASON, THANKS, EvaluatorScreen
from tests.ui.checks import shown


def served(hall: Hall, window: int = 1) -> str:
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(window)
    hall.start_service(window)
    return str(t["id"])


def make(qtbot, client, window: int = 1, **kw) -> EvaluatorScreen:
    return shown(qtbot, EvaluatorScreen(client, window, **kw), 1280, 800)


def test_caller_asks_and_the_citizen_rates(qtbot, client, hall: Hall) -> None:
    hall.sign_in(1, "c01", "王晓明")
    served(hall)
    e = make(qtbot, client)
    caller = CallerScreen(client, 1)
    qtbot.addWidget(caller)
    assert e.stack.currentIndex() == IDLE and "王晓明" in e.header.text()
    qtbot.mouseClick(caller.buttons["rate"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    assert "A001" in e.prompt.text() and "1号窗口" in e.header.text()
    assert [f.words for f in e.faces.values()] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    qtbot.mouseClick(e.faces[Level.SATISFIED], Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == THANKS
    s = hall.rating_summary()
    assert s["distribution"]["satisfied"] == 1 and s["rated"] == 1
    # 一次一评: a second request for the same service is refused on screen, not double counted
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    qtbot.mouseClick(e.faces[Level.VERY_SATISFIED], Qt.MouseButton.LeftButton)
    assert "已经评价过" in e.thanks_label.text()
    assert hall.rating_summary()["rated"] == 1


def test_bad_rating_needs_a_reason(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client)
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    qtbot.mouseClick(e.faces[Level.DISSATISFIED], Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == REASON
    qtbot.mouseClick(e.submit, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == REASON and "请至少选择一个原因" in e.reason_error.text()
    qtbot.mouseClick(e.reason_buttons[1], Qt.MouseButton.LeftButton)
    e.reason_text.insert("窗口人员一直在看手机")  # QTest cannot type Han characters; an IME would
    qtbot.mouseClick(e.submit, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == THANKS
    bad = hall.bad_ratings()
    assert len(bad) == 1 and bad[0]["reason"] == "服务态度不好" and bad[0]["text"] == "窗口人员一直在看手机"
    assert not bad[0]["reason_pending"]
    assert e.reason_buttons[1].text().startswith("✔ ")  # chosen shown by a mark, not colour alone


def test_unanswered_prompt_times_out_as_unrated(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client, timeout_s=0.3)
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    qtbot.waitUntil(lambda: hall.rating_summary()["unrated"] == 1, timeout=3000)
    assert e.stack.currentIndex() == IDLE and hall.rating_summary()["rated"] == 0


def test_bad_face_without_reason_keeps_the_level_pending(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client, timeout_s=0.3)
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    qtbot.mouseClick(e.faces[Level.VERY_DISSATISFIED], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: hall.rating_summary()["bad"] == 1, timeout=3000)
    assert hall.rating_summary()["reason_pending"] == 1


def test_other_windows_requests_are_ignored(qtbot, client, hall: Hall) -> None:
    served(hall, window=2)
    e = make(qtbot, client, window=1)
    hall.request_rating(2)
    qtbot.wait(100)
    assert e.stack.currentIndex() == IDLE


def test_screenshot(qtbot, demo_client, demo_hall: Hall, shoot) -> None:
    demo_hall.sign_in(1, "c01", "王晓明")
    served(demo_hall)
    e = make(qtbot, demo_client)
    demo_hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    shoot(e, "evaluator")
    qtbot.mouseClick(e.faces[Level.DISSATISFIED], Qt.MouseButton.LeftButton)
    e.reason_buttons[0].setChecked(True)
    shoot(e, "evaluator_reason")
