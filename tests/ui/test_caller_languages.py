"""The clerk's caller in a bilingual hall's languages (`hall run caller --lang`): every word from the string table,
the hall's records unchanged (a preset pause reason and a 差评's reasons stay Chinese in the store)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from kiosk.core.hall import Hall
from kiosk.strings import STRINGS, isolate
from kiosk.ui.caller import CallerScreen
from tests.ui.checks import shown


def ug(key: str, **params: Any) -> str:
    return STRINGS[key]["ug"].format(**{k: isolate(v) for k, v in params.items()})


def make(qtbot, client, lang: str, window: int = 2) -> CallerScreen:
    c = shown(qtbot, CallerScreen(client, window, lang=lang), 1366, 768)
    return c


def test_a_uyghur_caller_says_everything_in_uyghur(qtbot, client, hall: Hall) -> None:
    hall.sign_in(2, "c02", "李娜")
    for code in ("social", "tax"):
        hall.issue_ticket(code)
    c = make(qtbot, client, "ug")
    assert c.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert c.buttons["call"].text() == f"{STRINGS['act_call']['ug']}  F1"
    assert c.status.text() == f"✔ {STRINGS['caller_ready']['ug']}"
    assert c.name_label.text() == ug("window_n", n=2) and c.clerk_label.text() == ug("caller_clerk", name="李娜")
    qtbot.mouseClick(c.buttons["call"], Qt.MouseButton.LeftButton)
    assert c.status.text() == f"✔ {ug('caller_called', number='A001')}"
    assert STRINGS["tstatus_called"]["ug"] in c.current_info.text()
    assert c.waiting_title.text() == ug("caller_waiting_n", n=1)
    qtbot.mouseClick(c.buttons["call"], Qt.MouseButton.LeftButton)  # A001 only called: the question, in Uyghur
    assert c.choice.isVisible() and c.choice_label.text() == ug("caller_choice", number="A001")
    qtbot.mouseClick(c.choice_start, Qt.MouseButton.LeftButton)
    assert STRINGS["wstate_serving"]["ug"] in c.state_label.text()


def test_a_preset_pause_reason_is_shown_translated_and_kept_in_chinese(qtbot, client, hall: Hall) -> None:
    hall.sign_in(2, "c02", "李娜")
    c = make(qtbot, client, "bo")
    lunch = [c.pause_reason.itemText(i) for i in range(c.pause_reason.count())].index(STRINGS["pause_lunch"]["bo"])
    c.pause_reason.setCurrentIndex(lunch)
    qtbot.mouseClick(c.buttons["pause"], Qt.MouseButton.LeftButton)
    assert hall.window(2)["pause_reason"] == "午休"  # the LED boards and the other screens read the hall's words
    assert STRINGS["pause_lunch"]["bo"] in c.state_label.text() and "午休" not in c.state_label.text()
    qtbot.mouseClick(c.buttons["pause"], Qt.MouseButton.LeftButton)  # 恢复服务
    c.pause_reason.setEditText("去档案室")  # typed: recorded and shown as typed
    qtbot.mouseClick(c.buttons["pause"], Qt.MouseButton.LeftButton)
    assert hall.window(2)["pause_reason"] == "去档案室" and "去档案室" in c.state_label.text()


def test_transfer_targets_and_the_citizens_rating_in_the_callers_language(qtbot, client, hall: Hall) -> None:
    hall.sign_in(2, "c02", "李娜")
    hall.issue_ticket("social")
    c = make(qtbot, client, "ii")
    targets = [c.transfer_target.itemText(i) for i in range(c.transfer_target.count())]
    assert STRINGS["caller_to_window"]["ii"].format(name=STRINGS["window_n"]["ii"].format(n=1)) in targets
    hall.call_next(2)
    hall.start_service(2)
    hall.request_rating(2)
    t = hall.window(2)["current"]
    hall.rate(t["id"], "dissatisfied", reason="办事效率低、等候时间长")
    qtbot.waitUntil(lambda: c.rating_label.isVisible() and STRINGS["reason_slow"]["ii"] in c.rating_label.text())
    assert STRINGS["level_dissatisfied"]["ii"] in c.rating_label.text()


def test_set_language_says_it_again_and_chinese_comes_back(qtbot, client, hall: Hall) -> None:
    c = make(qtbot, client, "zh")
    assert c.buttons["call"].text() == "呼叫\nF1" and c.status.text() == "✔ 就绪"
    c.set_language("ug")
    assert c.buttons["call"].text() == f"{STRINGS['act_call']['ug']}  F1"
    assert c.my_rect.appeal_button.text() == STRINGS["step_appeal"]["ug"]
    c.set_language("zh")
    assert c.buttons["call"].text() == "呼叫\nF1" and c.status.text() == "✔ 就绪"
