"""The tablet evaluator against a real Hall: the clerk's 评价 shows the faces; a tap records one rating."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from kiosk.ui.caller import CallerScreen
from kiosk.ui.evaluator import COMMENT, FACES, IDLE, REASON, THANKS, EvaluatorScreen
from tests.ui.checks import cut_off, shown


def served(hall: Hall, window: int = 1) -> str:
    t = hall.issue_ticket("social").value.ticket
    hall.call_next(window)
    hall.start_service(window)
    return str(t["id"])


def make(qtbot, client, window: int = 1, width: int = 1280, height: int = 800, **kw) -> EvaluatorScreen:
    return shown(qtbot, EvaluatorScreen(client, window, **kw), width, height)


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


def test_faces_fit_an_800x480_tablet(qtbot, demo_client, demo_hall: Hall, shoot) -> None:
    served(demo_hall)
    e = make(qtbot, demo_client, width=800, height=480)
    demo_hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    rects = [f.geometry() for f in e.faces.values()]
    assert all(r.width() >= 120 and r.height() >= 150 for r in rects)
    assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert all(e.rect().contains(f.rect().translated(f.mapTo(e, f.rect().topLeft()))) for f in e.faces.values())
    assert cut_off(e) == []
    shoot(e, "evaluator_800x480")


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


# --- a 差评: the first tap records it; its reason attaches; it is never wiped ---------------------------------
def bad_ratings(hall: Hall) -> list[dict]:
    return hall.bad_ratings()


def to_reason_page(qtbot, e: EvaluatorScreen, hall: Hall, level: Level = Level.DISSATISFIED) -> None:
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    qtbot.mouseClick(e.faces[level], Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == REASON


def test_the_first_tap_records_the_level_and_the_reason_attaches_to_it(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client, width=800, height=480)
    to_reason_page(qtbot, e, hall)
    bad = bad_ratings(hall)  # recorded at the tap, before any reason
    assert len(bad) == 1 and bad[0]["level"] == "dissatisfied" and bad[0]["reason_pending"]
    assert "已记录：不满意" in e.reason_prompt.text()
    qtbot.mouseClick(e.reason_buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(e.reason_buttons[3], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(e.submit, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == THANKS and "原因已提交" in e.thanks_label.text()
    bad = bad_ratings(hall)
    assert len(bad) == 1 and bad[0]["reason"] == "办事效率低、等候时间长；需要多次跑腿" and not bad[0]["reason_pending"]
    assert hall.rating_summary()["rated"] == 1


def test_the_reason_page_fits_an_800x480_tablet(qtbot, client, hall: Hall, shoot) -> None:
    served(hall)
    e = make(qtbot, client, width=800, height=480)
    to_reason_page(qtbot, e, hall)
    qtbot.wait(50)
    root = e.window()
    for b in (e.back, e.comment_button, e.submit):  # the way on and the way back are always on screen
        r = b.rect().translated(b.mapTo(root, b.rect().topLeft()))
        assert root.rect().contains(r), (b.text(), r)
        assert b.height() >= 44
    rects = [b.geometry() for b in e.reason_buttons]
    for i, a in enumerate(rects):
        assert a.height() >= 44 and a.width() >= 200
        for b in rects[i + 1:]:
            assert not a.intersects(b), (a, b)  # no reason button on top of another
    view = e.reason_scroll.viewport()
    assert not e.reason_scroll.verticalScrollBar().isVisible()  # in Chinese all seven fit without scrolling
    for b in e.reason_buttons:  # each can be reached: scrolled into view, it lies inside the visible area
        e.reason_scroll.ensureWidgetVisible(b)
        top_left = b.mapTo(view, b.rect().topLeft())
        assert view.rect().contains(top_left) and view.rect().contains(b.mapTo(view, b.rect().bottomRight()))
    assert cut_off(e) == []
    e.reason_scroll.verticalScrollBar().setValue(0)
    e.reason_buttons[1].setChecked(True)
    shoot(e, "evaluator_reason_800x480")


def test_back_from_the_reason_page_keeps_the_rating(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client, width=800, height=480, thanks_s=0.2)
    to_reason_page(qtbot, e, hall, Level.VERY_DISSATISFIED)
    qtbot.mouseClick(e.back, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == THANKS and "非常不满意，已记录" in e.thanks_label.text()
    bad = bad_ratings(hall)
    assert len(bad) == 1 and bad[0]["reason_pending"]  # the hall follows it up (核实) without a reason
    qtbot.waitUntil(lambda: e.stack.currentIndex() == IDLE)


def test_a_new_request_during_a_bad_rating_waits_its_turn(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client, width=800, height=480, thanks_s=0.2)
    to_reason_page(qtbot, e, hall)
    hall.finish_service(1)
    second = served(hall)  # the clerk serves the next citizen and presses 评价 again
    hall.request_rating(1)
    hall.request_rating(1)
    qtbot.wait(100)
    assert e.stack.currentIndex() == REASON and e.rating is not None  # never wiped
    qtbot.mouseClick(e.reason_buttons[2], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(e.submit, Qt.MouseButton.LeftButton)
    assert bad_ratings(hall)[0]["reason"] == "办事流程繁琐"
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)  # then the waiting request
    assert e.ticket is not None and e.ticket["id"] == second and "A002" in e.prompt.text()
    qtbot.mouseClick(e.faces[Level.VERY_SATISFIED], Qt.MouseButton.LeftButton)
    assert hall.rating_summary()["distribution"]["very_satisfied"] == 1


def test_a_keypad_cannot_overwrite_a_bad_rating_in_progress(qtbot, client, hall: Hall) -> None:
    from kiosk.core import errors as E

    tid = served(hall)
    e = make(qtbot, client, width=800, height=480)
    to_reason_page(qtbot, e, hall)
    with pytest.raises(E.RatingExists):
        hall.rate(tid, Level.VERY_SATISFIED)  # the window's keypad, pressed by someone else
    qtbot.wait(100)
    assert e.stack.currentIndex() == REASON
    e.reason_buttons[1].setChecked(True)
    e.submit_reason()
    assert bad_ratings(hall)[0]["reason"] == "服务态度不好"


def test_a_reason_chosen_but_not_sent_counts_when_time_runs_out(qtbot, client, hall: Hall) -> None:
    served(hall)
    e = make(qtbot, client, width=800, height=480, timeout_s=0.3)
    to_reason_page(qtbot, e, hall)
    qtbot.mouseClick(e.reason_buttons[4], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bad_ratings(hall)[0]["reason_pending"], timeout=3000)
    assert bad_ratings(hall)[0]["reason"] == "材料要求说不清楚" and e.stack.currentIndex() == THANKS


def test_the_comment_page_takes_quick_phrases_and_comes_back(qtbot, client, hall: Hall, shoot) -> None:
    served(hall)
    e = make(qtbot, client, width=800, height=480)
    to_reason_page(qtbot, e, hall)
    qtbot.mouseClick(e.comment_button, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == COMMENT and not e.header.isVisible()
    qtbot.mouseClick(e.phrase_buttons[1], Qt.MouseButton.LeftButton)
    e.reason_text.insert("，窗口人员一直在看手机")  # QTest cannot type Han characters; the keyboard can (below)
    qtbot.mouseClick(e.comment_back, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == REASON and e.comment_button.text().startswith("✎ 留言：希望一次告知所需材料")
    qtbot.mouseClick(e.reason_buttons[4], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(e.submit, Qt.MouseButton.LeftButton)
    assert bad_ratings(hall)[0]["text"] == "希望一次告知所需材料，窗口人员一直在看手机"


KEYBOARD_CHILD = r"""
import json, sys
from pathlib import Path
from kiosk.ui.keyboard import use_touch_keyboard
use_touch_keyboard()  # as `hall run evaluator` does, before the QApplication
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from kiosk.ui.compat import guard_singleton_refcounts
guard_singleton_refcounts()
app = QApplication([])
from kiosk.ui.fonts import setup_fonts
setup_fonts(app)
from kiosk.core.config import loads
from kiosk.core.hall import Hall
from kiosk.core.rating import Level
from kiosk.store import Store
from kiosk.ui.client import HallClient
from kiosk.ui.evaluator import COMMENT, EvaluatorScreen
from tests.conftest import SMALL_CONFIG, FakeClock, staff

out = Path(sys.argv[1])
hall = staff(Hall(loads(SMALL_CONFIG), Store(out / "kb.db"), clock=FakeClock()))
t = hall.issue_ticket("social").value.ticket
hall.call_next(1)
hall.start_service(1)
client = HallClient(hall, heartbeat_s=0)
e = EvaluatorScreen(client, 1)
e.resize(int(sys.argv[2]), int(sys.argv[3]))
e.show()
def pump(n=30):
    for _ in range(n):
        app.processEvents()
hall.request_rating(1)
pump()
e.faces[Level.DISSATISFIED].click()
e.reason_buttons[0].click()
e.comment_button.click()
pump()
kb = e.keyboard
seen = {"available": kb.available, "page": e.stack.currentIndex() == COMMENT}
for ch in "chuangkou":
    kb.press(getattr(Qt.Key, "Key_" + ch.upper()), ch)
    pump(3)
seen["candidates"] = kb.candidates()[:5]
kb.choose(0)
pump()
seen["typed"] = e.reason_text.text()
seen["keyboard_height"] = kb.height()
seen["panel_height"] = kb.panel_height()
root = e.window()
def inside(w):
    return root.rect().contains(w.rect().translated(w.mapTo(root, w.rect().topLeft())))
seen["inside"] = all(inside(w) for w in (kb, e.comment_done, e.comment_back, e.reason_text))
e.grab().save(str(out / "evaluator_keyboard.png"))
e.close_comment()
e.submit_reason()
seen["stored"] = hall.bad_ratings()[0]["text"]
print(json.dumps(seen, ensure_ascii=False), flush=True)
"""


@pytest.mark.parametrize("size", [(800, 480), (1280, 800)], ids=["800x480", "1280x800"])
def test_the_comment_is_typed_in_pinyin_on_the_touch_keyboard(tmp_path, size) -> None:
    """Qt Virtual Keyboard as `hall run evaluator` starts it (its own process: the input method is chosen before
    the QApplication): pinyin keys give 汉字 candidates; the chosen word lands in the comment and in the rating."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root), HOME=str(tmp_path))
    env.pop("QT_IM_MODULE", None)
    r = subprocess.run([sys.executable, "-c", KEYBOARD_CHILD, str(tmp_path), *map(str, size)], env=env, cwd=root,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen["available"] and seen["page"] and seen["inside"], seen
    assert "窗口" in seen["candidates"], seen
    assert seen["typed"] == "窗口" and seen["stored"] == "窗口"
    assert abs(seen["keyboard_height"] - seen["panel_height"]) <= 3  # the widget is as tall as the keyboard draws
    name = f"evaluator_keyboard_{size[0]}x{size[1]}"
    shutil.copy(tmp_path / "evaluator_keyboard.png", tmp_path / f"{name}.png")
    if os.environ.get("HALL_UPDATE_SCREENS") == "1":
        shutil.copy(tmp_path / "evaluator_keyboard.png", root / "docs" / "screens" / f"{name}.png")


def test_the_tablet_and_the_caller_say_when_the_store_cannot_be_read(qtbot, hall: Hall, store, monkeypatch) -> None:
    from typing import Any

    from kiosk.core.errors import StoreUnavailable
    from kiosk.ui.client import HallClient

    client = HallClient(hall, heartbeat_s=0, follow_s=0.02)
    try:
        e = make(qtbot, client, width=800, height=480)
        c = shown(qtbot, CallerScreen(client, 1), 1366, 768)

        def unreadable(*_a: Any, **_k: Any) -> Any:
            raise StoreUnavailable(path=store.path, reason="磁盘已卸载")

        monkeypatch.setattr(store, "events_after", unreadable)
        qtbot.waitUntil(lambda: e.quiet_label.isVisible() and c.fault_banner.isVisible())
        assert "连不上大厅系统" in e.quiet_label.text() and "可能不是最新的" in c.fault_banner.text()
        monkeypatch.undo()
        qtbot.waitUntil(lambda: not e.quiet_label.isVisible() and not c.fault_banner.isVisible())
    finally:
        client.close()


# --- the citizen's language and elder mode -----------------------------------------------------------------------
def test_a_citizen_chooses_a_language_and_the_next_one_starts_in_the_tablets_own(qtbot, client, hall: Hall) -> None:
    """The tablet offers the hall's languages on a page of their own; the chosen one says every word of the turn
    (the hall still records a 差评's reasons in Chinese), and the turn's end brings back the tablet's language."""
    from kiosk.strings import STRINGS
    from kiosk.ui.evaluator import LANGUAGE

    hall.sign_in(1, "c01", "王晓明")
    served(hall)
    e = make(qtbot, client, width=800, height=480)
    assert e.lang_button.isVisible() and e.lang_button.text().startswith("中文")
    qtbot.mouseClick(e.lang_button, Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == LANGUAGE
    assert [b.text() for b in e.lang_buttons.values()] == ["中文", "བོད་ཡིག", "ئۇيغۇرچە", "ꆈꌠꉙ"]
    qtbot.mouseClick(e.lang_buttons["ug"], Qt.MouseButton.LeftButton)
    assert e.stack.currentIndex() == IDLE and e.idle_label.text() == STRINGS["eval_idle"]["ug"]
    assert e.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert "\u20681\u2069-كۆزنەك" in e.header.text() and "王晓明" in e.header.text()  # 1 kept left to right
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    assert "\u2068A001\u2069" in e.prompt.text()  # the ticket number isolated: it stays left to right
    assert e.faces[Level.VERY_SATISFIED].words == STRINGS["level_very_satisfied"]["ug"]
    qtbot.mouseClick(e.faces[Level.VERY_DISSATISFIED], Qt.MouseButton.LeftButton)
    assert e.reason_buttons[0].text() == STRINGS["reason_slow"]["ug"]
    qtbot.mouseClick(e.reason_buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(e.submit, Qt.MouseButton.LeftButton)
    assert e.thanks_label.text().startswith(STRINGS["eval_thanks"]["ug"])
    assert hall.bad_ratings()[0]["reason"] == "办事效率低、等候时间长"  # the province's words
    e._after_thanks()
    assert e.lang == "zh" and e.idle_label.text().startswith("欢迎您")


def test_elder_mode_is_larger_and_ends_with_the_turn(qtbot, client, hall: Hall) -> None:
    from kiosk.ui.theme import ELDER_MIN_FONT_DP, ELDER_MIN_TARGET_DP

    served(hall)
    e = make(qtbot, client)
    before = e.prompt.font().pixelSize()
    qtbot.mouseClick(e.elder_button, Qt.MouseButton.LeftButton)
    assert e.elder and e.elder_button.isChecked() and e.elder_button.text() == "标准模式"
    hall.request_rating(1)
    qtbot.waitUntil(lambda: e.stack.currentIndex() == FACES)
    assert e.prompt.font().pixelSize() > before and e.prompt.font().pixelSize() >= ELDER_MIN_FONT_DP
    assert all(min(b.width(), b.height()) >= ELDER_MIN_TARGET_DP for b in (e.lang_button, e.elder_button))
    qtbot.mouseClick(e.faces[Level.SATISFIED], Qt.MouseButton.LeftButton)
    e._after_thanks()
    assert not e.elder and e.prompt.font().pixelSize() == before


def test_the_tablets_own_language_comes_from_its_option(qtbot, client, hall: Hall) -> None:
    from kiosk.strings import STRINGS

    e = make(qtbot, client, lang="bo")
    assert e.lang == "bo" and e.idle_label.text() == STRINGS["eval_idle"]["bo"]
    assert make(qtbot, client, lang="xx").lang == "zh"  # not a language of the hall: Chinese
